"""The programme of the stack is the programme of every command pointed at it (issue 12, items 3-5).

- `loyalty local --programme FILE` with a bad file refuses to start and prints the loader's message
  (the workers load the programme lazily: before, it started and answered every request 500).
- With `loyalty local --programme FILE` running, `loyalty import`, `loyalty reclassify` and
  `loyalty export` apply FILE (the state file names it), not programmes/default.json.
- Stacks started by the tests record themselves in the suite's own state directory, a test's own stack
  in one of its own; a stack killed outright takes its moto server with it.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
from pathlib import Path

import pytest
from loyalty_tools.local import read_state, state_file

from tests.e2e.cleanenv import REPO, a_free_port, clean_env, run, started, stop_group
from tests.e2e.conftest import Stack, running_stack, start_stack

pytestmark = [pytest.mark.e2e]


def default_programme() -> dict:
    return json.loads((REPO / "programmes" / "default.json").read_text(encoding="utf-8"))


def test_a_bad_programme_is_refused_at_start_with_the_loaders_message(tmp_path: Path) -> None:
    bad = default_programme()
    bad["earning"]["bonus_days"] = 3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    env = clean_env(tmp_path / "home", tmp_path / "state", LOYALTY_LOCAL_PORT=a_free_port())
    proc = subprocess.Popen(
        ["bash", "-c", f"loyalty local --programme {path}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # today's code: it starts and serves
        stop_group(proc)
        pytest.fail("it started with a bad programme")
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert result.returncode == 2
    assert "READY" not in result.stdout
    assert "programme.earning.bonus_days: is not a known setting" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state" / "local.json").exists()


def french_programme() -> dict:
    """Different in every way a command can show: 3 points per euro, other tier and segment names."""
    programme = default_programme()
    programme["name"] = "fr-test"
    programme["earning"]["points_per_unit"] = 3
    for tier, name in zip(programme["tiers"], ("membre", "argent", "or"), strict=True):
        tier["name"] = name
    for rule in programme["segments"]["rules"]:
        rule["name"] = "FR " + rule["name"]
    programme["segments"]["fallback"] = "FR Autres"
    return programme


def test_import_reclassify_and_export_apply_the_programme_of_the_stack(tmp_path: Path) -> None:
    path = tmp_path / "fr.json"
    path.write_text(json.dumps(french_programme()), encoding="utf-8")
    env = clean_env(tmp_path / "home", tmp_path / "state", LOYALTY_LOCAL_PORT=a_free_port())
    work = tmp_path / "work"
    work.mkdir()
    (work / "history.csv").write_text(
        "customer_id,occurred_at,amount\n"
        "P1,2026-11-03T09:30:00+01:00,10.00\n"
        "P2,2026-11-04T10:00:00+01:00,300.00\n",
        encoding="utf-8",
    )
    with started(f"loyalty local --programme {path}", env):
        state = json.loads((tmp_path / "state" / "local.json").read_text(encoding="utf-8"))
        assert state["programme_path"] == str(path)
        imported = run("loyalty import history.csv", env, work)
        assert imported.returncode == 0 and "imported 2" in imported.stdout, imported.stdout + imported.stderr
        reclassified = run("loyalty reclassify --as-of 2026-12-01", env, work)
        assert reclassified.returncode == 0, reclassified.stdout + reclassified.stderr
        exported = run("loyalty export segments --as-of 2026-12-01 -o -", env, work)
        assert exported.returncode == 0, exported.stderr
    rows = {r["customer_id"]: r for r in csv.DictReader(io.StringIO(exported.stdout))}
    assert {c: (r["points_balance"], r["tier"]) for c, r in rows.items()} == {
        "P1": ("30", "membre"),
        "P2": ("900", "argent"),  # 300 EUR crosses 250: this purchase still earns at the base rate
    }
    assert all(r["segment"].startswith("FR ") for r in rows.values()), rows


def test_the_suites_stacks_record_themselves_in_the_suites_own_state_dir(stack: Stack) -> None:
    own = state_file()
    assert REPO / ".loyalty" not in own.parents  # tests/conftest.py sets LOYALTY_STATE_DIR
    state = read_state()
    assert state is not None and state["api_url"] == stack.api_url
    engineer = REPO / ".loyalty" / "local.json"
    if engineer.exists():  # an engineer's `make local`: still theirs
        assert json.loads(engineer.read_text(encoding="utf-8"))["api_url"] != stack.api_url


def test_a_stack_of_its_own_leaves_the_suites_record_alone(stack: Stack) -> None:
    """A test's own stack (the browser test's, the marketing loop's) keeps its record elsewhere:
    stopping it used to remove the suite's record, and every CLI test after it found no stack."""
    with running_stack() as own:
        state = read_state()
        assert state is not None and state["api_url"] == stack.api_url != own.api_url
    state = read_state()
    assert state is not None and state["api_url"] == stack.api_url


def test_a_local_stack_killed_outright_takes_its_moto_server_with_it(tmp_path: Path) -> None:
    """SIGKILL leaves `loyalty local` no chance to stop moto; the server notices it is orphaned."""
    proc, _info = start_stack({"LOYALTY_STATE_DIR": str(tmp_path)})
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    servers = [
        int(pid)
        for pid in children
        if b"loyalty_tools.localstack" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert len(servers) == 1, children
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{servers[0]}").exists():
        time.sleep(0.1)
    assert (
        not Path(f"/proc/{servers[0]}").exists()
        or "Z" in Path(f"/proc/{servers[0]}/stat").read_text().split()[2]
    )
