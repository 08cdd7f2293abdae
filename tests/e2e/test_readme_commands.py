"""Every command in the README, run as written, in a clean environment (tests/e2e/cleanenv.py: PATH,
HOME, a locale and a state directory of its own; nothing the test suite sets), against `make local`
started by the test.

COMMANDS lists every command of the README (fenced bash blocks, and inline code that starts with a
command) with where it runs: here, in another named test, or not at all and why. The first test
checks that list against the README, so a command added to the README without a test fails here.

The one edit made to a command: `localhost:3000` becomes the port this test's `make local` was given
through LOYALTY_LOCAL_PORT (the README says that variable changes the port), so a stack the engineer
is running on :3000 is left alone.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import tomllib
from pathlib import Path

import pytest

from tests.e2e.cleanenv import REPO, a_free_port, clean_env, run, started

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

README = REPO / "README.md"
HERE = "run in this file"
COMMANDS: dict[str, str] = {
    # fenced blocks
    "make demo": "not run as written (about 2.5 minutes): `make -n demo` is `loyalty demo` (checked here) "
    "and tests/e2e/test_demo.py runs `loyalty demo --customers 150 --months 4` as written",
    "make test": "not run: it is this suite (.ci/run runs it)",
    "make local": HERE,
    "KEY='x-api-key: local-dev-key'": HERE,
    "curl -s -H \"$KEY\" -H 'content-type: application/json' localhost:3000/v1/transactions -d '{": HERE,
    'curl -s -H "$KEY" localhost:3000/v1/customers/4970000000001': HERE,
    "curl -s -H \"$KEY\" 'localhost:3000/v1/customers/4970000000001/transactions?limit=20'": HERE,
    "loyalty local": "`make -n local` is `loyalty local` (checked here); tests/e2e/test_local_programme.py "
    "starts `loyalty local --programme FILE`",
    "loyalty demo [--customers N --months M --seed S]": "a template: tests/e2e/test_demo.py runs "
    "`loyalty demo --customers 150 --months 4`",
    "loyalty import history.csv --col-amount montant --date-format '%d/%m/%Y %H:%M'": HERE,
    "loyalty adjust adjustments.csv": "tests/e2e/test_points_lifecycle_http.py runs `loyalty adjust FILE` "
    "twice (the rerun adjusts nothing)",
    "loyalty reclassify --as-of 2026-12-01": HERE,
    "loyalty export segments --as-of 2026-12-01 -o segments.csv": HERE,
    "loyalty report": HERE,
    "loyalty simulate --programme candidate.json --as-of D": "the line above, with D for the date",
    "loyalty simulate --programme candidate.json --as-of 2026-12-01": "a template (candidate.json is yours): "
    "tests/e2e/test_marketing_loop_http.py runs `loyalty simulate --programme FILE --as-of D` as typed",
    # inline
    ".ci/run": "not run: CI itself",
    "loyalty demo --customers 150 --months 4": "tests/e2e/test_demo.py, as written, in a clean environment",
    "loyalty local --programme FILE": "tests/e2e/test_local_programme.py (a good file and a bad one)",
    "loyalty": HERE,
    "make": HERE,
    "loyalty import": "the `loyalty import history.csv ...` line above",
    "loyalty reclassify --target aws": "tests/unit/test_cli_targets.py (a stubbed state machine)",
    "make synth": "not run as written (a minute of node + jsii): tests/infra synthesizes the same app",
    "npx cdk bootstrap": "not run: needs an AWS account",
    "npx cdk deploy -c programme=programmes/default.json": "not run: needs an AWS account",
    "make bench": "not run (minutes): tests/unit/test_bench_smoke.py runs `python -m bench --quick`",
    "python -m bench --quick": "tests/unit/test_bench_smoke.py",
    "make load": "not run as written: tests/e2e/test_load_http.py runs the same load at 20 x 250",
    "loyalty --version": HERE,
}
COMMAND_START = re.compile(r"^(make|loyalty|npx|python -m|curl|\.ci/run)\b|^[A-Z_]+=")


def strip_comment(line: str) -> str:
    """The line without its shell comment (a # outside quotes, at the start or after a space)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def fenced_blocks(text: str) -> list[list[str]]:
    return [block.splitlines() for block in re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)]


def block_commands(lines: list[str]) -> list[str]:
    """First line of each command in a bash block (continuation lines inside quotes are skipped)."""
    out: list[str] = []
    open_quote = None
    for raw in lines:
        if open_quote:
            if raw.count(open_quote) % 2:
                open_quote = None
            continue
        line = strip_comment(raw).strip()
        if not line:
            continue
        out.append(line)
        for quote in "'\"":
            if line.count(quote) % 2:
                open_quote = quote
    return out


def readme_commands(text: str) -> list[str]:
    commands = [c for block in fenced_blocks(text) for c in block_commands(block)]
    outside = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    commands += [span for span in re.findall(r"`([^`\n]+)`", outside) if COMMAND_START.match(span)]
    return list(dict.fromkeys(commands))


