"""Earning rules and rewards in the programme: `earning.rules[]`, `tiers[].reward`,
`vouchers.season_months` and `referrals` (docs/rules-and-rewards.md). What they are, and how the
loader checks them (every error names the key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from loyalty.programme.model import ProgrammeError
from loyalty.programme.validation import Obj

MAX_RULES = 50  # the rules run at every ingest: a bound keeps a purchase's cost known
MAX_PERCENT = 100


@dataclass(frozen=True)
class RuleWhen:
    """All the given conditions must hold. `categories` and `skus` pick the lines a multiplier applies
    to (a line must match both when both are given); the others are about the whole transaction."""

    categories: tuple[str, ...] = ()
    skus: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    start: date | None = None  # programme-zone day, inclusive
    end: date | None = None  # inclusive
    tiers: tuple[str, ...] = ()  # the tier held before the purchase
    segments: tuple[str, ...] = ()  # the segment of the last monthly run
    min_amount: int | None = None  # minor units, on the whole basket

    @property
    def by_line(self) -> bool:
        return bool(self.categories or self.skus)


@dataclass(frozen=True)
class EarningRule:
    name: str
    when: RuleWhen
    multiplier: int | None = None  # adds (multiplier - 1) x the points of the matched share
    bonus_points: int | None = None  # fixed, once per transaction
    cap: int | None = None  # bonus points per customer per programme month for this rule
    stackable: bool = True  # False: a match stops the later rules


@dataclass(frozen=True)
class TierReward:
    """A voucher issued once when a customer enters the tier: `percent` off, or `value` (minor units)."""

    valid_days: int
    percent: int | None = None
    value: int | None = None

    @property
    def kind(self) -> str:
        return "percent" if self.percent is not None else "value"


@dataclass(frozen=True)
class Referrals:
    referrer_points: int
    referee_points: int
    min_amount: int  # minor units: the referee's first purchase must reach it
    max_per_referrer: int  # rewarded referrals per referrer per 12 months


def parse_rules(items: list[Obj], currency: str, tier_names: list[str]) -> tuple[EarningRule, ...]:
    if len(items) > MAX_RULES:
        raise ProgrammeError("earning.rules", f"at most {MAX_RULES} rules", len(items))
    rules = tuple(_parse_rule(item, currency, tier_names) for item in items)
    names = [rule.name for rule in rules]
    for index, name in enumerate(names):
        if name in names[:index] or name == "base":
            raise ProgrammeError(f"earning.rules[{index}].name", "is used twice (or is 'base')", name)
    return rules


def _parse_rule(item: Obj, currency: str, tier_names: list[str]) -> EarningRule:
    name = item.str("name")
    when_obj = item.obj("when", default={})
    when = RuleWhen(
        categories=_names(when_obj, "categories"),
        skus=_names(when_obj, "skus"),
        stores=_names(when_obj, "stores"),
        channels=_names(when_obj, "channels"),
        start=_day(when_obj, "from"),
        end=_day(when_obj, "to"),
        tiers=_names(when_obj, "tiers"),
        segments=_names(when_obj, "segments"),
        min_amount=when_obj.money("min_amount", currency, default=None),
    )
    when_obj.done()
    if when.start and when.end and when.end < when.start:
        raise ProgrammeError(f"{when_obj.path}.to", f"is before from ({when.start})", when.end.isoformat())
    for tier in when.tiers:
        if tier not in tier_names:
            raise ProgrammeError(f"{when_obj.path}.tiers", f"{tier!r} is not a tier of the programme", tier)
    multiplier = item.int("multiplier", default=None, minimum=2, maximum=100)
    bonus = item.int("bonus_points", default=None, minimum=1, maximum=1_000_000)
    if (multiplier is None) == (bonus is None):
        raise ProgrammeError(f"{item.path}.multiplier", "give exactly one of multiplier or bonus_points")
    cap = item.int("cap", default=None, minimum=1)
    stackable = item.bool("stackable", default=True)
    item.done()
    return EarningRule(name, when, multiplier, bonus, cap, stackable)


def _names(obj: Obj, key: str) -> tuple[str, ...]:
    value = obj._get(key, None)
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ProgrammeError(f"{obj.path}.{key}", "must be a non-empty list of non-empty strings", value)
    return tuple(value)


def _day(obj: Obj, key: str) -> date | None:
    value = obj.str(key, default=None)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ProgrammeError(f"{obj.path}.{key}", "must be a date YYYY-MM-DD", value) from exc


def parse_tier_reward(item: Obj | None, currency: str) -> TierReward | None:
    if item is None:
        return None
    percent = item.int("percent", default=None, minimum=1, maximum=MAX_PERCENT)
    value = item.money("value", currency, default=None)
    valid_days = item.int("valid_days", default=90, minimum=1, maximum=3660)
    if (percent is None) == (value is None):
        raise ProgrammeError(f"{item.path}.percent", "give exactly one of percent or value")
    item.done()
    return TierReward(valid_days, percent, value)


def parse_season_months(obj: Obj) -> tuple[int, ...]:
    value = obj._get("season_months", [])
    if not isinstance(value, list) or any(
        isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= 12 for m in value
    ):
        raise ProgrammeError(f"{obj.path}.season_months", "must be a list of months 1 to 12", value)
    if len(set(value)) != len(value):
        raise ProgrammeError(f"{obj.path}.season_months", "lists a month twice", value)
    return tuple(sorted(value))


def parse_referrals(obj: Obj | None, currency: str) -> Referrals | None:
    if obj is None:
        return None
    referrals = Referrals(
        referrer_points=obj.int("referrer_points", minimum=0, maximum=1_000_000),
        referee_points=obj.int("referee_points", minimum=0, maximum=1_000_000),
        min_amount=obj.money("min_amount", currency, default="0.01"),
        max_per_referrer=obj.int("max_per_referrer", default=10, minimum=1, maximum=1000),
    )
    obj.done()
    return referrals
