"""`make bench`: side-by-side ratios against bare baselines, measured in one run.

    python -m bench            the full run (a few minutes)
    python -m bench --quick    a smoke run (under a minute): every row, small samples
    python -m bench --only ingest,reads --importtime

Each ratio compares two sides measured in alternating rounds of the same run, so machine noise falls
on both; the figures are medians over the rounds. See docs/bench.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from bench.harness import Row

GROUPS = ("ingest", "reads", "cold", "capacity", "reclassify")


def table(rows: list[Row]) -> str:
    lines = [
        "| row | ratio | target | met | raw figures |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row.name} | {row.ratio_text} | {row.target} | {row.met_text} | {row.raw} |")
    return "\n".join(lines)


def run(quick: bool, only: set[str], importtime: bool = False) -> list[Row]:
    from bench.api_rows import capacity_rows, ingest_rows, read_rows
    from bench.coldstart import coldstart_rows, handler_names, importtime_report
    from bench.harness import moto_env
    from bench.reclassify_rows import reclassify_rows

    rounds = 3 if quick else 9
    rows: list[Row] = []
    if only & {"ingest", "reads", "capacity"}:
        with moto_env() as env:
            if "ingest" in only:
                rows += ingest_rows(env, rounds, 15 if quick else 100)
            if only & {"reads", "capacity"}:
                read, extra = read_rows(env, rounds, 20 if quick else 200)
                if "reads" in only:
                    rows += read
                if "capacity" in only:
                    rows += capacity_rows(env, 5 if quick else 50, extra["sums"])
    if "cold" in only:
        rows += coldstart_rows(3 if quick else 11)
        if importtime:
            for function in handler_names():
                print(importtime_report(function), file=sys.stderr)
    if "reclassify" in only:
        rows += reclassify_rows(quick) + __import__("bench.item_rows", fromlist=["_"]).item_rows(quick)
    order = {name: i for i, name in enumerate(GROUPS)}
    return sorted(rows, key=lambda r: order.get(_group(r), 99))


def _group(row: Row) -> str:
    name = row.name
    if name.startswith("ingest"):
        return "ingest"
    if name.startswith("balance"):
        return "reads"
    if name.startswith("cold"):
        return "cold"
    if name.startswith("reclass"):
        return "reclassify"
    return "capacity"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples: a smoke run")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated: {', '.join(GROUPS)}")
    parser.add_argument("--importtime", action="store_true", help="print each handler's costliest imports")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    only = {g.strip() for g in args.only.split(",") if g.strip()}
    unknown = only - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    rows = run(args.quick, only, args.importtime)
    print(table(rows))
    elapsed = time.perf_counter() - started
    print(
        f"\n{'quick' if args.quick else 'full'} run, {elapsed:.0f} s, Python {platform.python_version()}, "
        f"{platform.machine()}, {_cpus()} CPU(s)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([row.__dict__ for row in rows], indent=2))
    missed = [r.name for r in rows if r.met is False]
    if missed:
        print("targets missed: " + "; ".join(missed))
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