def test_every_readme_command_is_listed_with_where_it_runs() -> None:
    found = readme_commands(README.read_text(encoding="utf-8"))
    assert [c for c in found if c not in COMMANDS] == []  # in the README, not here: say where it runs
    assert [c for c in COMMANDS if c not in found] == []  # here, no longer in the README


def curl_block(text: str) -> str:
    (block,) = [b for b in fenced_blocks(text) if any(line.startswith("curl ") for line in b)]
    return "\n".join(block) + "\n"


def json_documents(text: str) -> list[dict]:
    decoder, docs, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        doc, at = decoder.raw_decode(text, at)
        docs.append(doc)
    return docs


HISTORY = """customer_id,occurred_at,montant,transaction_id
4970000000002,03/11/2026 09:30,42.50,hist-1
4970000000002,17/11/2026 18:05,19.90,hist-2
4970000000003,28/11/2026 12:00,310.00,hist-3
"""


def test_the_readme_commands_run_as_written_against_make_local(tmp_path: Path) -> None:
    port = a_free_port()
    env = clean_env(tmp_path / "home", tmp_path / "state", LOYALTY_LOCAL_PORT=port)
    work = tmp_path / "work"
    work.mkdir()
    text = README.read_text(encoding="utf-8")

    # `make` runs `loyalty` for these two (the longer demo is tested at the README's small size)
    for target, expected in (("local", ".venv/bin/loyalty local"), ("demo", ".venv/bin/loyalty demo")):
        dry = run(f"make -n {target}", env, REPO)
        assert dry.returncode == 0 and dry.stdout.strip().splitlines()[-1] == expected, dry.stdout

    bare = run("make", env, REPO)  # the default target: what to type next
    assert bare.returncode == 0 and "make demo" in bare.stdout and "make local" in bare.stdout, bare.stdout
    usage = run("loyalty", env, work)
    assert "reclassify" in usage.stdout + usage.stderr and "Traceback" not in usage.stderr
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert run("loyalty --version", env, work).stdout == f"loyalty {declared}\n"

    with started("make local", env) as stack:
        running = stack
        assert stack.port == int(port)
        state = json.loads((tmp_path / "state" / "local.json").read_text())
        assert state["api_url"].endswith(f":{port}")

        # The curl block, twice: the same answers (idempotent), counted once.
        script = curl_block(text).replace("localhost:3000", f"localhost:{port}")
        first = run(script, env, work)
        assert first.returncode == 0, first.stderr
        purchase, ret, card, history = json_documents(first.stdout)
        assert (purchase["points_earned"], purchase["points_balance"], purchase["tier"]) == (
            260,
            260,
            "silver",
        )
        assert purchase["tier_upgrade"] == {"from": "member", "to": "silver"}
        assert (ret["points_earned"], ret["points_balance"], ret["tier"]) == (-60, 200, "member")
        assert ret["tier_downgrade"] == {"from": "silver", "to": "member"}  # as the README says
        assert card["points_balance"] == 200 and card["tier"] == "member"
        assert [t["transaction_id"] for t in history["items"]] == ["till-42-000124", "till-42-000123"]
        again = run(script, env, work)
        assert json_documents(again.stdout) == [purchase, ret, card, history]

        (work / "history.csv").write_text(HISTORY, encoding="utf-8")
        imported = run(
            "loyalty import history.csv --col-amount montant --date-format '%d/%m/%Y %H:%M'", env, work
        )
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert "rows 3: imported 3, already present 0, rejected 0" in imported.stdout, imported.stdout

        # The bug of issue 12 item 1: this crashed with "Must contain a metric namespace".
        reclassified = run("loyalty reclassify --as-of 2026-12-01", env, work)
        assert reclassified.returncode == 0, reclassified.stdout + reclassified.stderr
        summary = json.loads(reclassified.stdout)  # stdout is the summary only: no EMF or log lines
        assert summary["period"] == "2026-11" and summary["customers"] == 3 and summary["published"]

        exported = run("loyalty export segments --as-of 2026-12-01 -o segments.csv", env, work)
        assert exported.returncode == 0, exported.stdout + exported.stderr
        with (work / "segments.csv").open(newline="", encoding="utf-8") as handle:
            rows = {r["customer_id"]: r for r in csv.DictReader(handle)}
        assert set(rows) == {"4970000000001", "4970000000002", "4970000000003"}
        assert (
            rows["4970000000001"]["points_balance"] == "200"
            and rows["4970000000002"]["monetary_12m"] == "62.40"
        )
        assert all(r["segment"] for r in rows.values())

        report = run("loyalty report", env, work)
        assert report.returncode == 0, report.stdout + report.stderr
        assert "Segment shares by month" in report.stdout and "2026-11" in report.stdout
        index = (work / "loyalty-report" / "index.html").read_text(encoding="utf-8")
        for picture in ("segments.png", "tiers.png", "migration.png", "points.png"):
            assert f'src="{picture}"' in index and (work / "loyalty-report" / picture).stat().st_size > 5_000

    stopped = "".join(running.output[-20:])
    assert not (tmp_path / "state" / "local.json").exists(), stopped  # stopping the stack removes its record
    with socket.socket() as sock:  # the gateway is gone: nothing listens on its port (TIME_WAIT allowed)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", int(port)))
