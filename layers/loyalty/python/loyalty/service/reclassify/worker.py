"""The worker: the stats, merge, classify and summarize steps over one scan segment, page by page
(publish, then write; conflicts re-read and recompute)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from loyalty.domain.alive import history
from loyalty.domain.classify import Reclassified, classify
from loyalty.domain.scoring import (
    Cuts,
    RunWindow,
    Stats,
    customer_facts,
    cuts_for,
    merge_all,
)
from loyalty.domain.value import value_facts
from loyalty.events import (
    DetailType,
    DomainEvent,
    event_from_detail,
)
from loyalty.ports import CustomerScan, EventPublisher, RunStore, VersionConflict
from loyalty.programme import Programme, parse_programme
from loyalty.service.dry_run import ReadOnlyScan, RefusingPublisher, candidate_source
from loyalty.service.period_cuts import keep_latest
from loyalty.service.reclassify.run import (
    PUBLISH_BATCH,
    WORKER_THREADS,
    IncompleteRun,
    Run,
    dry_run_report_key,
    prepare,
    summary_key,
)
from loyalty.service.reclassify.season import SeasonConversion
from loyalty.service.reclassify.tally import Tally, completed_detail, merge_all_tallies


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
    season: SeasonConversion | None = None  # vouchers.season_months: after the page's writes (season.py)

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
                if self.season is not None:
                    tally.events["VoucherIssued"] += self.season.convert_page(window.ref_date, page)
        self.runs.put(run.key("classify", f"{segment:05d}.json"), tally.to_dict())
        return {
            "segment": segment,
            "customers": tally.customers,
            "classified": tally.classified,
            "changed": tally.changed,
            "conflicts": tally.conflicts,
            "events": sum(tally.events.values()),
        }

    def _save_one(self, cuts: Cuts, window: RunWindow) -> Callable[[Reclassified], Saved]:
        return lambda outcome: self._save(outcome, cuts, window, {e.event_id: e for e in outcome.events})

    def _save(
        self, outcome: Reclassified, cuts: Cuts, window: RunWindow, published: dict[str, DomainEvent]
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
        cuts = cuts or self.runs.get(run.key("cuts.json")) or {}
        if cuts:  # the card's and the export's RFM scores and P(alive) come from the period's cuts
            keep_latest(self.runs, run.period, cuts)
        existing = self.runs.get(summary_key(run.period))
        if existing is not None:
            return {**existing, "published": False}
        tally = self._merged_tally(run)
        detail = completed_detail(run, tally, cuts, self.programme)
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

    final: Reclassified | None = None
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
