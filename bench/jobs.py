"""The jobs of `make bench`, each a function of (quick, groups) -> rows, run `--jobs` at a time in
processes of their own (a module of their own: a spawned process imports them by name)."""

from __future__ import annotations

import time
import traceback
from typing import Any

from bench.harness import Row, pending


def _api_job(quick: bool, only: set[str]) -> list[Row]:
    from bench.api_rows import capacity_rows, ingest_rows, read_rows
    from bench.harness import moto_env

    rounds = 3 if quick else 9
    rows: list[Row] = []
    with moto_env() as env:
        if "ingest" in only:
            rows += ingest_rows(env, rounds, 15 if quick else 100)
        if only & {"reads", "capacity"}:
            # 60 reads a round (30 and 6 of the summing sides): their ratios are 6x and 60x against a
            # target of 1x, and the 500-transaction sum (2 reads/s) was most of this job at 200.
            read, extra = read_rows(env, rounds, 20 if quick else 60)
            if "reads" in only:
                rows += read
            if "capacity" in only:
                rows += capacity_rows(env, 5 if quick else 50, extra["sums"])
    return rows


def _cold_job(quick: bool, only: set[str]) -> list[Row]:
    from bench.coldstart import coldstart_rows

    return coldstart_rows(3 if quick else 7)  # 7 alternating samples a side: medians near 1.0 vs 1.3


def _reclassify_moto_job(quick: bool, only: set[str]) -> list[Row]:
    from bench.reclassify_rows import reclassify_rows

    return reclassify_rows(quick, ("throughput_row", "capacity_row"))


def _reclassify_memory_job(quick: bool, only: set[str]) -> list[Row]:
    from bench.reclassify_rows import reclassify_rows

    return reclassify_rows(quick, ("memory_row",))


def _item_job(quick: bool, only: set[str]) -> list[Row]:
    from bench.item_rows import item_rows

    return item_rows(quick)


def _model_job(quick: bool, only: set[str]) -> list[Row]:
    from bench.month_model import rows

    return rows(quick)


def _local_job(quick: bool, only: set[str]) -> list[Row]:
    from bench.local_stack import rows

    return rows(quick)


# (name, the groups it serves, its function), the longest first so that they end together: the local
# stack (a moto server and the CLI, over 5,000 customers in the full run) is the longest since the
# moto reclassification starts from a loaded table (docs/bench.md, "where the minutes go").
JOBS: tuple[tuple[str, frozenset[str], Any], ...] = (
    ("local stack", frozenset({"local"}), _local_job),
    ("api", frozenset({"ingest", "reads", "capacity"}), _api_job),
    ("reclassify (memory)", frozenset({"reclassify"}), _reclassify_memory_job),
    ("reclassify (moto)", frozenset({"reclassify"}), _reclassify_moto_job),
    ("cold", frozenset({"cold"}), _cold_job),
    ("month model", frozenset({"model"}), _model_job),
    ("customer item", frozenset({"reclassify"}), _item_job),
)


def cpu_seconds() -> float:
    """CPU (user + system) of this process and of the children it waited for (a moto server, the
    cold-import interpreters): on a loaded machine wall time says little, CPU says where work goes."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_job(name: str, fn: Any, quick: bool, only: set[str]) -> tuple[list[Row], float, float]:
    """(rows, wall seconds, CPU seconds) of one job. A job that fails gives one pending row saying why
    (its traceback on stderr), so the other jobs' rows of the run are not lost with it."""
    started, cpu = time.perf_counter(), cpu_seconds()
    try:
        rows = fn(quick, only)
    except Exception as exc:  # reported as a row: the run goes on
        traceback.print_exc()
        rows = [pending(f"{name}: job failed", "-", f"{type(exc).__name__}: {exc}"[:400])]
    return rows, time.perf_counter() - started, cpu_seconds() - cpu
