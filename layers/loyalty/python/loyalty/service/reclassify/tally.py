"""The tally of a classify pass: counts, migrations and experiment moves, mergeable across
segments, and the ReclassificationCompleted detail made from the merged tallies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from loyalty.domain.classify import UNCLASSIFIED, Reclassified
from loyalty.domain.experiments import experiment_report
from loyalty.events import (
    SCHEMA_VERSION,
    PopulationState,
    ReclassificationCompletedDetail,
    event_id,
)
from loyalty.money import format_amount
from loyalty.programme import Programme
from loyalty.service.reclassify.run import Run


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

    def add(self, first: Reclassified, final: Reclassified) -> None:
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
        alive = final.classification.liveness  # computed this run (P(alive) is not stored)
        if alive is not None:
            segment = after.segment or UNCLASSIFIED
            self.p_alive_thousandths[segment] += int(alive.p_alive * 1000)
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
