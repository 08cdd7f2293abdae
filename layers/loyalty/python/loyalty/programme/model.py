"""The programme's model: what a validated programme file becomes (tiers, earning, vouchers, expiry,
scoring, segment rules, experiments), and the bounds the loader enforces."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # programme/rewards.py imports this module
    from loyalty.programme.rewards import EarningRule, Referrals, TierReward

SCORE_MIN, SCORE_MAX = 1, 5


class ProgrammeError(ValueError):
    """A programme file that does not validate. `key` is the dotted path of the bad value."""

    def __init__(self, key: str, message: str, value: object = None) -> None:
        shown = "" if value is None else f" (got {value!r})"
        super().__init__(f"programme.{key}: {message}{shown}")
        self.key = key
        self.value = value


@dataclass(frozen=True)
class Tier:
    """A tier and its any-of conditions over the trailing 12 months. The first tier has none."""

    name: str
    multiplier: int
    spend_12m: int | None = None  # minor units
    visits_12m: int | None = None
    points_12m: int | None = None
    reward: TierReward | None = None  # a voucher on entering the tier (programme/rewards.py)

    @property
    def is_base(self) -> bool:
        return self.spend_12m is None and self.visits_12m is None and self.points_12m is None

    def qualifies(self, spend_12m: int, visits_12m: int, points_12m: int) -> bool:
        if self.is_base:
            return True
        return (
            (self.spend_12m is not None and spend_12m >= self.spend_12m)
            or (self.visits_12m is not None and visits_12m >= self.visits_12m)
            or (self.points_12m is not None and points_12m >= self.points_12m)
        )


@dataclass(frozen=True)
class ScoreRange:
    low: int
    high: int

    def __contains__(self, score: object) -> bool:
        return isinstance(score, int) and self.low <= score <= self.high


@dataclass(frozen=True)
class ProbabilityRange:
    low: Decimal
    high: Decimal

    def __contains__(self, value: object) -> bool:
        return isinstance(value, Decimal) and self.low <= value <= self.high


@dataclass(frozen=True)
class SegmentRule:
    """One named segment. All given conditions must hold; the first matching rule wins.

    `scored: false` matches customers without a purchase in 12 months (not RFM-scored);
    `dormant: true` matches customers past their own purchase cycle (see Dormancy).
    `p_alive: [low, high]` matches a BG/NBD P(alive) within the range (customers without one never
    match); `value_top_half: true` a value estimate above the median of the active customers.
    """

    name: str
    r: ScoreRange | None = None
    f: ScoreRange | None = None
    m: ScoreRange | None = None
    scored: bool = True
    dormant: bool | None = None
    description: str = ""
    p_alive: ProbabilityRange | None = None
    value_top_half: bool | None = None
    relationally_active: bool | None = None  # interacted within segments.relational.active_days
    rank: int | None = None  # higher is better (Champions highest): CustomerSegmentChanged.direction


@dataclass(frozen=True)
class Experiment:
    """A marketing experiment: customers of `segments` are split into treatment and holdout (by their
    ab_bucket and the experiment's name, domain/experiments.py) for the periods from..to (inclusive,
    'YYYY-MM'; no `to`: until removed). `success_segments` are the "better" destinations whose uplift
    the run measures (treatment rate minus holdout rate)."""

    name: str
    segments: tuple[str, ...]
    holdout_percent: int
    start: str
    end: str | None
    success_segments: tuple[str, ...]

    def running(self, period: str) -> bool:
        return self.start <= period and (self.end is None or period <= self.end)


@dataclass(frozen=True)
class FixedThresholds:
    """Cut points for fixed scoring, 4 ascending values each.

    R: days since last purchase; fewer days scores higher (<= r[0] -> 5, ... > r[3] -> 1).
    F and M: more scores higher (< f[0] -> 1, ... >= f[3] -> 5). M is in minor units.
    """

    recency_days: tuple[int, int, int, int]
    frequency: tuple[int, int, int, int]
    monetary: tuple[int, int, int, int]


@dataclass(frozen=True)
class Scoring:
    method: str  # "quintiles" or "fixed"
    fixed: FixedThresholds | None = None


@dataclass(frozen=True)
class Dormancy:
    """Dormant: no purchase for more than k x the customer's own average purchase interval,
    and never fewer than floor_days. A single purchase day uses the programme-wide median."""

    k: Decimal = Decimal(3)
    floor_days: int = 90
    warn_k: Decimal = Decimal("1.5")  # CustomerOverdue past warn_k x own cycle (below k: before dormancy)


@dataclass(frozen=True)
class Relational:
    """Relationally active: an interaction (POST /v1/customers/{id}/interactions) within active_days."""

    active_days: int = 60


@dataclass(frozen=True)
class Vouchers:
    block_points: int = 500
    block_value: int = 500  # minor units
    valid_days: int = 90
    season_months: tuple[int, ...] = ()  # the run for the month before converts balances into vouchers


EXPIRY_POLICIES = ("inactivity", "rolling", "calendar")
# They bound the customer item: one pending entry per earning day in the window, one lot per earning
# month over the policy's horizon (tests/unit/test_item_size.py measures the worst case).
MAX_PENDING_DAYS = 60
MAX_ROLLING_MONTHS = 24
MAX_CALENDAR_YEARS = 2
# Steps of segment stability: beyond 2 of 5 quintiles a segment would hold customers it no longer describes.
MAX_SEGMENT_STABILITY = 2


@dataclass(frozen=True)
class Programme:
    name: str
    timezone: str
    currency: str
    points_per_unit: int
    tiers: tuple[Tier, ...]
    vouchers: Vouchers
    expiry_months: int
    scoring: Scoring
    segments: tuple[SegmentRule, ...]
    fallback_segment: str
    dormancy: Dormancy
    expected_lifetime_months: int
    schedule_day: int = 1
    schedule_hour: int = 3
    # The API refuses transactions older than this (older history goes through `loyalty import`).
    max_age_days: int = 730
    # The points lifecycle (domain/lots.py): days a purchase's points stay pending (the return
    # window), the expiry policy (inactivity | rolling | calendar) with its months or years, and how
    # many days ahead PointsExpiring goes out.
    pending_days: int = 0
    expiry_policy: str = "inactivity"
    expiry_rolling_months: int = 12
    expiry_calendar_years: int = 1
    expiry_warn_days: int = 30
    experiments: tuple[Experiment, ...] = ()
    fallback_rank: int | None = None
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    relational: Relational = field(default_factory=Relational)
    earning_rules: tuple[EarningRule, ...] = ()  # docs/rules-and-rewards.md
    referrals: Referrals | None = None
    # Segment stability (hysteresis, domain/segments.py): a customer keeps their segment while it is
    # within this many score steps on one of R, F, M (0: off, strict first match every month).
    segment_stability: int = 0

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def tier(self, name: str) -> Tier:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)

    def tier_or_base(self, name: str) -> Tier:
        """The named tier, or the base tier for a name the programme no longer has."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        return self.base_tier

    def segment_rank(self, name: str | None) -> int | None:
        """The segment's `rank` (higher is better); None for no segment or one without a rank."""
        if name is not None and name == self.fallback_segment:
            return self.fallback_rank
        return next((rule.rank for rule in self.segments if rule.name == name), None)

    def tier_rank(self, name: str) -> int:
        for rank, tier in enumerate(self.tiers):
            if tier.name == name:
                return rank
        return 0

    @property
    def base_tier(self) -> Tier:
        return self.tiers[0]

    def month_of(self, instant: datetime) -> str:
        """The programme month ('YYYY-MM') an aware instant falls in."""
        return instant.astimezone(self.zone).strftime("%Y-%m")

    def to_json(self) -> str:
        """Canonical JSON of the validated source, as shipped to the Lambdas."""
        return json.dumps(self.source, sort_keys=True, separators=(",", ":"))
