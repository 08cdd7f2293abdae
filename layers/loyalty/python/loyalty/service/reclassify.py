"""The monthly reclassification, as the steps Step Functions runs (functions/reclassify/handler.py)
and the local tool runs in-process (tools/loyalty_tools/reclassify_local.py):

    prepare -> [stats per scan segment -> merge] -> classify per scan segment -> summarize

- prepare: the period and run id, the scan segments to fan out over, whether statistics are needed.
- stats: one pass over a segment, building mergeable Stats (domain/scoring.py); kept in the RunStore.
- merge: all segments' Stats -> Cuts (4 cut points per axis, the median purchase interval, the
  median value estimate, the BG/NBD parameters fitted on the merged sample of at most
  reservoir.DEFAULT_SIZE customers): small, they travel in the state to every classify worker.
- classify: one pass over a segment, page by page. For each page: classify every profile (pure),
  PUBLISH the events of the changed ones (deterministic ids; PutEvents batches of up to 10, a
  customer's events never split, sent concurrently) and wait until every batch of the page is
  accepted, THEN write the changed profiles (concurrently, `threads` at a time), each conditionally
  on its version (classified_period = the period). A conflict (ingest wrote the customer meanwhile)
  re-reads, recomputes, publishes any event not yet published, and writes again. A failure anywhere
  in a page stops the pass after the calls in flight: no profile is written before its events are
  out, and no later page is read. The segment's tally (counts, migration) goes to the RunStore; the
  step returns small counts. Memory: one page and its outcomes at a time.
- summarize: merges the tallies, publishes ReclassificationCompleted once per period (a rerun finds
  the period's summary and publishes nothing), returns the summary for metrics.

Delivery: a crash after publishing and before writing re-publishes the same ids on the rerun
(consumers drop duplicates); a crash after writing means the events were already out; a rerun of a
finished period finds every profile already classified (no change, no write, no event).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from loyalty.domain.alive import history
from loyalty.domain.classify import UNCLASSIFIED, Outcome, classify
from loyalty.domain.experiments import experiment_report
from loyalty.domain.scoring import (
    Cuts,
    RunWindow,
    Stats,
    customer_facts,
    cuts_for,
    merge_all,
    needs_statistics,
)
from loyalty.domain.value import value_facts
from loyalty.events import (
    SCHEMA_VERSION,
    DetailType,
    DomainEvent,
    PopulationState,
    ReclassificationCompletedDetail,
    event_from_detail,
    event_id,
)
from loyalty.money import format_amount
from loyalty.ports import CustomerScan, EventPublisher, RunStore, VersionConflict
from loyalty.programme import Programme, parse_programme
from loyalty.service.dry_run import ReadOnlyScan, RefusingPublisher, candidate_source

PREFIX = "reclassification"
CUSTOMERS_PER_SEGMENT = 50_000  # sizing when the caller gives no segment count (see docs)
MAX_SEGMENTS = 1_000
DEFAULT_SEGMENTS = 4
WORKER_THREADS = 16  # concurrent UpdateItems and PutEvents per page (boto3 clients are thread-safe)
PUBLISH_BATCH = 10  # PutEvents' limit per call


class IncompleteRun(RuntimeError):
    """A merge or summary found fewer segment results than the run has segments."""


@dataclass(frozen=True)
class Run:
    """What every step gets in its input (the Step Functions state holds this, a few hundred bytes)."""

    period: str
    as_of: str  # ISO date, programme zone
    run_id: str
    total_segments: int
    needs_stats: bool = True
    dry_run: bool = False  # classify under the candidate programme at programme_key; write nothing
    programme_key: str | None = None

    @property
    def window(self) -> RunWindow:
        return RunWindow.for_period(self.period)

    def key(self, *parts: str) -> str:
        return "/".join((PREFIX, self.period, self.run_id, *parts))

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "as_of": self.as_of,
            "run_id": self.run_id,
            "total_segments": self.total_segments,
            "needs_stats": self.needs_stats,
            "dry_run": self.dry_run,
            "programme_key": self.programme_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        return cls(
            str(data["period"]),
            str(data["as_of"]),
            str(data["run_id"]),
            int(data["total_segments"]),
            bool(data.get("needs_stats", True)),
            bool(data.get("dry_run", False)),
            data.get("programme_key"),
        )


def summary_key(period: str) -> str:
    return f"{PREFIX}/{period}/summary.json"


def dry_run_report_key(run: Run) -> str:
    return run.key("dry-run-report.json")


def as_of_date(value: date | str | None, programme: Programme, now: Callable[[], datetime]) -> date:
    """A date as given, an ISO date, or an ISO instant (the scheduler's scheduled time) read in the
    programme's time zone; None means now."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.astimezone(programme.zone).date()
    if value:
        text = str(value).replace("Z", "+00:00")
        if len(text) == 10:
            return date.fromisoformat(text)
        instant = datetime.fromisoformat(text)
        return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(programme.zone).date()
    return now().astimezone(programme.zone).date()


def segments_for(customers: int | None) -> int:
    if not customers:
        return DEFAULT_SEGMENTS
    return max(1, min(MAX_SEGMENTS, math.ceil(customers / CUSTOMERS_PER_SEGMENT)))


def prepare(
    programme: Programme,
    as_of: date | str | None,
    run_id: str,
    total_segments: int | None = None,
    estimated_customers: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    day = as_of_date(as_of, programme, now)
    segments = int(total_segments) if total_segments else segments_for(estimated_customers)
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ValueError(f"total_segments must be 1-{MAX_SEGMENTS}, got {segments}")
    run = Run(RunWindow.as_of(day).period, day.isoformat(), run_id, segments, needs_statistics(programme))
    return {"run": run.to_dict(), "segments": list(range(segments))}


# ---------------------------------------------------------------------------------------------
# The tally of a classify pass


def _nested(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (before, after), count in sorted(counter.items()):
        out.setdefault(before, {})[after] = count
    return out


def _pairs(nested: Mapping[str, Mapping[str, int]] | None) -> Counter[tuple[str, str]]:
    return Counter({(a, b): int(n) for a, row in (nested or {}).items() for b, n in row.items()})


@dataclass
class Tally:
    customers: int = 0  # profiles scanned
    classified: int = 0  # customers by the end of the period
    changed: int = 0  # profiles written
    conflicts: int = 0  # optimistic retries
    points_expired: int = 0
    segments_before: Counter[str] = field(default_factory=Counter)
    segments_after: Counter[str] = field(default_factory=Counter)
    tiers_before: Counter[str] = field(default_factory=Counter)
    tiers_after: Counter[str] = field(default_factory=Counter)
    migration: Counter[tuple[str, str]] = field(default_factory=Counter)
    tier_migration: Counter[tuple[str, str]] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    p_alive_thousandths: Counter[str] = field(default_factory=Counter)  # segment -> sum of P(alive) x 1000
    p_alive_customers: Counter[str] = field(default_factory=Counter)  # segment -> customers with one
    # (experiment, cohort segment, group, segment after) -> customers (domain/experiments.py)
    experiment_moves: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    revenue_12m: Counter[str] = field(default_factory=Counter)  # segment after -> 12-month spend, minor units
    tier_segment: Counter[tuple[str, str]] = field(default_factory=Counter)  # (tier, segment) after

    def add(self, first: Outcome, final: Outcome) -> None:
        """`first` as scanned (the "before" of the matrices), `final` as written."""
        before, after = first.before, final.after
        self.classified += 1
        self.changed += final.changed
        self.points_expired += final.classification.expired_points
        self.segments_before[before.segment or UNCLASSIFIED] += 1
        self.segments_after[after.segment or UNCLASSIFIED] += 1
        self.tiers_before[before.tier] += 1
        self.tiers_after[after.tier] += 1
        self.migration[(before.segment or UNCLASSIFIED, after.segment or UNCLASSIFIED)] += 1
        self.tier_migration[(before.tier, after.tier)] += 1
        if after.p_alive is not None:
            segment = after.segment or UNCLASSIFIED
            self.p_alive_thousandths[segment] += int(Decimal(after.p_alive) * 1000)
            self.p_alive_customers[segment] += 1
        segment_after = after.segment or UNCLASSIFIED
        self.revenue_12m[segment_after] += final.classification.facts.monetary
        self.tier_segment[(after.tier, segment_after)] += 1
        experiment = final.classification.experiment
        if experiment is not None and experiment.cohort is not None:
            self.experiment_moves[(experiment.name, experiment.cohort, experiment.group, segment_after)] += 1

    def p_alive_mean(self) -> dict[str, str]:
        """Mean P(alive) per segment, 3 places half up (exact: the sums are in thousandths)."""
        return {
            segment: str(
                (Decimal(total) / 1000 / self.p_alive_customers[segment]).quantize(
                    Decimal("0.001"), ROUND_HALF_UP
                )
            )
            for segment, total in sorted(self.p_alive_thousandths.items())
            if self.p_alive_customers[segment]
        }

    def merge(self, other: Tally) -> Tally:
        return Tally(
            self.customers + other.customers,
            self.classified + other.classified,
            self.changed + other.changed,
            self.conflicts + other.conflicts,
            self.points_expired + other.points_expired,
            self.segments_before + other.segments_before,
            self.segments_after + other.segments_after,
            self.tiers_before + other.tiers_before,
            self.tiers_after + other.tiers_after,
            self.migration + other.migration,
            self.tier_migration + other.tier_migration,
            self.events + other.events,
            self.p_alive_thousandths + other.p_alive_thousandths,
            self.p_alive_customers + other.p_alive_customers,
            self.experiment_moves + other.experiment_moves,
            self.revenue_12m + other.revenue_12m,
            self.tier_segment + other.tier_segment,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "classified": self.classified,
            "changed": self.changed,
            "conflicts": self.conflicts,
            "points_expired": self.points_expired,
            "segments_before": dict(sorted(self.segments_before.items())),
            "segments_after": dict(sorted(self.segments_after.items())),
            "tiers_before": dict(sorted(self.tiers_before.items())),
            "tiers_after": dict(sorted(self.tiers_after.items())),
            "migration": _nested(self.migration),
            "tier_migration": _nested(self.tier_migration),
            "events": dict(sorted(self.events.items())),
            "p_alive_thousandths": dict(sorted(self.p_alive_thousandths.items())),
            "p_alive_customers": dict(sorted(self.p_alive_customers.items())),
            "experiment_moves": [[*key, n] for key, n in sorted(self.experiment_moves.items())],
            "revenue_12m": dict(sorted(self.revenue_12m.items())),
            "tier_segment": _nested(self.tier_segment),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        return cls(
            int(data.get("customers", 0)),
            int(data.get("classified", 0)),
            int(data.get("changed", 0)),
            int(data.get("conflicts", 0)),
            int(data.get("points_expired", 0)),
            Counter(data.get("segments_before") or {}),
            Counter(data.get("segments_after") or {}),
            Counter(data.get("tiers_before") or {}),
            Counter(data.get("tiers_after") or {}),
            _pairs(data.get("migration")),
            _pairs(data.get("tier_migration")),
            Counter(data.get("events") or {}),
            Counter(data.get("p_alive_thousandths") or {}),
            Counter(data.get("p_alive_customers") or {}),
            Counter({(a, b, c, d): int(n) for a, b, c, d, n in data.get("experiment_moves") or []}),
            Counter(data.get("revenue_12m") or {}),
            _pairs(data.get("tier_segment")),
        )


# ---------------------------------------------------------------------------------------------
# The worker


@dataclass
class ReclassifyService:
    store: CustomerScan
    publisher: EventPublisher
    programme: Programme
    runs: RunStore
    max_attempts: int = 20
    threads: int = WORKER_THREADS  # 1: every call in the calling thread, one after another
    _publisher_warm: bool = field(default=False, init=False, repr=False)
    dry: bool = False  # this service is a dry run's: the candidate programme, ports that refuse writes

    def for_run(self, run: Run) -> ReclassifyService:
        """The service for this run's steps: itself, or for a dry run the same store read-only, a
        publisher that refuses, and the candidate programme the prepare step kept in the RunStore."""
        if not run.dry_run or self.dry:
            return self
        source = self.runs.get(run.programme_key) if run.programme_key else None
        return replace(
            self,
            store=ReadOnlyScan(self.store),
            publisher=RefusingPublisher(),
            programme=self.programme if source is None else parse_programme(source),
            dry=True,
        )

    def prepare_dry_run(
        self,
        as_of: date | str | None,
        run_id: str,
        programme: Any = None,
        total_segments: int | None = None,
        estimated_customers: int | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> dict[str, Any]:
        """prepare() for a dry run: `programme` (inline JSON, a run-bucket key, or None for the current
        one) validated and kept in the RunStore, the run marked dry_run."""
        source = candidate_source(programme, self.runs.get) if programme is not None else None
        chosen = self.programme if source is None else parse_programme(source)
        prepared = prepare(chosen, as_of, run_id, total_segments, estimated_customers, now)
        run = Run.from_dict({**prepared["run"], "dry_run": True})
        if source is not None:
            run = replace(run, programme_key=run.key("programme.json"))
            self.runs.put(run.programme_key, source)  # type: ignore[arg-type]
        return {**prepared, "run": run.to_dict()}

    # -- statistics pass -----------------------------------------------------------------------

    def stats(self, run: Run, segment: int) -> dict[str, Any]:
        if run.dry_run and not self.dry:
            return self.for_run(run).stats(run, segment)
        window = run.window
        stats = Stats()
        for page in self.store.scan_segment(segment, run.total_segments):
            for profile in page:
                if profile.erased:
                    continue
                facts = customer_facts(profile, window, self.programme)
                if facts.known:
                    estimate = value_facts(facts, window, self.programme).value_estimate
                    stats.add_customer(profile.customer_id, facts, estimate, history(facts, window))
        self.runs.put(run.key("stats", f"{segment:05d}.json"), stats.to_dict())
        return {"segment": segment, "customers": stats.customers, "active": stats.active}

    def merge(self, run: Run) -> dict[str, Any]:
        """The cut points for every classify worker (also kept in the RunStore, for the record)."""
        if run.dry_run and not self.dry:
            return self.for_run(run).merge(run)
        stats = None
        if run.needs_stats:
            keys = self.runs.keys(run.key("stats", ""))
            if len(keys) != run.total_segments:
                raise IncompleteRun(f"{len(keys)} of {run.total_segments} statistics segments found")
            stats = merge_all(Stats.from_dict(self.runs.get(k) or {}) for k in keys)
        cuts = cuts_for(self.programme, stats)
        self.runs.put(run.key("cuts.json"), cuts.to_dict())
        return cuts.to_dict()

    # -- classify pass -------------------------------------------------------------------------

    def classify(self, run: Run, cuts: Cuts, segment: int) -> dict[str, Any]:
        if run.dry_run and not self.dry:
            return self.for_run(run).classify(run, cuts, segment)
        window = run.window
        tally = Tally()
        with _pool(self.threads) as pool:
            for page in self.store.scan_segment(segment, run.total_segments):
                tally.customers += len(page)
                classified = (classify(p, self.programme, cuts, window) for p in page)
                outcomes = [o for o in classified if o is not None]
                changed = [o for o in outcomes if o.changed]
                if self.dry:  # what the run would publish and write, counted; nothing sent
                    tally.events.update(str(e.detail_type) for o in changed for e in o.events)
                    for outcome in outcomes:
                        tally.add(outcome, outcome)
                    continue
                # 1. Every event of the page accepted (a failure raises here: nothing of the page written).
                batches = _batches([o.events for o in changed])
                _all(pool, self.publisher.publish, batches, inline_first=not self._publisher_warm)
                self._publisher_warm = self._publisher_warm or bool(batches)
                tally.events.update(str(e.detail_type) for batch in batches for e in batch)
                # 2. Then the writes, each conditional on the version scanned.
                for outcome in outcomes:
                    if not outcome.changed:
                        tally.add(outcome, outcome)
                written = _all(pool, self._save_one(cuts, window), changed)
                for outcome, saved in zip(changed, written, strict=True):
                    tally.conflicts += saved.conflicts
                    tally.events.update(saved.events)
                    if saved.final is not None:
                        tally.add(outcome, saved.final)
        self.runs.put(run.key("classify", f"{segment:05d}.json"), tally.to_dict())
        return {
            "segment": segment,
            "customers": tally.customers,
            "classified": tally.classified,
            "changed": tally.changed,
            "conflicts": tally.conflicts,
            "events": sum(tally.events.values()),
        }

    def _save_one(self, cuts: Cuts, window: RunWindow) -> Callable[[Outcome], Saved]:
        return lambda outcome: self._save(outcome, cuts, window, {e.event_id: e for e in outcome.events})

    def _save(
        self, outcome: Outcome, cuts: Cuts, window: RunWindow, published: dict[str, DomainEvent]
    ) -> Saved:
        """Write one changed profile (in a pool thread: touches nothing shared but the ports)."""
        saved = Saved()
        current = outcome
        for _ in range(self.max_attempts):
            if not current.changed:
                saved.final = current
                return saved
            try:
                self.store.save_classification(current.after, current.before.version, current.before)
                saved.final = current
                return saved
            except VersionConflict:
                saved.conflicts += 1
            fresh = self.store.get(current.before.customer_id)
            recomputed = classify(fresh, self.programme, cuts, window) if fresh is not None else None
            if recomputed is None:
                return saved
            # Events already out keep their id; one whose content moved goes out again (same id).
            due = [e for e in recomputed.events if published.get(e.event_id) != e]
            if due:
                self.publisher.publish(due)
                saved.events.update(str(e.detail_type) for e in due)
            published.update({e.event_id: e for e in due})
            current = recomputed
        raise VersionConflict(
            f"{outcome.before.customer_id}: still conflicting after {self.max_attempts} attempts"
        )

    # -- summary -------------------------------------------------------------------------------

    def summarize(self, run: Run, cuts: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Merge the tallies; publish ReclassificationCompleted unless this period already has a summary.
        A dry run publishes nothing and writes its report (the same detail) to dry_run_report_key."""
        if run.dry_run and not self.dry:
            return self.for_run(run).summarize(run, cuts)
        if self.dry:
            return self._dry_run_report(run, cuts)
        existing = self.runs.get(summary_key(run.period))
        if existing is not None:
            return {**existing, "published": False}
        tally = self._merged_tally(run)
        detail = completed_detail(
            run, tally, cuts or self.runs.get(run.key("cuts.json")) or {}, self.programme
        )
        event = event_from_detail(DetailType.RECLASSIFICATION_COMPLETED, detail)
        self.publisher.publish([event])
        summary = {"event_id": event.event_id, **event.detail, "conflicts": tally.conflicts}
        self.runs.put(summary_key(run.period), summary)
        return {**summary, "published": True}

    def _dry_run_report(self, run: Run, cuts: Mapping[str, Any] | None) -> dict[str, Any]:
        tally = self._merged_tally(run)
        detail = completed_detail(
            run, tally, cuts or self.runs.get(run.key("cuts.json")) or {}, self.programme
        )
        event = event_from_detail(DetailType.RECLASSIFICATION_COMPLETED, detail)
        report = {
            **event.detail,
            "dry_run": True,
            "programme": self.programme.name,
            "report_key": dry_run_report_key(run),
            "published": False,
        }
        self.runs.put(dry_run_report_key(run), report)
        return report

    def _merged_tally(self, run: Run) -> Tally:
        keys = self.runs.keys(run.key("classify", ""))
        if len(keys) != run.total_segments:
            raise IncompleteRun(f"{len(keys)} of {run.total_segments} classify segments found")
        return merge_all_tallies(Tally.from_dict(self.runs.get(k) or {}) for k in keys)


@dataclass
class Saved:
    """What writing one changed profile did: the outcome written (None: the customer is gone)."""

    final: Outcome | None = None
    conflicts: int = 0
    events: Counter[str] = field(default_factory=Counter)


def _batches(groups: Iterable[list[DomainEvent]]) -> list[list[DomainEvent]]:
    """Customers' events packed into PutEvents-sized batches, never splitting one customer's events."""
    batches: list[list[DomainEvent]] = []
    batch: list[DomainEvent] = []
    for events in groups:
        if batch and len(batch) + len(events) > PUBLISH_BATCH:
            batches.append(batch)
            batch = []
        batch.extend(events)
    if batch:
        batches.append(batch)
    return batches


class _Inline(Executor):
    """threads=1: calls run in the calling thread, in order (what the pool does, without threads)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def _pool(threads: int) -> Executor:
    return ThreadPoolExecutor(threads, thread_name_prefix="reclassify") if threads > 1 else _Inline()


def _all(pool: Executor, fn: Callable[[Any], Any], items: list[Any], inline_first: bool = False) -> list[Any]:
    """fn over items on the pool, results in order. On the first failure the calls not yet started are
    cancelled, the ones in flight finish, and the failure is raised. `inline_first`: the first call
    runs alone in this thread (an adapter creating its client lazily creates it once)."""
    if not items:
        return []
    results: list[Any] = []
    if inline_first:
        results.append(fn(items[0]))
        items = items[1:]
    futures = [pool.submit(fn, item) for item in items]
    _, pending = wait(futures, return_when=FIRST_EXCEPTION)
    if pending:
        for future in pending:
            future.cancel()
        wait(pending)
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]
    return results + [f.result() for f in futures]


def merge_all_tallies(parts: Any) -> Tally:
    total = Tally()
    for part in parts:
        total = total.merge(part)
    return total


def completed_detail(
    run: Run, tally: Tally, cuts: Mapping[str, Any], programme: Programme | None = None
) -> ReclassificationCompletedDetail:
    currency = programme.currency if programme is not None else "EUR"
    return ReclassificationCompletedDetail(
        event_id=event_id("reclassification", run.period, "completed"),
        schema_version=SCHEMA_VERSION,
        period=run.period,
        as_of=run.as_of,
        run_id=run.run_id,
        customers=tally.customers,
        classified=tally.classified,
        changed=tally.changed,
        before=PopulationState(
            dict(sorted(tally.segments_before.items())), dict(sorted(tally.tiers_before.items()))
        ),
        after=PopulationState(
            dict(sorted(tally.segments_after.items())), dict(sorted(tally.tiers_after.items()))
        ),
        migration=_nested(tally.migration),
        tier_migration=_nested(tally.tier_migration),
        events=dict(sorted(tally.events.items())),
        points_expired=tally.points_expired,
        scores={k: v for k, v in cuts.items() if k != "model"},
        model=cuts.get("model"),
        p_alive_mean=tally.p_alive_mean(),
        experiments=experiment_report(tally.experiment_moves, programme.experiments if programme else ()),
        revenue_12m={k: format_amount(v, currency) for k, v in sorted(tally.revenue_12m.items())},
        tier_segment=_nested(tally.tier_segment),
    )


# ---------------------------------------------------------------------------------------------
# Wiring


def run_steps(
    service: ReclassifyService,
    as_of: date | str | None,
    run_id: str,
    total_segments: int | None = None,
    step: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    dry_run: bool = False,
    programme: Any = None,
) -> dict[str, Any]:
    """The state machine's path, one step after another in this process: prepare, stats per segment,
    merge, classify per segment, summarize. `step` receives each state's event (the handler's
    dispatcher, so the local runner goes through the Lambda code); without it the service is called.
    `dry_run` (with a candidate `programme`, inline JSON or a run-bucket key): the state machine's
    dry-run input, see service/dry_run.py."""

    def direct(event: dict[str, Any]) -> dict[str, Any]:
        run = Run.from_dict(event["run"]) if "run" in event else None
        kind = event["step"]
        if kind == "prepare" and event.get("dry_run"):
            return service.prepare_dry_run(
                event["as_of"], event["run_id"], event.get("programme"), event.get("total_segments")
            )
        if kind == "prepare":
            return prepare(service.programme, event["as_of"], event["run_id"], event.get("total_segments"))
        assert run is not None
        if kind == "stats":
            return service.stats(run, event["segment"])
        if kind == "merge":
            return service.merge(run)
        if kind == "classify":
            return service.classify(run, Cuts.from_dict(event["cuts"]), event["segment"])
        return service.summarize(run, event.get("cuts"))

    call = step or direct
    as_of_text = as_of.isoformat() if isinstance(as_of, date) else as_of
    prepare_event = {
        "step": "prepare",
        "as_of": as_of_text,
        "run_id": run_id,
        "total_segments": total_segments,
    }
    if dry_run:
        prepare_event.update({"dry_run": True, "programme": programme})
    prepared = call(prepare_event)
    run = prepared["run"]
    if run["needs_stats"]:
        for segment in prepared["segments"]:
            call({"step": "stats", "run": run, "segment": segment})
    cuts = call({"step": "merge", "run": run})
    workers = [
        call({"step": "classify", "run": run, "cuts": cuts, "segment": s}) for s in prepared["segments"]
    ]
    summary = call({"step": "summarize", "run": run, "cuts": cuts})
    return {"run": run, "cuts": cuts, "workers": workers, "summary": summary}
