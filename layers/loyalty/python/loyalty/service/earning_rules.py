"""The earning rules of one transaction, between service/transactions.py and the pure rules of
domain/earning_rules.py: the basket a purchase is, the points each rule gives it, and what a return
takes back of them (docs/rules-and-rewards.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from loyalty.domain.earning import base_rate, share_of
from loyalty.domain.earning_rules import (
    NO_CATEGORY,
    Basket,
    RulePoints,
    add_counts,
    breakdown_view,
    cap_usage,
    capped_rules,
    rule_points,
    scaled_lines,
    taken_back,
)
from loyalty.domain.lots import is_pending
from loyalty.domain.profile import Profile
from loyalty.money import minor_units
from loyalty.ports import StoredTransaction
from loyalty.programme import Programme

if TYPE_CHECKING:  # service/transactions.py imports this module
    from loyalty.service.transactions import Transaction


@dataclass(frozen=True)
class PurchaseRules:
    points: tuple[RulePoints, ...] = ()
    usage: Mapping[str, int] = field(default_factory=dict)  # what the capped rules' counters gain

    @property
    def bonus(self) -> int:
        return sum(p.points for p in self.points)

    def view(self, total: int) -> list[dict[str, Any]]:
        return breakdown_view(total - self.bonus, self.points)

    def stored(self) -> list[dict[str, Any]]:
        return [p.to_dict() for p in self.points]


@dataclass(frozen=True)
class ReturnRules:
    points: tuple[RulePoints, ...] = ()
    returned_categories: dict[str, int] | None = None  # the purchase's new cumulative returns (rules only)

    @property
    def bonus(self) -> int:
        return sum(p.points for p in self.points)

    def view(self, total: int) -> list[dict[str, Any]]:
        """`total`: the return's points_earned (negative)."""
        return breakdown_view(-total - self.bonus, self.points, sign=-1)


def basket_of(profile: Profile, txn: Transaction, programme: Programme) -> Basket:
    request = txn.request
    return Basket(
        amount=txn.amount,
        lines=scaled_lines(txn.lines, txn.amount),
        store_id=request.store_id,
        channel=request.channel,
        day=request.occurred_at.astimezone(programme.zone).date(),
        tier=profile.tier,
        segment=profile.segment,
    )


def purchase_rules(
    profile: Profile, txn: Transaction, programme: Programme, cap_used: Mapping[str, int] | None = None
) -> PurchaseRules:
    """The rules' points for this purchase by `profile` (the profile before it). A programme earning
    nothing (a blocked member's purchase is priced at 0 points) gives no bonus either."""
    if not programme.earning_rules or programme.points_per_unit == 0:
        return PurchaseRules()
    unit = 10 ** minor_units(programme.currency)
    rate = base_rate(profile, programme)
    points = rule_points(programme.earning_rules, basket_of(profile, txn, programme), rate, unit, cap_used)
    return PurchaseRules(points, cap_usage(points, capped_rules(programme.earning_rules)))


def needs_counter(profile: Profile, txn: Transaction, programme: Programme) -> bool:
    """Whether a capped rule would give this purchase points (then the month's counter is read)."""
    return bool(purchase_rules(profile, txn, programme).usage)


REFERRAL = "referral"  # the referee's points in a purchase's breakdown (matched on nothing)


def with_referral(rules: PurchaseRules, points: int) -> PurchaseRules:
    """The referee's referral points as one more entry of the purchase's breakdown: matched on no spend,
    so no partial return takes them; a full return within the window does (return_rules)."""
    if points <= 0:
        return rules
    return replace(rules, points=(*rules.points, RulePoints(REFERRAL, points, {})))


def within_window(original: StoredTransaction, returned_at: datetime, programme: Programme) -> bool:
    """Whether a return falls inside its purchase's return window (its points still pending)."""
    earned_on = datetime.fromisoformat(original.occurred_at).astimezone(programme.zone).date()
    return is_pending(earned_on, programme, returned_at.astimezone(programme.zone).date())


def return_rules(
    original: StoredTransaction, txn: Transaction, categories: Mapping[str, int], in_window: bool = False
) -> ReturnRules:
    """What this return of `original` takes back of its rules' points. `categories`: the return's own
    spend per category (from its lines), empty for a return without lines (then in proportion). The
    referral entry comes back only with a full return inside the window (`in_window`)."""
    if not original.points_breakdown:
        return ReturnRules()
    entries = [RulePoints.from_dict(e) for e in original.points_breakdown]
    fully = original.amount - original.returned - txn.amount <= 0
    if not (fully and in_window):
        entries = [e for e in entries if e.rule != REFERRAL]
    whole = dict(original.categories) or {NO_CATEGORY: original.amount}
    if not original.categories:
        now = {NO_CATEGORY: txn.amount}
    else:
        now = dict(categories) or share_of(original.categories, txn.amount, original.amount)
    before = dict(original.returned_categories)
    after = {k: min(v, whole.get(k, v)) for k, v in add_counts(before, now).items()}
    return ReturnRules(taken_back(entries, whole, before, after, fully), after)
