"""Reclassification rows, measured by bench/reclassify_bench.py (written with the reclassification).

This module only calls it: customers per second against a raw scan, peak memory of a worker at 11k
against 33k customers, and capacity units per customer reclassified. Until that module exists (or
if it lacks a function), the rows print as "pending".
"""

from __future__ import annotations

import importlib
from typing import Any

from bench.harness import Row, info, judged, pending

THROUGHPUT = "reclassification customers/s / raw scan"
MEMORY = "reclassification peak memory, 3x the customers"
CAPACITY = "capacity units per customer reclassified"


def _module() -> Any:
    try:
        return importlib.import_module("bench.reclassify_bench")
    except ModuleNotFoundError as exc:
        if exc.name != "bench.reclassify_bench":
            raise
        return None


def _row(value: Any, name: str, target: str) -> Row:
    """Accept a Row, a dict {ratio, raw} or a (ratio, raw) pair from the reclassification bench."""
    if isinstance(value, Row):
        return value
    if isinstance(value, dict):
        ratio, raw = value.get("ratio"), str(value.get("raw", ""))
    else:
        ratio, raw = value
    if ratio is None:
        return info(name, raw) if target == "-" else pending(name, target, raw)
    return judged(name, float(ratio), target, raw)


def reclassify_rows(
    quick: bool, only: tuple[str, ...] = ("throughput_row", "memory_row", "capacity_row")
) -> list[Row]:
    """`only`: which of the bench's rows (bench/__main__ runs the memory row in a process of its own,
    beside the moto rows)."""
    module = _module()
    why = "bench/reclassify_bench.py not there yet"
    wanted = [
        (fn, name, target)
        for fn, name, target in (
            ("throughput_row", THROUGHPUT, ">= 0.7"),
            ("memory_row", MEMORY, "<= 1.2"),
            ("capacity_row", CAPACITY, "-"),
        )
        if fn in only
    ]
    rows = []
    for function, name, target in wanted:
        fn = getattr(module, function, None) if module is not None else None
        if fn is None:
            reason = why if module is None else f"bench.reclassify_bench has no {function}()"
            rows.append(pending(name, target, reason))
            continue
        rows.append(_row(fn(quick=quick), name, target))
    return rows
