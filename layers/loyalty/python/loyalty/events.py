"""Event names and models: the contract with marketing tools on the EventBridge bus.

Every event carries a deterministic `event_id` (customer + period + kind) so that consumers can
drop duplicates: we publish at least once, and a rerun publishes the same ids again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class DetailType(StrEnum):
    CUSTOMER_SEGMENT_CHANGED = "CustomerSegmentChanged"
    CUSTOMER_TIER_CHANGED = "CustomerTierChanged"
    POINTS_EXPIRED = "PointsExpired"
    VOUCHER_ISSUED = "VoucherIssued"
    VOUCHER_CANCELLED = "VoucherCancelled"
    RECLASSIFICATION_COMPLETED = "ReclassificationCompleted"
    CUSTOMER_OVERDUE = "CustomerOverdue"
    POINTS_ADJUSTED = "PointsAdjusted"
    POINTS_EXPIRING = "PointsExpiring"
    REFERRAL_REWARDED = "ReferralRewarded"


SCHEMA_VERSION = "1"


def event_id(*parts: str) -> str:
    """A stable id from its parts, e.g. event_id(customer_id, period, kind)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def ab_bucket(customer_id: str, salt: str = "loyalty-ab") -> int:
    """A stable A/B bucket 0-99 per customer, the same in every event and export."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


@dataclass(frozen=True)
class DomainEvent:
    detail_type: DetailType
    event_id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "schema_version": SCHEMA_VERSION, **self.detail}

    def to_entry(self, bus_name: str, source: str) -> dict[str, Any]:
        return {
            "EventBusName": bus_name,
            "Source": source,
            "DetailType": str(self.detail_type),
            "Detail": json.dumps(self.body(), separators=(",", ":"), sort_keys=True),
        }


def tier_changed(
    customer_id: str,
    period: str,
    cause: str,
    before: str,
    after: str,
    direction: str,
    extra: dict[str, Any] | None = None,
) -> DomainEvent:
    """`cause` is part of the id: the transaction id for an upgrade at a purchase, or the
    monthly run's period for a change made by the reclassification."""
    return DomainEvent(
        DetailType.CUSTOMER_TIER_CHANGED,
        event_id(customer_id, period, "tier", cause),
        {
            "customer_id": customer_id,
            "period": period,
            "before": {"tier": before},
            "after": {"tier": after},
            "direction": direction,
            "cause": cause,
            "ab_bucket": ab_bucket(customer_id),
            **(extra or {}),
        },
    )


# ---------------------------------------------------------------------------------------------
# Event details, one dataclass per detail-type: the one truth for what the reclassification puts
# on the bus. The JSON Schemas in schemas/events/ are generated from these (json_schemas(); the
# unit tests fail when the files are stale) and registered in the EventBridge schema registry.
# Money is a decimal string in the programme currency; scores are 1-5; ab_bucket is 0-99.


@dataclass(frozen=True)
class RfmScores:
    """R (recency), F (frequency), M (monetary) scores, 1 (worst) to 5 (best)."""

    r: int
    f: int
    m: int


@dataclass(frozen=True)
class ValueFactsDetail:
    """The customer's facts over the 12 months of the period (see docs/reclassification.md)."""

    currency: str
    recency_days: int | None  # last purchase to the day after the period; None: none in 12 months
    frequency_12m: int
    monetary_12m: str
    average_basket: str | None
    purchase_frequency_per_month: str
    tenure_days: int | None
    purchase_days: int
    average_interval_days: str | None
    value_estimate: str
    favourite_category: str | None
    dormant: bool
    p_alive: str | None = None  # BG/NBD P(alive), 3 places; None when the run could not fit the model
    expected_purchases_90d: str | None = None  # BG/NBD expected purchases in the next 90 days, 2 places
    # Relational activity: days since the last interaction or purchase, interactions in the 12 months,
    # and an interaction within segments.relational.active_days.
    relational_recency_days: int | None = None
    relational_frequency_12m: int = 0
    relationally_active: bool = False


