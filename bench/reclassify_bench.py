"""Reclassification bench: one worker against a raw boto3 scan of the same moto table, the worker's peak
memory at 11k and 33k customers (3x), capacity units per customer (the 10-million-customer month is
bench/month_model.py).

    python -m bench.reclassify_bench            # 5k customers on moto, memory at 11k and 33k
    python -m bench.reclassify_bench --quick    # 1k on moto, memory at 1k and 5k

Throughput: both sides read the same moto table as one scan segment; the worker runs the classify step of
the *next* month (customers already classified the month before, so only those whose segment, scores,
tier or balance move are written and announced: the steady state of a monthly run). Twice, on two
stand-ins for AWS, the same for both sides: the moto server of the local stack in a process of its own
(judged: its CPU is on the other core, as DynamoDB's is not the Lambda's, and both sides pay HTTP), and
moto in this process (the row before: moto's server-side work charged to both sides' CPU). Each side's
CPU a customer is given for this process and for the server, with the requests each side makes.

Memory: a worker streaming generated profiles page by page through the real service code (statistics
then classify), with writes and events counted, not kept: tracemalloc's peak must not grow with the
segment size. bench/reclassify_rows.py turns throughput_row / memory_row / capacity_row into table rows.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from loyalty.domain.earning import Purchase, apply_purchase
from loyalty.domain.profile import Profile, new_profile
from loyalty.domain.scoring import Cuts
from loyalty.programme import Programme, load_programme
from loyalty.service.reclassify import ReclassifyService, Run, prepare

AS_OF = date(2026, 3, 1)  # period 2026-02; the "next month" run is as of 2026-04-01 (period 2026-03)
NEXT = date(2026, 4, 1)
PAGE = 1000
TEMPLATES = 400
# Sample sizes (docs/bench.md, "sample sizes"): customers on moto, and (small, large) for the memory row.
MOTO_QUICK, MOTO_FULL = 1_000, 5_000
# The in-process figures (not judged since the moto server carries the row) at 2,000 in the full run: the
# ratio is flat in the table size, and 5,000 in process was the full run's longest job.
IN_PROCESS_FULL = 2_000
# The memory row's small side is above the BG/NBD sample's 10,000 (domain/reservoir.py), which fills
# by design as a segment grows: past it, any growth is a leak. The quick run stays below it (a smoke
# run: its row is not judged).
MEMORY_QUICK, MEMORY_FULL = (1_000, 5_000), (11_000, 33_000)


def programme() -> Programme:
    return load_programme(Path(__file__).resolve().parents[1] / "programmes" / "default.json")


def templates(prog: Programme, seed: int = 11) -> list[Profile]:
    """Varied purchase histories through the real earning rules (weekly to yearly shoppers)."""
    rng = random.Random(seed)
    out = []
    for index in range(TEMPLATES):
        profile = new_profile(f"T{index}", prog.base_tier.name)
        gap = rng.choice([3, 7, 14, 30, 60, 120, 200])
        day = datetime(2025, 1, 1, 11, tzinfo=UTC) + timedelta(days=rng.randint(0, 420))
        for k in range(rng.randint(1, 40)):
            if day >= datetime(2026, 3, 31, tzinfo=UTC):
                break
            cents = rng.randint(500, 25000)
            category = rng.choice(["beauty", "food", "home", "toys", "fashion"])
            purchase = Purchase(f"T{index}-{k}", profile.customer_id, day, cents, {category: cents})
            profile, _ = apply_purchase(profile, purchase, prog)
            day += timedelta(days=max(1, int(rng.expovariate(1 / gap))))
        out.append(profile)
    return out


def customers(count: int, base: list[Profile]) -> Iterator[Profile]:
    for index in range(count):
        yield replace(base[index % len(base)], customer_id=f"C{index:09d}", version=1)


# -- memory: a streaming worker on generated profiles -------------------------------------------------


class GeneratedScan:
    """The CustomerScan port over generated profiles: pages made on the fly, writes counted only."""

    def __init__(self, count: int, base: list[Profile]) -> None:
        self.count, self.base, self.writes = count, base, 0

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        page: list[Profile] = []
        for profile in customers(self.count, self.base):
            page.append(profile)
            if len(page) == PAGE:
                yield page
                page = []
        if page:
            yield page

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        self.writes += 1

    def get(self, customer_id: str) -> Profile | None:
        raise AssertionError("no conflicts here")


class CountingPublisher:
    def __init__(self) -> None:
        self.count = 0

    def publish(self, events: Any) -> None:
        self.count += len(events)


def worker_memory(count: int, base: list[Profile], prog: Programme) -> tuple[int, float]:
    """(peak bytes, seconds) of one worker doing statistics then classify over `count` customers."""
    from loyalty.fakes import InMemoryRunStore

    service = ReclassifyService(GeneratedScan(count, base), CountingPublisher(), prog, InMemoryRunStore())
    run = Run.from_dict(prepare(prog, AS_OF, "mem", 1)["run"])
    tracemalloc.start()
    started = time.perf_counter()
    service.stats(run, 0)
    cuts = Cuts.from_dict(service.merge(run))
    service.classify(run, cuts, 0)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, elapsed


# -- throughput and capacity on moto ------------------------------------------------------------------


@dataclass
class MotoResult:
    customers: int
    raw_rate: float
    stats_rate: float
    worker_rate: float
    raw_cpu_ms: float  # CPU a customer of this process (in process: moto's work included)
    worker_cpu_ms: float
    raw_server_ms: float  # CPU a customer of the moto server's process (0 with moto in process)
    worker_server_ms: float
    server: bool  # moto in a process of its own (over HTTP) rather than in this one
    worker_calls: Counter[str]  # AWS requests of the classify pass, by operation
    raw_calls: int  # Scan requests of one raw scan
    changed: int
    events: int
    rru: float
    wru: float


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _aws(server: bool) -> Iterator[Callable[[], float]]:
    """The stand-in for AWS, the same for both sides: moto in this process (its server-side work is
    this process's CPU), or the local stack's moto server in a process of its own (its CPU on the other
    core, as DynamoDB's is not the Lambda's; every call goes over HTTP). Yields the server's CPU so far
    (0 in process: it is inside this process's)."""
    os.environ.update(
        {k: "testing" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
        | {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    if not server:
        from moto import mock_aws

        with mock_aws():
            yield lambda: 0.0
        return
    from loyalty_tools.localstack import MotoServer

    moto = MotoServer().start()
    os.environ["AWS_ENDPOINT_URL"] = moto.url
    try:
        yield lambda: _server_cpu(moto._process.pid)  # type: ignore[union-attr]
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        moto.stop()


def moto_run(count: int, prog: Programme, server: bool = False) -> MotoResult:
    import boto3
    import botocore.client
    from loyalty.adapters.customer_store import DynamoCustomerScan
    from loyalty.adapters.eventbridge import EventBridgePublisher
    from loyalty.adapters.item_size import item_size
    from loyalty.adapters.items import profile_to_item
    from loyalty.adapters.models import CustomerItem, bind_models
    from loyalty.adapters.runstore import S3RunStore
    from loyalty.settings import Settings

    with _aws(server) as server_cpu:
        settings = Settings()
        bind_models(settings)
        CustomerItem.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        boto3.client("events").create_event_bus(Name=settings.event_bus_name)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bench-runs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        # The table as the first month's run leaves it (every profile classified, written once): done
        # in pure compute and loaded untimed, since writing every customer through moto was the longest
        # step of the bench and no row measured it (the month model measures a first classification).
        from bench.item_rows import _two_months

        with CustomerItem.batch_write() as batch:
            for profile in _two_months(count)[0]:
                batch.save(profile_to_item(profile, 2))
        service = ReclassifyService(
            DynamoCustomerScan(),
            EventBridgePublisher(settings.event_bus_name, settings.event_source),
            prog,
            S3RunStore("bench-runs"),
        )

        classify_cpu = [0.0, 0.0]  # this process's, the server's
        classify_from = [0]  # the first recorded call of the classify pass

        def one_month(as_of: date, run_id: str) -> tuple[float, float, dict[str, Any]]:
            run = Run.from_dict(prepare(prog, as_of, run_id, 1)["run"])
            started = time.perf_counter()
            service.stats(run, 0)
            stats_seconds = time.perf_counter() - started
            cuts = Cuts.from_dict(service.merge(run))
            started, cpu, served = time.perf_counter(), time.process_time(), server_cpu()
            classify_from[0] = len(recorded)
            counts = service.classify(run, cuts, 0)
            classify_cpu[:] = [time.process_time() - cpu, server_cpu() - served]
            return stats_seconds, time.perf_counter() - started, counts

        client = boto3.client("dynamodb")
        raw_cpu: list[tuple[float, float]] = []  # (this process, server) per raw scan
        raw_pages = [0]

        def raw_scan() -> float:
            started, cpu, served = time.perf_counter(), time.process_time(), server_cpu()
            seen = 0
            for page in client.get_paginator("scan").paginate(
                TableName=settings.customers_table, Segment=0, TotalSegments=1
            ):
                seen += len(page["Items"])
                raw_pages[0] += 1
            assert seen == count
            raw_cpu.append((time.process_time() - cpu, server_cpu() - served))
            return time.perf_counter() - started

        raw_seconds = raw_scan()  # the baseline brackets the worker: one scan before, one after
        recorded: list[tuple[str, dict, dict]] = []
        real = botocore.client.BaseClient._make_api_call

        def recording(self, operation, params):  # type: ignore[no-untyped-def]
            response = real(self, operation, params)
            recorded.append((operation, params, response))
            return response

        botocore.client.BaseClient._make_api_call = recording
        try:
            stats_seconds, classify_seconds, counts = one_month(NEXT, "next")
        finally:
            botocore.client.BaseClient._make_api_call = real
        raw_seconds = min(raw_seconds, raw_scan())
        raw_best = min(raw_cpu)  # the cheaper scan's CPU, both processes' (the conservative side)
        rru = sum(
            0.5 * math.ceil(sum(item_size(i) for i in r.get("Items", [])) / 4096)
            for op, _, r in recorded
            if op == "Scan"
        )
        sizes = {}
        for op, params, _ in recorded:
            if op in ("UpdateItem", "PutItem"):  # the run's write is a PutItem since issue 19 item 2
                key = params["Key"] if op == "UpdateItem" else params["Item"]
                sizes[key["customer_id"]["S"]] = 1
        item_kb = [
            math.ceil(item_size(i) / 1024) for op, _, r in recorded if op == "Scan" for i in r["Items"]
        ]
        average_wru = sum(item_kb) / max(1, len(item_kb))
        return MotoResult(
            customers=count,
            raw_rate=count / raw_seconds,
            stats_rate=count / stats_seconds,
            worker_rate=count / classify_seconds,
            raw_cpu_ms=1000 * raw_best[0] / count,
            worker_cpu_ms=1000 * classify_cpu[0] / count,
            raw_server_ms=1000 * raw_best[1] / count,
            worker_server_ms=1000 * classify_cpu[1] / count,
            server=server,
            worker_calls=Counter(op for op, _, _ in recorded[classify_from[0] :]),
            raw_calls=raw_pages[0] // 2,
            changed=counts["changed"],
            events=counts["events"],
            rru=rru,
            wru=len(sizes) * average_wru,
        )


# -- rows for bench/__main__ (bench/reclassify_rows.py) -------------------------------------------------

_cache: dict[str, Any] = {}


def _moto(quick: bool, server: bool = False) -> MotoResult:
    key = f"moto-{quick}-{server}"
    if key not in _cache:
        prog = programme()
        # 5,000 (five 1,000-item pages) in the full run: the ratio is of per-item costs, flat in the
        # table size (docs/bench.md, "sample sizes"); 20,000 took most of the full run's minutes.
        count = MOTO_QUICK if quick else MOTO_FULL if server else IN_PROCESS_FULL
        _cache[key] = moto_run(count, prog, server)
    return _cache[key]


def _memory(quick: bool) -> tuple[tuple[int, float], tuple[int, float], int, int]:
    key = f"mem-{quick}"
    if key not in _cache:
        prog = programme()
        base = templates(prog)
        small, large = MEMORY_QUICK if quick else MEMORY_FULL  # quick: a smoke run, not a figure
        _cache[key] = (worker_memory(small, base, prog), worker_memory(large, base, prog), small, large)
    return _cache[key]


def _requests(r: MotoResult) -> str:
    calls = ", ".join(f"{op} {n:,}" for op, n in r.worker_calls.most_common())
    return (
        f"requests a customer: worker {r.worker_calls.total() / r.customers:.3f} ({calls}) vs raw scan "
        f"{r.raw_calls / r.customers:.4f} ({r.raw_calls} Scan)"
    )


def throughput_row(quick: bool = False) -> dict[str, Any]:
    """Judged on the moto server in its own process (the stand-in for DynamoDB that leaves the server's
    work off the Lambda's CPU, for both sides alike); the in-process figures follow, as before."""
    s, r = _moto(quick, server=True), _moto(quick)
    raw = (
        f"moto server in its own process, both sides over HTTP: worker {s.worker_rate:,.0f}/s vs raw scan "
        f"{s.raw_rate:,.0f}/s on {s.customers:,} customers; CPU a customer, this process (the Lambda's "
        f"share): worker {s.worker_cpu_ms:.2f} ms vs raw scan {s.raw_cpu_ms:.2f} ms, the server's: "
        f"{s.worker_server_ms:.2f} vs {s.raw_server_ms:.2f} ms; {_requests(s)}. "
        f"moto in process (its CPU charged to both sides, the row before): {r.worker_rate / r.raw_rate:.2f}, "
        f"worker {r.worker_rate:,.0f}/s vs raw scan {r.raw_rate:,.0f}/s on {r.customers:,}, CPU a customer "
        f"{r.worker_cpu_ms:.2f} vs {r.raw_cpu_ms:.2f} ms "
        f"(next month: {s.changed:,} written, {s.events:,} events; statistics pass {s.stats_rate:,.0f}/s)"
    )
    return {"ratio": s.worker_rate / s.raw_rate, "raw": raw}


def memory_row(quick: bool = False) -> dict[str, Any]:
    (small_peak, _), (large_peak, large_s), small, large = _memory(quick)
    raw = (
        f"peak {large_peak / 2**20:.1f} MiB at {large:,} vs {small_peak / 2**20:.1f} MiB at {small:,} "
        f"({large / large_s:,.0f} customers/s of pure compute)"
    )
    if quick:  # below the sample reservoir's 10,000 the peak grows by design: not a figure to judge
        return {"ratio": None, "raw": f"smoke run, not judged: {raw}; the full run: 11,000 vs 33,000"}
    return {"ratio": large_peak / small_peak, "raw": raw}


def capacity_row(quick: bool = False) -> dict[str, Any]:
    r = _moto(quick, server=True)  # the same calls on either stand-in (the judged run is the larger)
    return {
        "ratio": None,
        "raw": f"{(r.rru + r.wru) / r.customers:.3f} ({r.rru / r.customers:.3f} RRU read + "
        f"{r.wru / r.customers:.3f} WRU written per customer, next-month run)",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k customers on moto, memory at 1k and 5k")
    quick = parser.parse_args(argv).quick
    for name, row in (("throughput", throughput_row), ("memory", memory_row), ("capacity", capacity_row)):
        result = row(quick)
        ratio = "-" if result["ratio"] is None else f"{result['ratio']:.2f}"
        print(f"{name:<11} {ratio:>6}  {result['raw']}")
    print(
        "\n10 million customers, one month: python -m bench.month_model (measured inputs, both populations)"
    )


if __name__ == "__main__":
    main()
