"""Tiers: any-of conditions over the trailing 12 programme months."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from loyalty.domain.dates import month_index
from loyalty.domain.profile import Profile
from loyalty.money import format_amount
from loyalty.programme import Programme, Tier


def qualified_tier(programme: Programme, spend: int, visits: int, points: int) -> Tier:
    """The highest tier whose any-of conditions hold for these 12-month totals."""
    best = programme.base_tier
    for tier in programme.tiers:
        if tier.qualifies(spend, visits, points):
            best = tier
    return best


def tier_for_window(programme: Programme, profile: Profile, end_month: str) -> Tier:
    totals = profile.totals(end_month)
    return qualified_tier(programme, totals.spend, totals.visits, totals.points)


def best_over_windows(programme: Programme, profile: Profile, end_months: Iterable[str], floor: Tier) -> Tier:
    """The highest of `floor` and the tiers of the 12-month windows ending at each of `end_months`:
    the one rule both the upgrade at a purchase and the review at the monthly run apply."""
    best = floor
    for month in end_months:
        candidate = tier_for_window(programme, profile, month)
        if programme.tier_rank(candidate.name) > programme.tier_rank(best.name):
            best = candidate
    return best


def upgrade_after(programme: Programme, profile: Profile, from_month: str) -> Tier:
    """The tier a purchase in `from_month` earns the customer, never lower than the current one.

    Every 12-month window ending at a bucket month from `from_month` on is checked, so a late
    purchase counts in the windows it belongs to and the resulting tier does not depend on the
    order in which purchases arrive. Downgrades happen only at the monthly run.
    """
    start = month_index(from_month)
    later = (month for month in profile.months if month_index(month) >= start)
    return best_over_windows(programme, profile, later, programme.tier_or_base(profile.tier))


@dataclass(frozen=True)
class TierProgress:
    tier: str
    next_tier: str | None
    missing: dict[str, Any]  # what is still needed for any one of the next tier's conditions

    def to_dict(self) -> dict[str, Any]:
        return {"tier": self.tier, "next_tier": self.next_tier, "to_next_tier": self.missing or None}


def progress(programme: Programme, profile: Profile, as_of_month: str) -> TierProgress:
    """How far the customer is from the next tier over the 12 months ending `as_of_month`."""
    rank = programme.tier_rank(profile.tier)
    if rank + 1 >= len(programme.tiers):
        return TierProgress(profile.tier, None, {})
    nxt = programme.tiers[rank + 1]
    totals = profile.totals(as_of_month)
    missing: dict[str, Any] = {}
    if nxt.spend_12m is not None:
        missing["spend"] = format_amount(max(0, nxt.spend_12m - totals.spend), programme.currency)
    if nxt.visits_12m is not None:
        missing["visits"] = max(0, nxt.visits_12m - totals.visits)
    if nxt.points_12m is not None:
        missing["points"] = max(0, nxt.points_12m - totals.points)
    return TierProgress(profile.tier, nxt.name, missing)
