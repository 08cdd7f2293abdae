"""One customer's monthly classification: scores, segment, value facts, tier review, expiry, and the
events that announce what changed. Pure: (profile, programme, cuts, window) -> Reclassified.

A profile "changed" (and only then is it written, with classified_period = the period) when what a
consumer reads from it moves: its named segment, favourite category, tier, balance or lots (expiry
booked), or the markers that keep a warning from going out twice (`overdue_for`,
`expiry_warned_through`) and the contacts counted against the member's monthly limit. RFM scores and
P(alive) are not stored: they move nearly every month (recency ages, quintile cuts are relative, T
grows) and follow from the profile and the period's cuts (`period_scores`, which the card uses too).
Events: CustomerSegmentChanged only when the named segment moves, CustomerTierChanged when the tier
moves, PointsExpired when a balance expires; their ids are events.event_id(customer, period, kind), so
a rerun or a retry publishes the same ids again. Every event carries the period's scores and facts.
CustomerOverdue goes out once per silence: when a customer is past warn_k x their cycle, not dormant,
and `overdue_for` is not already their last purchase day; its id is
event_id(customer, last purchase day, "overdue") and the profile keeps that day in `overdue_for`.
Classifying an already classified profile again gives no change (idempotent).
Every event carries `contactable` (domain/members.py), computed before the events of this change are
counted in the member's month (the run's month: the day after the period).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from loyalty.domain.alive import Liveness, ModelFit, liveness
from loyalty.domain.dates import add_months_to_day
from loyalty.domain.experiments import Assignment, assignment, direction
from loyalty.domain.lots import expire, points_on, warnings_due
from loyalty.domain.members import RelationalFacts, contactable, count_contacts, relational_facts
from loyalty.domain.profile import Profile
from loyalty.domain.scoring import (
    CustomerFacts,
    Cuts,
    RunWindow,
    Scores,
    customer_facts,
    local_day,
    money_bucket,
    score,
)
from loyalty.domain.segments import (
    dormancy_threshold,
    favourite_category,
    is_dormant,
    is_overdue,
    match_segment,
    purchase_cycle,
)
from loyalty.domain.value import ValueFacts, decimal_2, reviewed_tier, value_facts
from loyalty.events import (
    SCHEMA_VERSION,
    CustomerOverdueDetail,
    CustomerSegmentChangedDetail,
    CycleState,
    DetailType,
    DomainEvent,
    ExperimentTag,
    ExpiringLot,
    PointsExpiredDetail,
    PointsExpiringDetail,
    PointsState,
    RfmScores,
    SegmentState,
    ValueFactsDetail,
    ab_bucket,
    event_from_detail,
    event_id,
    plain,
    tier_changed,
    with_contactable,
)
from loyalty.programme import Programme

UNCLASSIFIED = "(none)"  # the "from" of customers classified for the first time, in the matrices


@dataclass(frozen=True)
class Classification:
    customer_id: str
    period: str
    facts: CustomerFacts
    scores: Scores | None
    dormant: bool
    segment: str
    favourite_category: str | None
    value: ValueFacts
    tier: str
    expired_points: int
    liveness: Liveness | None = None
    overdue: bool = False  # past warn_k x cycle, not dormant
    relational: RelationalFacts | None = None
    # The lots booked as expired at the run's reference day, and those whose PointsExpiring falls due
    # before the next run: (lot, points, expires_on) each (domain/lots.py).
    expired_lots: tuple[tuple[str, int, date], ...] = ()
    expiring_lots: tuple[tuple[str, int, date], ...] = ()
    booked: Profile | None = None  # the profile with those lots booked (None: nothing expired)
    experiment: Assignment | None = None  # the customer's group in a running experiment

    @property
    def experiment_tag(self) -> ExperimentTag | None:
        return None if self.experiment is None else ExperimentTag(**self.experiment.tag())  # type: ignore[arg-type]

    @property
    def p_alive(self) -> str | None:
        return None if self.liveness is None else str(self.liveness.p_alive)

    @property
    def expected_purchases_90d(self) -> str | None:
        return None if self.liveness is None else str(self.liveness.expected_purchases_90d)


@dataclass(frozen=True)
class Reclassified:
    """One customer through the monthly run: the profile before and after, why, and the events."""

    before: Profile
    after: Profile
    classification: Classification
    events: tuple[DomainEvent, ...]

    @property
    def changed(self) -> bool:
        return self.after is not self.before and self.after != self.before


@dataclass(frozen=True)
class PeriodScores:
    """What the period's cuts say of a profile: its facts, RFM scores (None: not scored) and BG/NBD
    liveness (None: no fit). Computed, never stored: the run's events and the card both use it."""

    facts: CustomerFacts
    scores: Scores | None
    liveness: Liveness | None


def period_scores(profile: Profile, programme: Programme, cuts: Cuts, window: RunWindow) -> PeriodScores:
    facts = customer_facts(profile, window, programme)
    if not facts.known:
        return PeriodScores(facts, None, None)
    return PeriodScores(facts, score(facts, cuts), liveness(_model(cuts), facts, window))


