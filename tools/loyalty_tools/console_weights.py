"""The page weights table of docs/back-office.md, from what the browser tests measured.

The console's browser tests, run with LOYALTY_CONSOLE_SCREENSHOTS=DIR, save each page's screenshot in
DIR and append to DIR/console-weights.jsonl what the page fetched since the previous page (the
`encodedBodySize` of each resource, as the local gateway serves it: console files and API answers apart).
This turns those lines into the table; the gzipped figure is each console file gzipped at level 9, as
CloudFront's compression (infra/console.py) roughly sends it.

    LOYALTY_CONSOLE_SCREENSHOTS=docs/images .venv/bin/pytest tests/e2e/test_console_browser.py
    python -m loyalty_tools.console_weights docs/images/console-weights.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

from loyalty_tools.gateway import REPO_ROOT

CONSOLE = REPO_ROOT / "console"

# (page saved by the browser test, what it did there), in the table's order.
ROWS = (
    ("sign-in", "first load (sign-in): all {n} files, once per session (index.html included)"),
    ("customer", "Customer (support): a card with its three lists, an adjustment"),
    ("runs", "Runs: 3 monthly runs and the programme (a new session: the first load's files included)"),
    ("programme", "Programme: the programme, two candidates' checks, a what-if polled to its report"),
)


def kb(size: int) -> str:
    return f"{size / 1000:.1f} KB"


def gzipped(folder: Path = CONSOLE) -> tuple[int, int]:
    """How many console files, and their gzipped bytes (each file on its own, level 9)."""
    files = [p for p in sorted(folder.iterdir()) if p.is_file()]
    return len(files), sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)


def table(lines: list[dict[str, int | str]]) -> str:
    pages = {str(line["page"]): line for line in lines}  # a rerun appended later wins
    count, packed = gzipped()
    out = ["| page | console files | API answers | requests |", "| --- | --- | --- | --- |"]
    for name, what in ROWS:
        if name not in pages:
            continue
        page = pages[name]
        files = kb(int(page["files"])) + (f" ({kb(packed)} gzipped)" if name == "sign-in" else "")
        out.append(f"| {what.format(n=count)} | {files} | {kb(int(page['api']))} | {page['requests']} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("jsonl", nargs="?", default="docs/images/console-weights.jsonl")
    args = parser.parse_args(argv)
    text = Path(args.jsonl).read_text(encoding="utf-8")
    print(table([json.loads(line) for line in text.splitlines() if line.strip()]))


if __name__ == "__main__":
    main()
