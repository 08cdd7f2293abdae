"""Purchases and returns applied to a profile: pure functions, no AWS.

Points: whole currency units x points_per_unit x the multiplier of the tier held before the
purchase. A return takes back exactly the points the returned part earned: after all returns
of a purchase the points it earned are all taken back, never more (points are conserved).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from loyalty.domain.dates import iso_utc
from loyalty.domain.lots import available, earn, is_pending, take_back
from loyalty.domain.profile import (
    HISTORY_MONTHS,
    MonthStats,
    Profile,
    merge_categories,
    month_index,
    prune_months,
    with_month,
)
from loyalty.domain.tiers import upgrade_after
from loyalty.money import minor_units
from loyalty.programme import Programme


class ReturnExceedsPurchase(ValueError):
    """A return for more than what is left of its purchase (HTTP 422)."""

    def __init__(self, remaining: int) -> None:
        super().__init__("amount exceeds what is left of the original purchase")
        self.remaining = remaining


@dataclass(frozen=True)
class Purchase:
    transaction_id: str
    customer_id: str
    occurred_at: datetime  # aware
    amount: int  # minor units
    categories: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Return:
    transaction_id: str
    customer_id: str
    occurred_at: datetime
    amount: int
    original_transaction_id: str
    categories: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PurchaseRecord:
    """What a stored purchase keeps so that its returns can be priced."""

    transaction_id: str
    customer_id: str
    occurred_at: datetime
    amount: int
    returned: int  # minor units already returned
    points_rate: int  # points per whole currency unit at purchase time (ppu x multiplier)
    categories: Mapping[str, int] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return self.amount - self.returned


@dataclass(frozen=True)
class EarningOutcome:
    points_earned: int  # negative for a return: the points taken back
    points_balance: int
    tier: str
    tier_before: str
    points_rate: int
    points_pending: int = 0  # of points_earned, still in the return window (negative: taken back)

    @property
    def upgraded(self) -> bool:
        return self.tier != self.tier_before


def points_for(amount: int, rate: int, programme: Programme) -> int:
    return (amount // 10 ** minor_units(programme.currency)) * rate


def base_rate(profile: Profile, programme: Programme) -> int:
    """Points per whole currency unit: the programme's rate x the multiplier of the tier held."""
    return programme.points_per_unit * programme.tier_or_base(profile.tier).multiplier


def apply_purchase(
    profile: Profile, purchase: Purchase, programme: Programme, today: date | None = None, bonus: int = 0
) -> tuple[Profile, EarningOutcome]:
    """`today` (programme zone) decides what is still pending; None (history): the purchase's own day.
    `bonus`: the earning rules' points on top of the base (domain/earning_rules.py)."""
    local = purchase.occurred_at.astimezone(programme.zone)
    month = local.strftime("%Y-%m")
    rate = base_rate(profile, programme)
    points = points_for(purchase.amount, rate, programme) + bonus
    when = iso_utc(purchase.occurred_at)

    latest = profile.latest_month
    too_old = latest is not None and month_index(month) <= month_index(latest) - HISTORY_MONTHS
    today = max(today or local.date(), local.date())
    updated = replace(
        earn(profile, programme, local.date(), points, today),
        points_earned=profile.points_earned + points,
        lifetime_spend=profile.lifetime_spend + purchase.amount,
        lifetime_purchases=profile.lifetime_purchases + 1,
        first_purchase_at=min(filter(None, (profile.first_purchase_at, when))),
        last_purchase_at=max(filter(None, (profile.last_purchase_at, when))),
    )
    if too_old:
        # Older than the buckets: counted in lifetime totals; its day cannot be de-duplicated.
        updated = replace(updated, folded_purchase_days=updated.folded_purchase_days + 1)
    else:
        stats = profile.months.get(month, MonthStats())
        stats = MonthStats(
            spend=stats.spend + purchase.amount,
            visits=stats.visits + 1,
            points=stats.points + points,
            days=stats.days | (1 << (local.day - 1)),
            categories=merge_categories(stats.categories, purchase.categories),
        )
        updated = prune_months(with_month(updated, month, stats))

    tier = upgrade_after(programme, updated, month).name
    if tier != profile.tier:
        updated = replace(updated, tier=tier, tier_since=local.date().isoformat())
    pending = points if is_pending(local.date(), programme, today) else 0
    balance = available(updated, programme, today)
    return updated, EarningOutcome(points, balance, updated.tier, profile.tier, rate, pending)


def apply_return(
    profile: Profile,
    ret: Return,
    original: PurchaseRecord,
    programme: Programme,
    upgrade: tuple[str, str] | None = None,
    today: date | None = None,
    bonus: int = 0,
) -> tuple[Profile, PurchaseRecord, EarningOutcome]:
    """`bonus`: the earning rules' points this return takes back besides the base
    (domain/earning_rules.py taken_back). `upgrade`: (from, to) when the returned purchase upgraded
    the customer. If they still hold
    `to` and, without the returned part, that purchase would not have earned it, the upgrade is
    reversed (to the best tier the remaining history earns, never below `from`). Downgrades for
    any other reason wait for the monthly run."""
    if ret.amount > original.remaining:
        raise ReturnExceedsPurchase(original.remaining)
    before = points_for(original.remaining, original.points_rate, programme)
    after = points_for(original.remaining - ret.amount, original.points_rate, programme)
    taken = before - after + bonus
    month = programme.month_of(original.occurred_at)
    categories = ret.categories or share_of(original.categories, ret.amount, original.amount)

    earned_on = original.occurred_at.astimezone(programme.zone).date()
    today = max(today or ret.occurred_at.astimezone(programme.zone).date(), earned_on)
    after_lots, from_pending = take_back(profile, programme, earned_on, taken, today)
    updated = replace(
        after_lots,
        points_earned=profile.points_earned - taken,
        lifetime_spend=profile.lifetime_spend - ret.amount,
    )
    stats = profile.months.get(month)
    if stats is not None:
        updated = with_month(
            updated,
            month,
            replace(
                stats,
                spend=max(0, stats.spend - ret.amount),
                points=stats.points - taken,
                categories=merge_categories(stats.categories, categories, sign=-1),
            ),
        )
    updated = _reverse_upgrade(updated, upgrade, month, ret, programme)
    record = replace(original, returned=original.returned + ret.amount)
    return (
        updated,
        record,
        EarningOutcome(
            -taken,
            available(updated, programme, today),
            updated.tier,
            profile.tier,
            original.points_rate,
            -from_pending,
        ),
    )


def _reverse_upgrade(
    profile: Profile, upgrade: tuple[str, str] | None, month: str, ret: Return, programme: Programme
) -> Profile:
    if upgrade is None or profile.tier != upgrade[1]:
        return profile
    earned = upgrade_after(programme, replace(profile, tier=upgrade[0]), month)
    if programme.tier_rank(earned.name) >= programme.tier_rank(profile.tier):
        return profile
    since = ret.occurred_at.astimezone(programme.zone).date().isoformat()
    return replace(profile, tier=earned.name, tier_since=since)


def share_of(categories: Mapping[str, int], part: int, whole: int) -> dict[str, int]:
    """Split a returned amount over the purchase's categories in proportion, exactly."""
    if not categories or whole <= 0:
        return {}
    shares = {k: v * part // whole for k, v in categories.items()}
    remainder = part * sum(categories.values()) // whole - sum(shares.values())
    if remainder > 0:
        largest = max(categories, key=lambda k: (categories[k], k))
        shares[largest] += remainder
    return {k: v for k, v in shares.items() if v > 0}