@dataclass(frozen=True)
class Contactable:
    """What a marketing tool may do with this event, per channel: the member consented, is not blocked,
    and fewer customer events than their max_contacts_per_month were sent this month."""

    email: bool
    sms: bool
    push: bool


def with_contactable(
    events: Sequence[DomainEvent], contactable: Mapping[str, bool]
) -> tuple[DomainEvent, ...]:
    """The events with `contactable` in their detail (every customer event carries it)."""
    return tuple(
        DomainEvent(e.detail_type, e.event_id, {**e.detail, "contactable": dict(contactable)}) for e in events
    )


@dataclass(frozen=True)
class SegmentState:
    segment: str | None
    rfm: RfmScores | None
    favourite_category: str | None


@dataclass(frozen=True)
class TierState:
    tier: str


@dataclass(frozen=True)
class PointsState:
    points_balance: int


@dataclass(frozen=True)
class ExpiringLot:
    lot: str  # the programme month the points were earned in ('*': the whole balance, inactivity)
    points: int
    expires_on: str  # the last day they can be spent, programme time zone


@dataclass(frozen=True)
class ExperimentTag:
    """The customer's group in a running experiment of the programme (programme.experiments)."""

    name: str
    group: Literal["treatment", "holdout"]


@dataclass(frozen=True)
class CustomerSegmentChangedDetail:
    """A customer's named segment changed at the monthly run (a move of the RFM scores or the favourite
    category alone sends nothing). `before.rfm` is null: scores are not stored; the period's are in
    `after.rfm` and `scores`."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    before: SegmentState
    after: SegmentState
    scores: RfmScores | None
    facts: ValueFactsDetail
    tier: str
    ab_bucket: int
    contactable: Contactable | None = None  # every customer event carries it (docs/events.md)
    # up / down by the programme's segment ranks; lateral: same rank, or a segment without one
    direction: Literal["up", "down", "lateral"] = "lateral"
    experiment: ExperimentTag | None = None  # None: not in a running experiment


@dataclass(frozen=True)
class CustomerTierChangedDetail:
    """A tier change: an upgrade at the purchase that crosses a threshold (cause = its transaction
    id; no scores or facts), or a downgrade / late upgrade at the monthly run (cause = the period)."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    before: TierState
    after: TierState
    direction: Literal["upgrade", "downgrade"]
    cause: str
    ab_bucket: int
    points_balance: int | None = None
    segment: str | None = None
    scores: RfmScores | None = None
    facts: ValueFactsDetail | None = None
    contactable: Contactable | None = None  # every customer event carries it (docs/events.md)
    experiment: ExperimentTag | None = None  # monthly run only; None: not in a running experiment


@dataclass(frozen=True)
class PointsExpiredDetail:
    """Points expired at the monthly run, one event per customer and period: the lots past their date
    (expiry.policy rolling or calendar), or the whole balance after expiry.months_without_purchase
    months without a purchase (inactivity; `expiry_months` is that setting)."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    points: int
    before: PointsState
    after: PointsState
    last_purchase_at: str | None
    expiry_months: int
    tier: str
    segment: str | None
    scores: RfmScores | None
    facts: ValueFactsDetail
    ab_bucket: int
    contactable: Contactable | None = None  # every customer event carries it (docs/events.md)
    # The lots it took (the expiry policy: inactivity takes the whole balance as one lot, '*').
    lots: list[ExpiringLot] = field(default_factory=list)
    policy: str = "inactivity"
    experiment: ExperimentTag | None = None


@dataclass(frozen=True)
class VoucherIssuedDetail:
    """A voucher issued: points converted (POST /v1/customers/{id}/redemptions, cause `redemption`),
    a tier's reward on entering it (`tier_reward`, points 0) or the season's conversion (`season`);
    event_id = event_id(customer_id, redemption_id, "voucher"), where a reward's redemption_id is its
    key (customer, tier and month entered), so a replay or a rerun sends the same id."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    redemption_id: str
    voucher_id: str
    points: int
    value: str
    currency: str
    valid_until: str
    before: PointsState
    after: PointsState
    ab_bucket: int
    contactable: Contactable | None = None  # every customer event carries it (docs/events.md)
    cause: Literal["redemption", "tier_reward", "season"] = "redemption"
    kind: Literal["value", "percent"] = "value"
    percent: int | None = None  # a percent voucher's discount (kind percent), applied by the till


