"""The 10-million-customer month, modelled from what the bench measures and the account's quotas.

    python -m bench.month_model            # both populations, 4,000 customers measured each
    python -m bench.month_model --quick    # 1,000 customers each

Inputs, all measured on this machine by `measure()` (pure compute, no moto):
- per-item CPU: scan decoding (a scanned item -> Profile), classification (the statistics pass and the
  classify pass, per customer), encoding (per written profile: the item encoded; per event: its entry);
- the item-size distribution (DynamoDB's size rules, loyalty.adapters.item_size): read units of the
  two scans, write units per write;
- the write and event shares of the next month's run, counted on the population by the real worker
  over the in-memory fakes (`shares()`: swap in bench.item_rows.measured_shares when it exists);
and the quotas (`Quotas`: the table's write limit and checkout's share, a new table's 4,000 WRU/s
unless warm throughput, PutEvents and ingest's share, Lambda concurrency, the Map's concurrency).

Output: wall time phase by phase with the limit that binds it, and the cost by service (eu-west-1
on-demand prices, `PRICES`). Two populations: `today` (the reclassify bench's 400 histories, joins over
15 months) and `mature` (joins spread over five years, exponential lifetimes, the synthetic retailer's
personas: tools/loyalty_tools/simulate.py).

tools/loyalty_tools/whatif.py calls `month_model(customers=, changed_share=, events_per_changed=)` for a
what-if's run cost; those keywords keep their meaning.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from loyalty.domain.profile import Profile
from loyalty.ports import put_events_requests

AS_OF = date(2026, 3, 1)  # the first run (everyone classified), then the measured next month's run
NEXT = date(2026, 4, 1)
TARGET_MINUTES = 5.0
TARGET_USD = 5.0

# On-demand prices, USD, EU (Ireland) eu-west-1, as AWS publishes them:
# - DynamoDB (https://aws.amazon.com/dynamodb/pricing/on-demand/): $0.7068 per million write request
#   units and $0.1415 per million read request units (Ireland's $1.4135 / $0.283 before the 50 %
#   on-demand cut of November 2024);
# - EventBridge (https://aws.amazon.com/eventbridge/pricing/): custom events $1.00 per million entries
#   (64 KB chunks);
# - Lambda (https://aws.amazon.com/lambda/pricing/): arm64 $0.0000133334 per GB-second (first tier),
#   $0.20 per million requests;
# - Step Functions (https://aws.amazon.com/step-functions/pricing/): standard workflows $0.025 per
#   1,000 state transitions (a Distributed Map's standard child executions included);
# - S3 (https://aws.amazon.com/s3/pricing/): $0.005 per 1,000 PUT, $0.0004 per 1,000 GET.
PRICES = {
    "rru": 0.1415 / 1e6,
    "wru": 0.7068 / 1e6,
    "event": 1.00 / 1e6,
    "gb_second": 0.0000133334,
    "request": 0.20 / 1e6,
    "transition": 0.025 / 1000,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
}


@dataclass(frozen=True)
class Quotas:
    """The account's limits the run meets, and the run's shape (defaults: infra/config.py)."""

    table_write_units: float = 40_000  # on-demand table write limit (account quota, per table)
    table_read_units: float = 40_000  # ... and read limit
    checkout_write_share: float = 0.5  # of the table's write units kept for checkout
    new_table_write_units: float = 4_000  # what a new table takes at once ...
    warm_write_units: float = 40_000  # ... unless warm throughput says more (0: none)
    # PutEvents requests a second, account and region: the quota's published description is "the maximum
    # number of requests per second for PutEvents API" (eb-quota.html), and a request carries up to
    # PUT_EVENTS_MAX_ENTRIES events. `entries_counted` models the stricter reading (every entry a unit).
    put_events: float = 10_000
    ingest_events_share: float = 0.2  # kept for ingest's events
    entries_counted: bool = False
    lambda_concurrency: int = 1_000  # the account's
    map_concurrency: int = 40  # context reclassifyMapConcurrency
    threads: int = 16  # loyalty.service.reclassify.WORKER_THREADS
    customers_per_segment: int = 50_000  # loyalty.service.reclassify.CUSTOMERS_PER_SEGMENT
    memory_gb: float = 1.769  # the reclassify function: 1 vCPU
    write_ms: float = 8.0  # one UpdateItem's latency (a thread waits for it)
    put_events_ms: float = 30.0  # one PutEvents of 10
    scan_page_ms: float = 30.0  # one 1 MB Scan page
    merge_seconds: float = 3.0  # the BG/NBD fit on the 10,000-customer sample (docs/bench.md)

    @property
    def run_write_units(self) -> float:
        table = min(self.table_write_units, self.warm_write_units or self.new_table_write_units)
        return table * (1 - self.checkout_write_share)

    @property
    def run_put_events(self) -> float:
        """PutEvents units a second the run may use (requests; entries when `entries_counted`)."""
        return self.put_events * (1 - self.ingest_events_share)


@dataclass(frozen=True)
class Measured:
    """What the bench measured on one population (per customer unless said otherwise)."""

    population: str
    customers: int
    decode_us: float  # a scanned item -> Profile
    stats_us: float  # the statistics pass's work per customer
    classify_us: float  # the classify pass's work per customer
    encode_us: float  # per written profile (its item encoded) ...
    event_encode_us: float  # ... and per event (its PutEvents entry)
    item_bytes_mean: float
    item_bytes_p99: float
    wru_per_write: float  # mean write units of a written item (1 per started KB)
    write_share: float  # of customers written by the next month's run
    events_per_customer: float  # events the next month's run publishes, per customer

    def describe(self) -> str:
        return (
            f"{self.population}: {self.customers:,} customers measured; CPU per customer decode "
            f"{self.decode_us:.0f} us, statistics {self.stats_us:.0f} us, "
            f"classify {self.classify_us:.0f} us, "
            f"encode {self.encode_us:.0f} us per write and {self.event_encode_us:.0f} us per event; "
            f"item {self.item_bytes_mean:,.0f} B mean, {self.item_bytes_p99:,.0f} B p99 "
            f"({self.wru_per_write:.2f} WRU per write); next month writes {self.write_share:.1%} of "
            f"customers, {self.events_per_customer:.2f} events per customer"
        )


@dataclass
class Phase:
    name: str
    seconds: float
    binding: str
    limits: dict[str, float] = field(default_factory=dict)  # every limit's seconds, the binding the max


@dataclass
class Month:
    customers: int
    segments: int
    workers: int
    phases: list[Phase]
    cost_usd: dict[str, float]
    peak_write_units: float  # the run's write units a second at its fastest
    write_share_limit: float  # what the run may take (the table's limit less checkout's share)
    worker_seconds: float  # the longest worker (Lambda's limit: 900 s)

    @property
    def wall_seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    @property
    def total_usd(self) -> float:
        return sum(self.cost_usd.values())

    @property
    def binding(self) -> str:
        slowest = max(self.phases, key=lambda p: p.seconds)
        return f"{slowest.name}: {slowest.binding}"


def _phase(name: str, limits: dict[str, float]) -> Phase:
    binding = max(limits, key=lambda k: limits[k])
    return Phase(name, limits[binding], binding, limits)


def model(measured: Measured, quotas: Quotas = Quotas(), customers: int = 10_000_000) -> Month:
    """The month of `customers` customers: each phase's wall time is the slowest of its limits (they
    all run at once: CPU on the workers, the table's read and write units, PutEvents, the workers'
    own latency-bound calls), the cost from the counts and the wall times."""
    q = quotas
    segments = max(1, math.ceil(customers / q.customers_per_segment))
    workers = min(segments, q.map_concurrency, q.lambda_concurrency)
    per_worker = customers / segments
    item_kb = measured.item_bytes_mean / 1024
    scan_rru = customers * item_kb / 4 * 0.5  # eventually consistent: 0.5 RRU per 4 KB
    written = customers * measured.write_share
    events = customers * measured.events_per_customer
    wru = written * measured.wru_per_write
    waves = math.ceil(segments / workers)
    pages_per_worker = math.ceil(per_worker * measured.item_bytes_mean / 2**20)
    # The worker publishes a page's events in full requests (service/reclassify/worker._batches).
    events_per_page = per_worker * measured.events_per_customer / pages_per_worker
    requests = segments * pages_per_worker * put_events_requests(math.ceil(events_per_page))
    put_events_units = events if q.entries_counted else requests

    scan_page_s, write_s, put_s = q.scan_page_ms / 1000, q.write_ms / 1000, q.put_events_ms / 1000
    stats_cpu = per_worker * (measured.decode_us + measured.stats_us) / 1e6
    stats = _phase(
        "statistics pass",
        {
            "Lambda CPU (one vCPU a worker)": waves * (stats_cpu + pages_per_worker * scan_page_s),
            "table read units": scan_rru / q.table_read_units,
        },
    )
    merge = Phase("merge (BG/NBD fit)", q.merge_seconds, "one Lambda", {"one Lambda": q.merge_seconds})
    written_per_worker = per_worker * measured.write_share
    events_per_worker = per_worker * measured.events_per_customer
    classify_cpu = (
        per_worker * (measured.decode_us + measured.classify_us)
        + written_per_worker * measured.encode_us
        + events_per_worker * measured.event_encode_us
    ) / 1e6
    classify = _phase(
        "classify pass",
        {
            "Lambda CPU (one vCPU a worker)": waves * (classify_cpu + pages_per_worker * scan_page_s),
            "table read units": scan_rru / q.table_read_units,
            "the run's share of the table's write units": wru / q.run_write_units,
            "the run's share of PutEvents": put_events_units / q.run_put_events,
            "worker threads' UpdateItem latency": waves * written_per_worker * write_s / q.threads,
            "worker threads' PutEvents latency": waves * requests / segments * put_s / q.threads,
        },
    )
    summarize = Phase("prepare + summarize", 2.0, "two Lambda calls", {"two Lambda calls": 2.0})
    phases = [stats, merge, classify, summarize]
    # Workers wait on their buckets rather than finish early: billed for the phase's wall time.
    busy = workers * (stats.seconds + classify.seconds)
    gb_s = busy * q.memory_gb + (merge.seconds + summarize.seconds) * q.memory_gb
    # Standard child executions: ~3 transitions each (start, the task, the end), the parent ~15.
    transitions = 2 * segments * 3 + 15
    cost = {
        "Lambda": gb_s * PRICES["gb_second"] + (2 * segments + 4) * PRICES["request"],
        "DynamoDB reads": 2 * scan_rru * PRICES["rru"],
        "DynamoDB writes": wru * PRICES["wru"],
        "EventBridge": events * PRICES["event"],
        "Step Functions": transitions * PRICES["transition"],
        "S3": 2 * segments * (PRICES["s3_put"] + PRICES["s3_get"]) + 10 * PRICES["s3_put"],
    }
    peak = min(q.run_write_units, wru / max(classify.seconds, 1e-9))
    return Month(
        customers=customers,
        segments=segments,
        workers=workers,
        phases=phases,
        cost_usd=cost,
        peak_write_units=peak,
        write_share_limit=q.run_write_units,
        worker_seconds=max(stats.seconds, classify.seconds) / waves,
    )


# -- what whatif.py (and the old bench) call -------------------------------------------------------

# Today's population as measured by the full bench (docs/bench.md), for callers without a measurement.
DEFAULT_MEASURED = Measured(
    population="today (figures of docs/bench.md)",
    customers=20_000,
    decode_us=20,
    stats_us=250,
    classify_us=400,
    encode_us=60,
    event_encode_us=10,
    item_bytes_mean=1_150,
    item_bytes_p99=1_600,
    wru_per_write=2.0,
    write_share=0.66,
    events_per_customer=0.68,
)


def month_model(
    customers: int = 10_000_000,
    changed_share: float | None = None,
    events_per_changed: float | None = None,
    measured: Measured = DEFAULT_MEASURED,
    quotas: Quotas = Quotas(),
) -> dict[str, Any]:
    """The month as a dict (whatif.py's run cost): `changed_share` and `events_per_changed` replace the
    measured shares when given (a what-if's own counts)."""
    if changed_share is not None:
        per_changed = events_per_changed if events_per_changed is not None else 1.0
        measured = replace(
            measured, write_share=changed_share, events_per_customer=changed_share * per_changed
        )
    month = model(measured, quotas, customers)
    return {
        "segments": month.segments,
        "workers": month.workers,
        "wall_minutes": month.wall_seconds / 60,
        "binding": month.binding,
        "phases": {p.name: {"seconds": p.seconds, "binding": p.binding} for p in month.phases},
        "peak_write_units": month.peak_write_units,
        "cost_usd": {k: round(v, 2) for k, v in month.cost_usd.items()},
        "total_usd": round(month.total_usd, 2),
    }


# -- the populations ------------------------------------------------------------------------------


def mature_templates(prog: Any, count: int = 400, seed: int = 23) -> list[Profile]:
    """A mature base: joins spread evenly over the five years before the run, lifetimes exponential
    (mean 30 months), purchases a Poisson process at the synthetic retailer's persona rates
    (tools/loyalty_tools/simulate.py), baskets lognormal around the persona's median."""
    from loyalty.domain.earning import Purchase, apply_purchase
    from loyalty.domain.profile import new_profile
    from loyalty_tools.simulate import CATEGORIES, PERSONAS

    rng = random.Random(seed)
    end = datetime(2026, 3, 31, 18, tzinfo=UTC)
    first = end - timedelta(days=5 * 365)
    names = list(PERSONAS)
    out = []
    for index in range(count):
        persona = PERSONAS[rng.choices(names, weights=[PERSONAS[n].share for n in names])[0]]
        profile = new_profile(f"M{index}", prog.base_tier.name)
        joined = first + timedelta(days=rng.uniform(0, 5 * 365))
        leaves = joined + timedelta(days=rng.expovariate(1 / (30 * 30.4)))
        favourite = rng.choice(CATEGORIES)
        day = joined
        k = 0
        while True:
            day += timedelta(days=rng.expovariate(persona.visits / 30.4))
            if day >= min(end, leaves):
                break
            cents = max(100, int(persona.basket * math.exp(rng.gauss(0, persona.spread)) * 100))
            category = favourite if rng.random() < 0.6 else rng.choice(CATEGORIES)
            purchase = Purchase(f"M{index}-{k}", profile.customer_id, day, cents, {category: cents})
            profile, _ = apply_purchase(profile, purchase, prog)
            k += 1
        out.append(profile)
    return out


def populations(prog: Any) -> dict[str, list[Profile]]:
    from bench.reclassify_bench import templates

    return {"today": templates(prog), "mature": mature_templates(prog)}


def customers_of(base: list[Profile], count: int) -> list[Profile]:
    return [replace(base[i % len(base)], customer_id=f"C{i:09d}", version=1) for i in range(count)]


# -- measuring -------------------------------------------------------------------------------------


def shares(profiles: list[Profile], prog: Any) -> tuple[float, float]:
    """(share of customers written, events per customer) of the next month's run, counted on the
    in-memory fakes by the real worker: a first run classifies everyone, the next month's run is the
    one measured."""
    from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
    from loyalty.service.reclassify import ReclassifyService, run_steps

    store = InMemoryStore()
    store.profiles.update({p.customer_id: p for p in profiles})
    scan, publisher = InMemoryCustomerScan(store, page_size=1000), RecordingPublisher()
    svc = ReclassifyService(scan, publisher, prog, InMemoryRunStore(), threads=1)
    run_steps(svc, AS_OF, "first", total_segments=1)
    writes, events = scan.writes, len(publisher.events)
    run_steps(svc, NEXT, "next", total_segments=1)
    count = len(profiles)
    return (scan.writes - writes) / count, (len(publisher.events) - events) / count


def _per_item(fn: Callable[[], int]) -> float:
    """CPU microseconds per item of `fn` (which returns how many items it did), best of three. Process
    CPU time, not the wall clock: what a Lambda vCPU would spend, whatever else this machine runs."""
    best = math.inf
    for _ in range(3):
        started = time.process_time()
        n = fn()
        best = min(best, (time.process_time() - started) / max(1, n))
    return best * 1e6


def measure(population: str, base: list[Profile], count: int, prog: Any) -> Measured:
    from loyalty.adapters.item_size import item_size
    from loyalty.adapters.items import profile_from_raw, profile_to_item
    from loyalty.domain.alive import history
    from loyalty.domain.classify import classify
    from loyalty.domain.scoring import Cuts, Stats, customer_facts
    from loyalty.domain.value import value_facts
    from loyalty.fakes import InMemoryRunStore
    from loyalty.service.reclassify import ReclassifyService, Run, prepare

    from bench.reclassify_bench import CountingPublisher, GeneratedScan

    profiles = customers_of(base, count)
    raws = [profile_to_item(p, 1).serialize() for p in profiles]
    sizes = sorted(item_size(r) for r in raws)
    decode_us = _per_item(lambda: len([profile_from_raw(r) for r in raws]))

    run = Run.from_dict(prepare(prog, AS_OF, "cpu", 1)["run"])
    window = run.window

    def stats_pass() -> int:
        stats = Stats()
        for p in profiles:
            facts = customer_facts(p, window, prog)
            if facts.known:
                estimate = value_facts(facts, window, prog).value_estimate
                stats.add_customer(p.customer_id, facts, estimate, history(facts, window))
        return len(profiles)

    stats_us = _per_item(stats_pass)
    service = ReclassifyService(GeneratedScan(count, base), CountingPublisher(), prog, InMemoryRunStore())
    service.stats(run, 0)
    cuts = Cuts.from_dict(service.merge(run))
    outcomes: list[Any] = []

    def classify_pass() -> int:
        outcomes[:] = [classify(p, prog, cuts, window) for p in profiles]
        return len(profiles)

    classify_us = _per_item(classify_pass)
    changed = [o for o in outcomes if o is not None and o.changed]
    encode_us = _per_item(lambda: len([profile_to_item(o.after, 2).serialize() for o in changed]))
    entries = [e for o in changed for e in o.events]
    event_encode_us = (
        _per_item(lambda: len([e.to_entry("bus", "loyalty") for e in entries])) if entries else 0.0
    )
    write_share, events_per_customer = shares(profiles, prog)
    return Measured(
        population=population,
        customers=count,
        decode_us=decode_us,
        stats_us=stats_us,
        classify_us=classify_us,
        encode_us=encode_us,
        event_encode_us=event_encode_us,
        item_bytes_mean=statistics.fmean(sizes),
        item_bytes_p99=sizes[min(len(sizes) - 1, int(0.99 * len(sizes)))],
        wru_per_write=statistics.fmean(math.ceil(s / 1024) for s in sizes),
        write_share=write_share,
        events_per_customer=events_per_customer,
    )


# -- rows ------------------------------------------------------------------------------------------

_cache: dict[bool, list[tuple[Measured, Month]]] = {}


def months(quick: bool) -> list[tuple[Measured, Month]]:
    if quick not in _cache:
        from bench.reclassify_bench import programme

        prog = programme()
        count = 1_000 if quick else 4_000
        _cache[quick] = [
            (m, model(m))
            for m in (measure(name, base, count, prog) for name, base in populations(prog).items())
        ]
    return _cache[quick]


def describe(month: Month) -> str:
    phases = "; ".join(f"{p.name} {p.seconds:,.0f} s ({p.binding})" for p in month.phases)
    cost = ", ".join(f"{k} ${v:.2f}" for k, v in month.cost_usd.items())
    return (
        f"{month.wall_seconds / 60:.1f} min, ${month.total_usd:.2f}: {month.segments} segments, "
        f"{month.workers} workers; {phases}; {cost}"
    )


def entries_reading(measured: Measured) -> str:
    """The same month were every PutEvents entry counted against the quota (the stricter reading)."""
    month = model(measured, Quotas(entries_counted=True))
    minutes = month.wall_seconds / 60
    return f"were every PutEvents entry a unit of the quota: {minutes:.1f} min ({month.binding})"


def rows(quick: bool) -> list[Any]:
    from bench.harness import Row, info

    out: list[Row] = []
    for measured, month in months(quick):
        name = measured.population
        wall = month.wall_seconds / 60
        cost = ", ".join(f"{k} ${v:.2f}" for k, v in month.cost_usd.items())
        out.append(
            Row(
                f"reclassification 10M month ({name}): wall minutes",
                wall / TARGET_MINUTES,
                f"<= {TARGET_MINUTES:.0f} min",
                f"{wall:.1f} min, binding: {month.binding}. {describe(month)}; {entries_reading(measured)}",
                wall <= TARGET_MINUTES,
            )
        )
        out.append(
            Row(
                f"reclassification 10M month ({name}): cost USD",
                month.total_usd / TARGET_USD,
                f"<= {TARGET_USD:.0f} USD",
                f"${month.total_usd:.2f} ({cost}" + ")",
                month.total_usd <= TARGET_USD,
            )
        )
        out.append(
            Row(
                f"reclassification 10M month ({name}): peak write rate / checkout's share",
                month.peak_write_units / month.write_share_limit,
                "<= 1.0",
                f"peak {month.peak_write_units:,.0f} WRU/s vs the run's share {month.write_share_limit:,.0f} "
                f"(the table's {Quotas().table_write_units:,.0f} less checkout's "
                f"{Quotas().checkout_write_share:.0%}); longest worker {month.worker_seconds:,.0f} s of 900",
                month.peak_write_units <= month.write_share_limit + 1e-6,
            )
        )
        out.append(info(f"reclassification 10M month ({name}): measured inputs", measured.describe()))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 customers measured per population")
    quick = parser.parse_args(argv).quick
    for measured, month in months(quick):
        print(measured.describe())
        print(f"  10M month: {describe(month)}")
        print(f"  binding: {month.binding}; {entries_reading(measured)}")
        met = month.wall_seconds <= TARGET_MINUTES * 60 and month.total_usd <= TARGET_USD
        print(f"  targets (<= {TARGET_MINUTES:.0f} min, <= ${TARGET_USD:.0f}): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