@lru_cache(maxsize=8)
def _model_of(model: tuple[tuple[str, Any], ...]) -> ModelFit | None:
    return ModelFit.from_dict(dict(model))


def _model(cuts: Cuts) -> ModelFit | None:
    """The cuts' model, parsed once per container (cuts.model is a plain dict as it travels)."""
    return None if not cuts.model else _model_of(tuple(sorted(cuts.model.items())))


@lru_cache(maxsize=8)
def _next_run(ref_date: date) -> date:
    return add_months_to_day(ref_date, 1)


def classify_customer(
    profile: Profile, programme: Programme, cuts: Cuts, window: RunWindow
) -> Classification | None:
    """The classification for the period, or None for someone not (yet) a customer by its end."""
    if profile.erased:
        return None
    period = period_scores(profile, programme, cuts, window)
    facts = period.facts
    if not facts.known:
        return None
    scores, alive = period.scores, period.liveness
    dormant = is_dormant(facts, programme.dormancy, cuts.median_interval_days)
    value = value_facts(facts, window, programme)
    top_half = (
        None
        if cuts.median_value_estimate is None or not facts.active
        else money_bucket(value.value_estimate) > cuts.median_value_estimate
    )
    member = profile.member
    relational = relational_facts(
        member,
        window.months,
        window.ref_date,
        local_day(member.last_interaction_at, programme) if member.last_interaction_at else None,
        facts.last_day,
        programme.relational.active_days,
    )
    segment = match_segment(
        programme.segments,
        programme.fallback_segment,
        scores,
        dormant,
        p_alive=None if alive is None else alive.p_alive,
        value_top_half=top_half,
        relationally_active=relational.active,
        current=profile.segment,
        stability=programme.segment_stability,
    )
    view = points_on(profile, programme, window.ref_date)
    booked, expired_lots = expire(profile, programme, window.ref_date, view)
    next_run = _next_run(window.ref_date)
    expiring = warnings_due(booked, programme, window.ref_date, next_run, view if booked is profile else None)
    return Classification(
        customer_id=profile.customer_id,
        period=window.period,
        facts=facts,
        scores=scores,
        dormant=dormant,
        segment=segment,
        favourite_category=favourite_category(profile, window),
        value=value,
        tier=reviewed_tier(profile, programme, window),
        expired_points=booked.points_expired - profile.points_expired,
        liveness=alive,
        overdue=is_overdue(facts, programme.dormancy, cuts.median_interval_days),
        relational=relational,
        expired_lots=tuple(expired_lots),
        expiring_lots=tuple(expiring),
        booked=booked if expired_lots else None,
        experiment=assignment(
            programme.experiments, window.period, ab_bucket(profile.customer_id), profile.segment, segment
        ),
    )


def overdue_due(profile: Profile, c: Classification) -> bool:
    """A CustomerOverdue is due: overdue, and this silence (its last purchase day) not yet warned about."""
    last = c.facts.last_day
    return c.overdue and last is not None and profile.overdue_for != last.isoformat()


def apply(profile: Profile, c: Classification, window: RunWindow) -> Profile:
    """The profile with the classification recorded; unchanged when nothing moved."""
    # One replace at the end (not one per rule): most customers change nothing, and a chain of
    # dataclasses.replace was the costliest step of classifying one.
    fields: dict[str, Any] = {"segment": c.segment, "favourite_category": c.favourite_category}
    if overdue_due(profile, c):
        assert c.facts.last_day is not None
        fields["overdue_for"] = c.facts.last_day.isoformat()
    if c.tier != profile.tier:
        fields["tier"], fields["tier_since"] = c.tier, window.ref_date.isoformat()
    if c.booked is not None:
        booked = c.booked
        fields["points_balance"], fields["points_expired"] = booked.points_balance, booked.points_expired
        fields["lots"], fields["pending"] = booked.lots, booked.pending
    if c.expiring_lots:
        fields["expiry_warned_through"] = max(d for _, _, d in c.expiring_lots).isoformat()
    if all(getattr(profile, name) == value for name, value in fields.items()):
        return profile
    return replace(profile, **fields, classified_period=window.period)


def _rfm(scores: Scores | None) -> RfmScores | None:
    return RfmScores(scores.r, scores.f, scores.m) if scores else None


def facts_detail(c: Classification, programme: Programme) -> ValueFactsDetail:
    relational = c.relational
    return ValueFactsDetail(
        **c.value.to_detail(
            programme.currency, c.favourite_category, c.dormant, c.p_alive, c.expected_purchases_90d
        ),
        relational_recency_days=relational.recency_days if relational else None,
        relational_frequency_12m=relational.frequency_12m if relational else 0,
        relationally_active=relational.active if relational else False,
    )