@dataclass(frozen=True)
class ReferralRewardedDetail:
    """A referee's first purchase with the referrer's code rewarded both (docs/rules-and-rewards.md):
    `customer_id` is the referrer; both points are pending points of that purchase. event_id =
    event_id(referrer, transaction_id, "referral"), the same on a replay."""

    event_id: str
    schema_version: str
    customer_id: str
    referee_id: str
    transaction_id: str
    period: str
    referrer_points: int
    referee_points: int
    ab_bucket: int
    contactable: Contactable | None = None  # every customer event carries it (docs/events.md)


@dataclass(frozen=True)
class VoucherCancelledDetail:
    """An unused voucher voided by the back office (POST /v1/vouchers/{code}/cancel) and its points
    given back to the card; event_id = event_id(customer_id, voucher_id, "voucher-cancelled"), the
    same on a retried cancel."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    redemption_id: str
    voucher_id: str
    points: int
    value: str
    currency: str
    cancelled_at: str
    before: PointsState
    after: PointsState
    ab_bucket: int
    contactable: Contactable | None = None  # every customer event carries it (docs/events.md)


@dataclass(frozen=True)
class CycleState:
    """Where the customer stands against their own purchase cycle."""

    state: Literal["on_cycle", "overdue"]


@dataclass(frozen=True)
class CustomerOverdueDetail:
    """A customer silent for more than segments.dormancy.warn_k times their own purchase cycle and not
    yet dormant (k x cycle, at least floor_days): a journey can act before they go dormant. Once per
    customer per silence: event_id = event_id(customer_id, last_purchase_day, "overdue"), so the next
    silence (after a new purchase) is warned about again."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    before: CycleState  # on_cycle
    after: CycleState  # overdue
    last_purchase_day: str  # programme-zone date
    cycle_days: str  # the customer's own average interval (or the programme median), 2 places
    recency_days: int
    warn_k: str
    expected_return_date: str  # last purchase day + cycle, rounded up to a whole day
    dormant_after_date: str  # the first day the customer counts as dormant without a purchase
    p_alive: str | None
    expected_purchases_90d: str | None
    segment: str | None
    tier: str
    scores: RfmScores | None
    facts: ValueFactsDetail
    ab_bucket: int
    contactable: Contactable | None = None  # every customer event carries it (docs/events.md)
    experiment: ExperimentTag | None = None


