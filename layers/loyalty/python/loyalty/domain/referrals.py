"""Referrals ("parrainage", `referrals` in the programme): whether a purchase carrying a referral code
rewards the referrer and the referee. Pure: the states are read by the caller (docs/rules-and-rewards.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from loyalty.programme.rewards import Referrals

WINDOW_DAYS = 365  # max_per_referrer counts the referrals rewarded in the 12 months before the purchase


@dataclass(frozen=True)
class ReferralFacts:
    """What the decision looks at, read before the purchase is written."""

    referee_id: str
    referee_purchases: int  # before this one
    amount: int  # minor units
    day: date  # programme zone
    referrer_id: str | None  # None: the code is unknown
    referrer_usable: bool  # the referrer's card exists, not erased, not blocked
    rewarded_days: tuple[str, ...] = ()  # the referrer's rewarded referrals (ISO days)


def recent(days: Iterable[str], day: date) -> list[str]:
    """The rewarded days still inside the 12 months before `day` (older ones are dropped)."""
    start = day - timedelta(days=WINDOW_DAYS)
    return sorted(d for d in days if start < date.fromisoformat(d) <= day)


def refusal(referrals: Referrals | None, facts: ReferralFacts) -> str | None:
    """Why no referral points are given (None: both are rewarded), first reason first."""
    if referrals is None:
        return "no_referral_programme"
    if facts.referrer_id is None:
        return "unknown_code"
    if facts.referrer_id == facts.referee_id:
        return "own_code"
    if facts.referee_purchases > 0:
        return "not_first_purchase"
    if facts.amount < referrals.min_amount:
        return "below_min_amount"
    if not facts.referrer_usable:
        return "referrer_unavailable"
    if len(recent(facts.rewarded_days, facts.day)) >= referrals.max_per_referrer:
        return "referrer_limit_reached"
    return None