def overdue_event(after: Profile, c: Classification, programme: Programme, cuts: Cuts) -> DomainEvent:
    last = c.facts.last_day
    cycle = purchase_cycle(c.facts, cuts.median_interval_days)
    assert last is not None and cycle is not None and c.facts.recency_days is not None
    threshold = dormancy_threshold(c.facts, programme.dormancy, cuts.median_interval_days)
    detail = CustomerOverdueDetail(
        event_id=event_id(c.customer_id, last.isoformat(), "overdue"),
        schema_version=SCHEMA_VERSION,
        customer_id=c.customer_id,
        period=c.period,
        before=CycleState("on_cycle"),
        after=CycleState("overdue"),
        last_purchase_day=last.isoformat(),
        cycle_days=decimal_2(cycle),
        recency_days=c.facts.recency_days,
        warn_k=str(programme.dormancy.warn_k),
        expected_return_date=(last + timedelta(days=math.ceil(cycle))).isoformat(),
        dormant_after_date=(last + timedelta(days=math.floor(threshold) + 1)).isoformat(),
        p_alive=c.p_alive,
        expected_purchases_90d=c.expected_purchases_90d,
        segment=after.segment,
        tier=after.tier,
        scores=_rfm(c.scores),
        facts=facts_detail(c, programme),
        ab_bucket=ab_bucket(c.customer_id),
        experiment=c.experiment_tag,
    )
    return event_from_detail(DetailType.CUSTOMER_OVERDUE, detail)


def events_for(
    before: Profile, after: Profile, c: Classification, programme: Programme, cuts: Cuts
) -> list[DomainEvent]:
    customer, period = before.customer_id, c.period
    facts = facts_detail(c, programme)
    events: list[DomainEvent] = []
    if before.segment != after.segment:
        detail = CustomerSegmentChangedDetail(
            event_id=event_id(customer, period, "segment"),
            schema_version=SCHEMA_VERSION,
            customer_id=customer,
            period=period,
            # Scores are not stored: `before.rfm` is null, the period's scores are `after.rfm` and `scores`.
            before=SegmentState(before.segment, None, before.favourite_category),
            after=SegmentState(after.segment, _rfm(c.scores), after.favourite_category),
            scores=_rfm(c.scores),
            facts=facts,
            tier=after.tier,
            ab_bucket=ab_bucket(customer),
            direction=direction(  # type: ignore[arg-type]
                programme.segment_rank(before.segment), programme.segment_rank(after.segment)
            ),
            experiment=c.experiment_tag,
        )
        events.append(event_from_detail(DetailType.CUSTOMER_SEGMENT_CHANGED, detail))
    if before.tier != after.tier:
        up = programme.tier_rank(after.tier) > programme.tier_rank(before.tier)
        extra = {
            "points_balance": after.points_balance,
            "segment": after.segment,
            "scores": c.scores.to_dict() if c.scores else None,
            "facts": plain(facts),
            "experiment": c.experiment.tag() if c.experiment else None,
        }
        events.append(
            tier_changed(
                customer, period, period, before.tier, after.tier, "upgrade" if up else "downgrade", extra
            )
        )
    if c.expired_points:
        lots = [ExpiringLot(key, points, on.isoformat()) for key, points, on in c.expired_lots]
        detail_exp = PointsExpiredDetail(
            event_id=event_id(customer, period, "expiry"),
            schema_version=SCHEMA_VERSION,
            customer_id=customer,
            period=period,
            points=c.expired_points,
            before=PointsState(before.points_balance),
            after=PointsState(after.points_balance),
            last_purchase_at=before.last_purchase_at,
            expiry_months=programme.expiry_months,
            tier=after.tier,
            segment=after.segment,
            scores=_rfm(c.scores),
            facts=facts,
            ab_bucket=ab_bucket(customer),
            lots=lots,
            policy=programme.expiry_policy,
            experiment=c.experiment_tag,
        )
        events.append(event_from_detail(DetailType.POINTS_EXPIRED, detail_exp))
    if after.expiry_warned_through != before.expiry_warned_through:
        for key, points, on in c.expiring_lots:
            warning = PointsExpiringDetail(
                event_id=event_id(customer, key, on.isoformat(), "expiring"),
                schema_version=SCHEMA_VERSION,
                customer_id=customer,
                period=period,
                lot=key,
                points=points,
                expires_on=on.isoformat(),
                warn_days=programme.expiry_warn_days,
                points_balance=after.points_balance,
                tier=after.tier,
                segment=after.segment,
                ab_bucket=ab_bucket(customer),
            )
            events.append(event_from_detail(DetailType.POINTS_EXPIRING, warning))
    if after.overdue_for != before.overdue_for:
        events.append(overdue_event(after, c, programme, cuts))
    return events


def classify(profile: Profile, programme: Programme, cuts: Cuts, window: RunWindow) -> Reclassified | None:
    """Everything the monthly run does to one profile; None for a profile it leaves alone."""
    c = classify_customer(profile, programme, cuts, window)
    if c is None:
        return None
    after = apply(profile, c, window)
    events = tuple(events_for(profile, after, c, programme, cuts)) if after != profile else ()
    if events:  # sent in the run's month (the day after the period): counted against the member's limit
        run_month = window.ref_date.strftime("%Y-%m")
        events = with_contactable(events, contactable(after, run_month))
        after = count_contacts(after, run_month, len(events))
    return Reclassified(profile, after, c, events)
