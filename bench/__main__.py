"""`make bench`: side-by-side ratios against bare baselines, measured in one run.

    python -m bench            the full run (under 6 minutes on 2 cores)
    python -m bench --quick    a smoke run (under 90 s): every row, small samples
    python -m bench --jobs 1   the jobs one after another (default: 2 side by side)
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

from bench.harness import Phases, Row
from bench.jobs import JOBS, timed_job

PHASES = Phases()  # seconds per group of this run, printed after the table

GROUPS = ("ingest", "reads", "cold", "capacity", "reclassify", "model", "local")


def table(rows: list[Row]) -> str:
    lines = [
        "| row | ratio | target | met | raw figures |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row.name} | {row.ratio_text} | {row.target} | {row.met_text} | {row.raw} |")
    return "\n".join(lines)


def run(quick: bool, only: set[str], importtime: bool = False, jobs: int = 2) -> list[Row]:
    """Every job wanted by `only`, `jobs` processes at a time (1: one after another, in this process).
    Each job's wall time goes to PHASES."""
    from bench.coldstart import handler_names, importtime_report

    wanted = [(name, fn) for name, groups, fn in JOBS if groups & only]
    rows: list[Row] = []
    if jobs <= 1:
        for name, fn in wanted:
            job_rows, PHASES.seconds[name], PHASES.cpu[name] = timed_job(name, fn, quick, only)
            rows += job_rows
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: every job starts from a clean interpreter (the moto jobs patch boto and the environment)
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [(name, pool.submit(timed_job, name, fn, quick, only)) for name, fn in wanted]
            for name, future in futures:
                job_rows, PHASES.seconds[name], PHASES.cpu[name] = future.result()
                rows += job_rows
    if importtime and "cold" in only:
        for function in handler_names():
            print(importtime_report(function), file=sys.stderr)
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
    if name.startswith("reclassification 10M month"):
        return "model"
    if name.startswith("reclass"):
        return "reclassify"
    if name.startswith("local stack"):
        return "local"
    return "capacity"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples: a smoke run")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated: {', '.join(GROUPS)}")
    parser.add_argument("--importtime", action="store_true", help="print each handler's costliest imports")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--jobs", type=int, default=2, help="jobs run side by side (1: one after another)")
    args = parser.parse_args(argv)
    only = {g.strip() for g in args.only.split(",") if g.strip()}
    unknown = only - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    rows = run(args.quick, only, args.importtime, args.jobs)
    print(table(rows))
    elapsed = time.perf_counter() - started
    print(
        f"\n{'quick' if args.quick else 'full'} run, {elapsed:.0f} s, Python {platform.python_version()}, "
        f"{platform.machine()}, {_cpus()} CPU(s)"
    )
    print(f"phases: {PHASES}")
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
