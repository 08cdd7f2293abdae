"""One customer's monthly classification: scores, segment, value facts, tier review, expiry, and the
events that announce what changed. Pure: (profile, programme, cuts, window) -> Outcome.

A profile "changed" when its segment, RFM code, favourite category, tier or balance would change;
only then is it written (with classified_period = the period) and only then are events due:
CustomerSegmentChanged when the segment, the RFM code or the favourite category moves,
CustomerTierChanged when the tier moves, PointsExpired when a balance expires. Their ids are
events.event_id(customer, period, kind), so a rerun or a retry publishes the same ids again.
Classifying an already classified profile again gives no change (idempotent).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from loyalty.domain.profile import Profile
from loyalty.domain.scoring import (
    CustomerFacts,
    Cuts,
    RunWindow,
    Scores,
    customer_facts,
    score,
)
from loyalty.domain.segments import favourite_category, is_dormant, match_segment
from loyalty.domain.value import ValueFacts, points_to_expire, reviewed_tier, value_facts
from loyalty.events import (
    SCHEMA_VERSION,
    CustomerSegmentChangedDetail,
    DetailType,
    DomainEvent,
    PointsExpiredDetail,
    PointsState,
    RfmScores,
    SegmentState,
    ValueFactsDetail,
    ab_bucket,
    event_from_detail,
    event_id,
    tier_changed,
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


@dataclass(frozen=True)
class Outcome:
    before: Profile
    after: Profile
    classification: Classification
    events: tuple[DomainEvent, ...]

    @property
    def changed(self) -> bool:
        return self.after != self.before


def classify_customer(
    profile: Profile, programme: Programme, cuts: Cuts, window: RunWindow
) -> Classification | None:
    """The classification for the period, or None for someone not (yet) a customer by its end."""
    facts = customer_facts(profile, window, programme)
    if not facts.known or profile.erased:
        return None
    scores = score(facts, cuts)
    dormant = is_dormant(facts, programme.dormancy, cuts.median_interval_days)
    return Classification(
        customer_id=profile.customer_id,
        period=window.period,
        facts=facts,
        scores=scores,
        dormant=dormant,
        segment=match_segment(programme.segments, programme.fallback_segment, scores, dormant),
        favourite_category=favourite_category(profile, window),
        value=value_facts(facts, window, programme),
        tier=reviewed_tier(profile, programme, window),
        expired_points=points_to_expire(profile, programme, window),
    )


def apply(profile: Profile, c: Classification, window: RunWindow) -> Profile:
    """The profile with the classification recorded; unchanged when nothing moved."""
    updated = replace(
        profile,
        segment=c.segment,
        rfm=c.scores.code if c.scores else None,
        favourite_category=c.favourite_category,
    )
    if c.tier != profile.tier:
        updated = replace(updated, tier=c.tier, tier_since=window.ref_date.isoformat())
    if c.expired_points:
        updated = replace(
            updated,
            points_balance=profile.points_balance - c.expired_points,
            points_expired=profile.points_expired + c.expired_points,
        )
    if updated == profile:
        return profile
    return replace(updated, classified_period=window.period)


def _rfm(scores: Scores | None) -> RfmScores | None:
    return RfmScores(scores.r, scores.f, scores.m) if scores else None


def facts_detail(c: Classification, programme: Programme) -> ValueFactsDetail:
    return ValueFactsDetail(**c.value.to_detail(programme.currency, c.favourite_category, c.dormant))


def events_for(before: Profile, after: Profile, c: Classification, programme: Programme) -> list[DomainEvent]:
    customer, period = before.customer_id, c.period
    facts = facts_detail(c, programme)
    events: list[DomainEvent] = []
    if (before.segment, before.rfm, before.favourite_category) != (
        after.segment,
        after.rfm,
        after.favourite_category,
    ):
        detail = CustomerSegmentChangedDetail(
            event_id=event_id(customer, period, "segment"),
            schema_version=SCHEMA_VERSION,
            customer_id=customer,
            period=period,
            before=SegmentState(before.segment, _rfm(Scores.parse(before.rfm)), before.favourite_category),
            after=SegmentState(after.segment, _rfm(c.scores), after.favourite_category),
            scores=_rfm(c.scores),
            facts=facts,
            tier=after.tier,
            ab_bucket=ab_bucket(customer),
        )
        events.append(event_from_detail(DetailType.CUSTOMER_SEGMENT_CHANGED, detail))
    if before.tier != after.tier:
        up = programme.tier_rank(after.tier) > programme.tier_rank(before.tier)
        extra = {
            "points_balance": after.points_balance,
            "segment": after.segment,
            "scores": c.scores.to_dict() if c.scores else None,
            "facts": asdict(facts),
        }
        events.append(
            tier_changed(
                customer, period, period, before.tier, after.tier, "upgrade" if up else "downgrade", extra
            )
        )
    if c.expired_points:
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
        )
        events.append(event_from_detail(DetailType.POINTS_EXPIRED, detail_exp))
    return events


def classify(profile: Profile, programme: Programme, cuts: Cuts, window: RunWindow) -> Outcome | None:
    """Everything the monthly run does to one profile; None for a profile it leaves alone."""
    c = classify_customer(profile, programme, cuts, window)
    if c is None:
        return None
    after = apply(profile, c, window)
    events = tuple(events_for(profile, after, c, programme)) if after != profile else ()
    return Outcome(profile, after, c, events)
