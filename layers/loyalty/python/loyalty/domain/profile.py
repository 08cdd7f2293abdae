"""The customer profile: everything the API and the monthly run need, in one bounded item.

A profile keeps running totals plus one small bucket per programme month for the trailing
window (HISTORY_MONTHS). Reading a balance or re-scoring a customer never touches the
transactions. Applying a purchase or a return is a pure function of (profile, transaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from loyalty.domain.dates import month_index, trailing_window

# The trailing 12 months plus the current one: enough for tiers, RFM and returns of last
# year's purchases. Older months are folded into lifetime totals.
HISTORY_MONTHS = 13
# Spend per category is kept for at most this many categories a month (the largest); the
# rest is summed under OTHER_CATEGORY. It bounds the item size whatever the basket.
MAX_CATEGORIES_PER_MONTH = 5
OTHER_CATEGORY = "_other"


@dataclass(frozen=True)
class MonthStats:
    spend: int = 0  # minor units, net of returns
    visits: int = 0  # purchases
    points: int = 0  # points earned, net of returns
    days: int = 0  # bit d-1 set when a purchase fell on day d of the month (programme zone)
    categories: Mapping[str, int] = field(default_factory=dict)  # spend per category

    @property
    def purchase_days(self) -> int:
        return self.days.bit_count()


@dataclass(frozen=True)
class Profile:
    customer_id: str
    tier: str
    points_balance: int = 0
    version: int = 0  # optimistic lock: every write conditions on it and bumps it
    tier_since: str | None = None  # programme-zone date of the last tier change
    first_purchase_at: str | None = None  # ISO 8601, UTC
    last_purchase_at: str | None = None  # ISO 8601, UTC
    folded_purchase_days: int = 0  # distinct purchase days in months older than the buckets
    months: Mapping[str, MonthStats] = field(default_factory=dict)
    lifetime_spend: int = 0
    lifetime_purchases: int = 0
    # Points ledger totals: balance == earned - redeemed - expired + adjusted, always.
    points_earned: int = 0
    points_redeemed: int = 0
    points_expired: int = 0
    # What the monthly run keeps: the named segment and favourite category, the period of its last
    # write. RFM scores and P(alive) are not stored: they follow from the profile and the period's cuts
    # (domain/classify.card_scores), so they would change nearly every month for nothing a consumer uses.
    segment: str | None = None
    favourite_category: str | None = None
    classified_period: str | None = None
    erased: bool = False
    # The last purchase day whose silence was warned about with CustomerOverdue (one warning per silence).
    overdue_for: str | None = None
    member: Membership = field(default_factory=lambda: Membership())
    # The points lifecycle (domain/lots.py): points per lot (earning month, pending included), points
    # still pending per earning day, the adjustments' total, and the last expiry date PointsExpiring
    # announced. points_balance == sum(lots) - debt, the points not yet booked as expired.
    lots: Mapping[str, int] = field(default_factory=dict)
    pending: Mapping[str, int] = field(default_factory=dict)
    points_adjusted: int = 0
    expiry_warned_through: str | None = None

    @property
    def latest_month(self) -> str | None:
        return max(self.months) if self.months else None

    @property
    def purchase_days(self) -> int:
        """Distinct purchase days in the customer's whole history (their purchase cycle)."""
        return self.folded_purchase_days + sum(m.purchase_days for m in self.months.values())

    def totals(self, end_month: str, count: int = 12) -> MonthStats:
        """Spend, visits and points over the `count` months ending with `end_month`."""
        spend = visits = points = 0
        for month in trailing_window(end_month, count):
            stats = self.months.get(month)
            if stats:
                spend += stats.spend
                visits += stats.visits
                points += stats.points
        return MonthStats(spend=spend, visits=visits, points=points)


def new_profile(customer_id: str, base_tier: str) -> Profile:
    return Profile(customer_id=customer_id, tier=base_tier)


def merge_categories(current: Mapping[str, int], delta: Mapping[str, int], sign: int = 1) -> dict[str, int]:
    """Add (or take back) category spend, keeping the largest categories and folding the rest."""
    merged = dict(current)
    for category, cents in delta.items():
        key = category if category in merged or sign > 0 else OTHER_CATEGORY
        merged[key] = merged.get(key, 0) + sign * cents
    merged = {k: v for k, v in merged.items() if v > 0}
    if len(merged) > MAX_CATEGORIES_PER_MONTH:
        ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = dict(ranked[: MAX_CATEGORIES_PER_MONTH - 1])
        rest = sum(v for _, v in ranked[MAX_CATEGORIES_PER_MONTH - 1 :])
        kept[OTHER_CATEGORY] = kept.get(OTHER_CATEGORY, 0) + rest
        merged = kept
    return merged


def with_month(profile: Profile, month: str, stats: MonthStats) -> Profile:
    months = dict(profile.months)
    months[month] = stats
    return replace(profile, months=months)


def prune_months(profile: Profile) -> Profile:
    """Drop buckets older than the window ending at the latest month, folding their purchase days."""
    latest = profile.latest_month
    if latest is None:
        return profile
    oldest_kept = month_index(latest) - HISTORY_MONTHS + 1
    kept = {m: s for m, s in profile.months.items() if month_index(m) >= oldest_kept}
    if len(kept) == len(profile.months):
        return profile
    folded = sum(s.purchase_days for m, s in profile.months.items() if m not in kept)
    return replace(profile, months=kept, folded_purchase_days=profile.folded_purchase_days + folded)


# ---------------------------------------------------------------------------------------------
# Membership (issue 16): enrolment, status, consents, preferences and relational activity. One field
# of the profile, so the card stays one GetItem; its rules are domain/members.py's.

CONTACT_CHANNELS = ("email", "sms", "push")


@dataclass(frozen=True)
class ConsentChange:
    """One change of a member's consents, kept as proof: when (UTC), from where, and the consents after."""

    at: str  # UTC ISO instant, e.g. 2026-12-01T10:15:00Z
    source: str  # store | web | app | back_office
    consents: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Membership:
    enrolled: bool = False  # False: a card seen on a purchase only, never enrolled
    enrolled_at: str | None = None  # UTC ISO instant
    enrolled_store_id: str | None = None
    enrolled_channel: str | None = None
    enrolment_hash: str | None = None  # the enrolment's content: the same body replays, another is 409
    status: str = "active"  # active | blocked
    consents: Mapping[str, bool] = field(default_factory=dict)  # channel -> agreed; absent means no
    consent_history: tuple[ConsentChange, ...] = ()  # oldest first, the last MAX_CONSENT_HISTORY
    categories: tuple[str, ...] = ()  # preferred categories
    max_contacts_per_month: int | None = None  # None: no limit
    last_interaction_at: str | None = None  # UTC ISO instant
    interactions: Mapping[str, int] = field(default_factory=dict)  # programme month -> interactions
    contacts_month: str | None = None  # the month `contacts_sent` counts
    contacts_sent: int = 0  # customer events sent in contacts_month