@dataclass(frozen=True)
class PointsAdjustedDetail:
    """Points added or taken by the back office (POST /v1/customers/{id}/adjustments); event_id =
    event_id(customer_id, adjustment_id, "adjusted"), the same on a retried adjustment. The free-text
    note is not sent (it stays out of the bus)."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    adjustment_id: str
    points: int  # positive: given (a lot earned that day); negative: taken, nearest expiry first
    reason: Literal["goodwill", "correction", "migration", "promotion", "other"]
    before: PointsState
    after: PointsState
    ab_bucket: int


@dataclass(frozen=True)
class PointsExpiringDetail:
    """Points that expire within expiry.warn_days: once per customer and lot, from the monthly run whose
    coverage includes the day the warning falls due; event_id = event_id(customer_id, lot, expires_on,
    "expiring")."""

    event_id: str
    schema_version: str
    customer_id: str
    period: str
    lot: str
    points: int
    expires_on: str
    warn_days: int
    points_balance: int
    tier: str
    segment: str | None
    ab_bucket: int


@dataclass(frozen=True)
class PopulationState:
    segments: dict[str, int]
    tiers: dict[str, int]


@dataclass(frozen=True)
class ReclassificationCompletedDetail:
    """One per period: counts per segment and tier before and after, the previous-to-current
    migration matrices (from -> to -> customers), events published and the scoring cut points."""

    event_id: str
    schema_version: str
    period: str
    as_of: str
    run_id: str
    customers: int
    classified: int
    changed: int
    before: PopulationState
    after: PopulationState
    migration: dict[str, dict[str, int]]
    tier_migration: dict[str, dict[str, int]]
    events: dict[str, int]
    points_expired: int
    scores: dict[str, Any]
    # The BG/NBD fit of the run: r, alpha, a, b (weeks), log_likelihood, sample size; None without one.
    model: dict[str, Any] | None = None
    p_alive_mean: dict[str, str] = field(default_factory=dict)  # segment -> mean P(alive), 3 places
    # experiment -> targeted segment -> {"treatment"/"holdout": {"customers", "moved_to": {segment: n}},
    # "uplift": {success segment: rates, difference, ci95_low, ci95_high}} (docs/experiments.md)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    revenue_12m: dict[str, str] = field(default_factory=dict)  # segment -> 12-month net spend, decimal
    tier_segment: dict[str, dict[str, int]] = field(default_factory=dict)  # tier -> segment -> customers


DETAIL_MODELS: dict[DetailType, type] = {
    DetailType.CUSTOMER_SEGMENT_CHANGED: CustomerSegmentChangedDetail,
    DetailType.CUSTOMER_TIER_CHANGED: CustomerTierChangedDetail,
    DetailType.POINTS_EXPIRED: PointsExpiredDetail,
    DetailType.VOUCHER_ISSUED: VoucherIssuedDetail,
    DetailType.VOUCHER_CANCELLED: VoucherCancelledDetail,
    DetailType.RECLASSIFICATION_COMPLETED: ReclassificationCompletedDetail,
    DetailType.CUSTOMER_OVERDUE: CustomerOverdueDetail,
    DetailType.POINTS_ADJUSTED: PointsAdjustedDetail,
    DetailType.POINTS_EXPIRING: PointsExpiringDetail,
    DetailType.REFERRAL_REWARDED: ReferralRewardedDetail,
}


_LEAVES = frozenset({str, int, bool, float})


def plain(value: Any) -> Any:
    """dataclasses.asdict without its deep copies (the detail dataclasses hold only immutable leaves,
    dicts, lists and dataclasses): the monthly run builds an event per change, and asdict was about a
    third of classifying a customer."""
    if value is None or type(value) in _LEAVES:
        return value
    names = getattr(type(value), "__dataclass_fields__", None)
    if names is not None:  # leaves copied here without a call: most of a detail's values are leaves
        out = {}
        for name in names:
            item = getattr(value, name)
            out[name] = item if item is None or type(item) in _LEAVES else plain(item)
        return out
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def event_from_detail(detail_type: DetailType, detail: Any) -> DomainEvent:
    """A DomainEvent from one of the detail dataclasses (event_id and schema_version go in body())."""
    body = plain(detail)
    body.pop("schema_version", None)
    return DomainEvent(detail_type, body.pop("event_id"), body)


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft-04, as the EventBridge schema registry takes it) of each detail-type's
    `detail`, generated from DETAIL_MODELS. pydantic is imported here only (tools, tests, synth)."""
    from pydantic import TypeAdapter

    schemas: dict[str, dict[str, Any]] = {}
    for detail_type, model in DETAIL_MODELS.items():
        schema = TypeAdapter(model).json_schema(ref_template="#/definitions/{model}")
        definitions = schema.pop("$defs", None)
        document: dict[str, Any] = {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "title": str(detail_type),
            "description": " ".join((model.__doc__ or "").split()),
            **{k: v for k, v in schema.items() if k not in ("title", "description")},
        }
        if definitions:
            document["definitions"] = definitions
        schemas[str(detail_type)] = document
    return schemas
