"""Earning rules (`earning.rules[]`): the bonus points a purchase earns on top of its base points, and
what a return takes back of them. Pure functions, no clock, no I/O (docs/rules-and-rewards.md).

A rule's points are kept with the share of the purchase they were computed on, per category
(`matched`). A return takes back of each rule what its returned share of that matched spend is worth,
computed from the purchase's cumulative returns (so the order of the returns changes nothing), and
everything left when the purchase is fully returned: points are conserved exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from math import floor
from typing import Any

from loyalty.programme.rewards import EarningRule, RuleWhen

NO_CATEGORY = "*"  # a purchase without lines: the whole amount is one share


@dataclass(frozen=True)
class BasketLine:
    sku: str | None
    category: str
    amount: int  # minor units, this line's part of the amount paid


@dataclass(frozen=True)
class Basket:
    """What the rules look at: the purchase as paid, where and when, and who buys."""

    amount: int  # minor units
    lines: tuple[BasketLine, ...]
    store_id: str
    channel: str
    day: date  # programme zone
    tier: str  # held before the purchase
    segment: str | None


@dataclass(frozen=True)
class RulePoints:
    rule: str
    points: int
    matched: Mapping[str, int] = field(default_factory=dict)  # category -> minor units the points are on

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "points": self.points, "matched": dict(self.matched)}

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> RulePoints:
        matched = data.get("matched") or {}
        return RulePoints(str(data["rule"]), int(data["points"]), {k: int(v) for k, v in matched.items()})


def scaled_lines(lines: Sequence[tuple[str | None, str, int]], amount: int) -> tuple[BasketLine, ...]:
    """(sku, category, gross) lines scaled exactly to the amount paid (discounts spread by weight; the
    rounding remainder to the largest line), as the month buckets' categories are."""
    gross = sum(g for _, _, g in lines)
    if gross <= 0:
        return ()
    shares = [g * amount // gross for _, _, g in lines]
    largest = max(range(len(lines)), key=lambda i: (lines[i][2], -i))
    shares[largest] += amount - sum(shares)
    return tuple(BasketLine(sku, cat, share) for (sku, cat, _), share in zip(lines, shares, strict=True))


def whole_basket(basket: Basket) -> dict[str, int]:
    if not basket.lines:
        return {NO_CATEGORY: basket.amount}
    return _by_category(basket.lines)


def _by_category(lines: Iterable[BasketLine]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        if line.amount > 0:
            out[line.category] = out.get(line.category, 0) + line.amount
    return out


def _holds(when: RuleWhen, basket: Basket) -> bool:
    """The conditions about the whole transaction."""
    return not (
        (when.stores and basket.store_id not in when.stores)
        or (when.channels and basket.channel not in when.channels)
        or (when.start is not None and basket.day < when.start)
        or (when.end is not None and basket.day > when.end)
        or (when.tiers and basket.tier not in when.tiers)
        or (when.segments and basket.segment not in when.segments)
        or (when.min_amount is not None and basket.amount < when.min_amount)
    )


def _line_matches(when: RuleWhen, line: BasketLine) -> bool:
    return (not when.categories or line.category in when.categories) and (
        not when.skus or line.sku in when.skus
    )


def matched_share(when: RuleWhen, basket: Basket) -> dict[str, int] | None:
    """The part of the basket the rule applies to, per category; None when the rule does not match."""
    if not _holds(when, basket):
        return None
    if not when.by_line:
        return whole_basket(basket)
    share = _by_category(line for line in basket.lines if _line_matches(when, line))
    return share or None


def rule_points(
    rules: Sequence[EarningRule],
    basket: Basket,
    rate: int,
    unit: int,
    used: Mapping[str, int] | None = None,
) -> tuple[RulePoints, ...]:
    """The bonus of each rule that gives points, in programme order. `rate`: points per whole currency
    unit of the base (the tier's multiplier included); `unit`: minor units per currency unit; `used`:
    bonus points each capped rule already gave this customer this programme month."""
    used = used or {}
    out: list[RulePoints] = []
    for rule in rules:
        share = matched_share(rule.when, basket)
        if share is None:
            continue
        if rule.multiplier is not None:
            points = (rule.multiplier - 1) * (sum(share.values()) // unit) * rate
        else:
            points = int(rule.bonus_points or 0)
        if rule.cap is not None:
            points = max(0, min(points, rule.cap - used.get(rule.name, 0)))
        if points > 0:
            out.append(RulePoints(rule.name, points, share))
        if not rule.stackable:
            break
    return tuple(out)


def capped_rules(rules: Sequence[EarningRule]) -> frozenset[str]:
    return frozenset(rule.name for rule in rules if rule.cap is not None)


def cap_usage(points: Iterable[RulePoints], capped: frozenset[str]) -> dict[str, int]:
    """What these points add to the month's counters of the capped rules."""
    return {p.rule: p.points for p in points if p.rule in capped}


def worth(entry: RulePoints, returned: Mapping[str, int], whole: Mapping[str, int]) -> int:
    """How many of the rule's points `returned` (cumulative, per category) of the purchase is worth:
    in each category the returned part falls on the rule's matched spend in proportion."""
    total = sum(entry.matched.values())
    if total <= 0:
        return 0
    share = Fraction(0)
    for category, matched in entry.matched.items():
        spent = whole.get(category, 0)
        if spent > 0:
            share += Fraction(min(returned.get(category, 0), spent) * matched, spent)
    return min(entry.points, floor(entry.points * share / total))


def taken_back(
    entries: Sequence[RulePoints],
    whole: Mapping[str, int],
    before: Mapping[str, int],
    after: Mapping[str, int],
    fully_returned: bool,
) -> tuple[RulePoints, ...]:
    """What a return takes of each rule's points: worth(after) - worth(before), all that is left once the
    purchase is fully returned. `whole`: the purchase's spend per category; `before`/`after`: what was
    returned per category before and after this return."""
    out = []
    for entry in entries:
        already = worth(entry, before, whole)
        now = entry.points if fully_returned else worth(entry, after, whole)
        if now > already:
            out.append(RulePoints(entry.rule, now - already))
    return tuple(out)


def add_counts(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0) + value
    return out


def breakdown_view(base: int, rules: Iterable[RulePoints], sign: int = 1) -> list[dict[str, Any]]:
    """The answer's `points_breakdown`: base first, then each rule, summing to points_earned."""
    return [
        {"rule": "base", "points": sign * base},
        *({"rule": r.rule, "points": sign * r.points} for r in rules),
    ]
