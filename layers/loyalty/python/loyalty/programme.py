"""The loyalty programme: one file (JSON or YAML), validated at load with errors that name the key.

Everything a retailer configures lives here: time zone and currency, earning, tiers, vouchers,
expiry, RFM scoring and the ordered segment rules. The loader is plain Python (no pydantic) so a
Lambda cold start stays cheap; the same loader runs at `cdk synth`, so a bad file fails the synth.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyalty.money import AmountError, parse_amount

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


EXPIRY_POLICIES = ("inactivity", "rolling", "calendar")
# They bound the customer item: one pending entry per earning day in the window, one lot per earning
# month over the policy's horizon (tests/unit/test_item_size.py measures the worst case).
MAX_PENDING_DAYS = 60
MAX_ROLLING_MONTHS = 24
MAX_CALENDAR_YEARS = 2


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


# ---------------------------------------------------------------------------------------------
# Loading and validation


def load_programme(path: str | Path) -> Programme:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgrammeError("file", f"cannot read {path}: {exc.strerror}") from exc
    if path.suffix in (".yaml", ".yml"):
        import yaml  # only the tools and synth read YAML; the Lambdas get JSON

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ProgrammeError("file", f"{path} is not valid YAML: {exc}") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ProgrammeError("file", f"{path} is not valid JSON: {exc}") from exc
    return parse_programme(data)


def parse_programme(data: object) -> Programme:
    root = _Obj(data, "")
    currency = root.str("currency", default="EUR")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ProgrammeError("currency", "must be an ISO 4217 code such as EUR", currency)
    timezone = root.str("timezone", default="Europe/Paris")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ProgrammeError("timezone", "is not a known IANA time zone", timezone) from exc

    earning = root.obj("earning", default={})
    points_per_unit = earning.int("points_per_unit", default=1, minimum=0)
    max_age_days = earning.int("max_age_days", default=730, minimum=1)
    pending_days = earning.int("pending_days", default=0, minimum=0, maximum=MAX_PENDING_DAYS)
    earning.done()

    tiers = tuple(_parse_tier(item, currency) for item in root.list("tiers", minimum=1))
    _check_tiers(tiers)

    vouchers_obj = root.obj("vouchers", default={})
    vouchers = Vouchers(
        block_points=vouchers_obj.int("block_points", default=500, minimum=1),
        block_value=vouchers_obj.money("block_value", currency, default="5.00"),
        valid_days=vouchers_obj.int("valid_days", default=90, minimum=1),
    )
    vouchers_obj.done()

    expiry = root.obj("expiry", default={})
    expiry_policy = expiry.str("policy", default="inactivity")
    if expiry_policy not in EXPIRY_POLICIES:
        raise ProgrammeError("expiry.policy", f"must be one of {', '.join(EXPIRY_POLICIES)}", expiry_policy)
    expiry_months = expiry.int("months_without_purchase", default=24, minimum=1)
    rolling_months = expiry.int("months", default=12, minimum=1, maximum=MAX_ROLLING_MONTHS)
    calendar_years = expiry.int("years", default=1, minimum=0, maximum=MAX_CALENDAR_YEARS)
    warn_days = expiry.int("warn_days", default=30, minimum=0, maximum=365)
    expiry.done()

    scoring = _parse_scoring(root.obj("scoring", default={}), currency)

    segments_obj = root.obj("segments", default={})
    dormancy_obj = segments_obj.obj("dormancy", default={})
    dormancy = Dormancy(
        k=dormancy_obj.decimal("k", default="3", minimum=Decimal(1)),
        floor_days=dormancy_obj.int("floor_days", default=90, minimum=1),
        warn_k=dormancy_obj.decimal("warn_k", default="1.5", minimum=Decimal(1)),
    )
    if dormancy.warn_k >= dormancy.k:
        raise ProgrammeError(
            "segments.dormancy.warn_k",
            f"must be below segments.dormancy.k ({dormancy.k})",
            str(dormancy.warn_k),
        )
    dormancy_obj.done()
    relational_obj = segments_obj.obj("relational", default={})
    relational = Relational(active_days=relational_obj.int("active_days", default=60, minimum=1))
    relational_obj.done()
    rules = tuple(
        _parse_segment_rule(item)
        for item in segments_obj.list("rules", minimum=1, default=_DEFAULT_SEGMENT_RULES)
    )
    names = [rule.name for rule in rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ProgrammeError(f"segments.rules[{index}].name", "is used twice", name)
    fallback = segments_obj.str("fallback", default="Others")
    fallback_rank = segments_obj.int("fallback_rank", default=None)
    segments_obj.done()
    experiments = _parse_experiments(root.list("experiments", default=[]), [*names, fallback])

    value = root.obj("value", default={})
    expected_lifetime_months = value.int("expected_lifetime_months", default=36, minimum=1)
    value.done()

    schedule = root.obj("schedule", default={})
    schedule_day = schedule.int("day_of_month", default=1, minimum=1, maximum=28)
    schedule_hour = schedule.int("hour", default=3, minimum=0, maximum=23)
    schedule.done()

    name = root.str("name", default="default")
    root.done()
    return Programme(
        name=name,
        timezone=timezone,
        currency=currency,
        points_per_unit=points_per_unit,
        tiers=tiers,
        vouchers=vouchers,
        expiry_months=expiry_months,
        scoring=scoring,
        segments=rules,
        fallback_segment=fallback,
        dormancy=dormancy,
        expected_lifetime_months=expected_lifetime_months,
        schedule_day=schedule_day,
        schedule_hour=schedule_hour,
        max_age_days=max_age_days,
        pending_days=pending_days,
        expiry_policy=expiry_policy,
        expiry_rolling_months=rolling_months,
        expiry_calendar_years=calendar_years,
        expiry_warn_days=warn_days,
        experiments=experiments,
        fallback_rank=fallback_rank,
        source=data if isinstance(data, dict) else {},
        relational=relational,
    )


def _parse_tier(item: _Obj, currency: str) -> Tier:
    name = item.str("name")
    multiplier = item.int("multiplier", default=1, minimum=1, maximum=100)
    conditions = item.obj("any_of", default={})
    spend = conditions.money("spend_12m", currency, default=None)
    visits = conditions.int("visits_12m", default=None, minimum=1)
    points = conditions.int("points_12m", default=None, minimum=1)
    conditions.done()
    item.done()
    return Tier(name=name, multiplier=multiplier, spend_12m=spend, visits_12m=visits, points_12m=points)


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers[0].is_base:
        raise ProgrammeError("tiers[0].any_of", "the first tier is the base tier and takes no conditions")
    seen: set[str] = set()
    for index, tier in enumerate(tiers):
        if tier.name in seen:
            raise ProgrammeError(f"tiers[{index}].name", "is used twice", tier.name)
        seen.add(tier.name)
        if index and tier.is_base:
            raise ProgrammeError(f"tiers[{index}].any_of", "needs at least one condition", tier.name)


def _parse_scoring(obj: _Obj, currency: str) -> Scoring:
    method = obj.str("method", default="quintiles")
    if method not in ("quintiles", "fixed"):
        raise ProgrammeError("scoring.method", "must be 'quintiles' or 'fixed'", method)
    fixed = None
    fixed_obj = obj.obj("fixed", default=None)
    if fixed_obj is not None:
        recency = fixed_obj.ascending_ints("recency_days")
        frequency = fixed_obj.ascending_ints("frequency")
        monetary_raw = fixed_obj.list_raw("monetary")
        if len(monetary_raw) != 4:
            raise ProgrammeError("scoring.fixed.monetary", "needs 4 ascending amounts", monetary_raw)
        monetary = []
        for index, raw in enumerate(monetary_raw):
            try:
                monetary.append(parse_amount(raw, currency))
            except AmountError as exc:
                raise ProgrammeError(f"scoring.fixed.monetary[{index}]", str(exc), raw) from exc
        if monetary != sorted(set(monetary)):
            raise ProgrammeError("scoring.fixed.monetary", "must be strictly ascending", monetary_raw)
        fixed_obj.done()
        fixed = FixedThresholds(recency, frequency, tuple(monetary))  # type: ignore[arg-type]
    if method == "fixed" and fixed is None:
        raise ProgrammeError("scoring.fixed", "is required when scoring.method is 'fixed'")
    obj.done()
    return Scoring(method=method, fixed=fixed)


def _parse_segment_rule(item: _Obj) -> SegmentRule:
    name = item.str("name")
    when = item.obj("when", default={})
    ranges = {axis: when.score_range(axis) for axis in ("r", "f", "m")}
    scored = when.bool("scored", default=True)
    dormant = when.bool("dormant", default=None)
    p_alive = when.probability_range("p_alive")
    value_top_half = when.bool("value_top_half", default=None)
    relationally_active = when.bool("relationally_active", default=None)
    when.done()
    description = item.str("description", default="")
    rank = item.int("rank", default=None)
    item.done()
    if not scored and any(ranges.values()):
        raise ProgrammeError(f"{when.path}", "an unscored rule (scored: false) cannot test r, f or m")
    if not scored and (p_alive is not None or value_top_half is not None):
        raise ProgrammeError(
            f"{when.path}", "an unscored rule (scored: false) cannot test p_alive or value_top_half"
        )
    return SegmentRule(
        name=name,
        scored=scored,
        dormant=dormant,
        description=description,
        p_alive=p_alive,
        value_top_half=value_top_half,
        relationally_active=relationally_active,
        rank=rank,
        **ranges,
    )


def _period(obj: _Obj, key: str, default: object) -> str | None:
    value = obj.str(key, default=default)
    if value is None:
        return None
    try:
        datetime.strptime(value, "%Y-%m")
    except ValueError as exc:
        raise ProgrammeError(obj._key(key), "must be a month written YYYY-MM", value) from exc
    return value


def _segment_names(obj: _Obj, key: str, known: list[str]) -> tuple[str, ...]:
    value = obj.list_raw(key)
    if not value:
        raise ProgrammeError(obj._key(key), "must name at least one segment", value)
    for index, name in enumerate(value):
        if name not in known:
            raise ProgrammeError(
                f"{obj._key(key)}[{index}]", f"is not a segment of the programme {known}", name
            )
    return tuple(value)


def _parse_experiments(items: list[_Obj], known_segments: list[str]) -> tuple[Experiment, ...]:
    experiments: list[Experiment] = []
    for item in items:
        name = item.str("name")
        if any(e.name == name for e in experiments):
            raise ProgrammeError(item._key("name"), "is used twice", name)
        experiment = Experiment(
            name=name,
            segments=_segment_names(item, "segments", known_segments),
            holdout_percent=item.int("holdout_percent", minimum=1, maximum=50),
            start=_period(item, "from", _MISSING) or "",
            end=_period(item, "to", None),
            success_segments=_segment_names(item, "success_segments", known_segments),
        )
        if experiment.end is not None and experiment.end < experiment.start:
            raise ProgrammeError(
                item._key("to"), f"must not be before from ({experiment.start})", experiment.end
            )
        item.done()
        experiments.append(experiment)
    return tuple(experiments)


_MISSING = object()


class _Obj:
    """A JSON object being validated; remembers which keys were read so extras are reported."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ProgrammeError(path or "(root)", "must be an object", data)
        self.data: dict[str, Any] = data
        self.path = path
        self.read: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _get(self, key: str, default: object) -> object:
        self.read.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise ProgrammeError(self._key(key), "is required")
        return default

    def done(self) -> None:
        extra = sorted(set(self.data) - self.read)
        if extra:
            raise ProgrammeError(self._key(extra[0]), "is not a known setting", self.data[extra[0]])

    def str(self, key: str, default: object = _MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if value == default == "":
            return ""
        if not isinstance(value, str) or not value.strip():
            raise ProgrammeError(self._key(key), "must be a non-empty string", value)
        return value

    def bool(self, key: str, default: object = _MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, bool):
            raise ProgrammeError(self._key(key), "must be true or false", value)
        return value

    def int(
        self, key: str, default: object = _MISSING, minimum: int | None = None, maximum: int | None = None
    ) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProgrammeError(self._key(key), "must be a whole number", value)
        if minimum is not None and value < minimum:
            raise ProgrammeError(self._key(key), f"must be at least {minimum}", value)
        if maximum is not None and value > maximum:
            raise ProgrammeError(self._key(key), f"must be at most {maximum}", value)
        return value

    def decimal(self, key: str, default: object = _MISSING, minimum: Decimal | None = None) -> Decimal:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ProgrammeError(self._key(key), "must be a number written as an integer or string", value)
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ProgrammeError(self._key(key), "must be a decimal number", value) from exc
        if not number.is_finite() or (minimum is not None and number < minimum):
            raise ProgrammeError(self._key(key), f"must be a finite number >= {minimum}", value)
        return number

    def money(self, key: str, currency: str, default: object = _MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        try:
            return parse_amount(value, currency)
        except AmountError as exc:
            raise ProgrammeError(self._key(key), str(exc), value) from exc

    def obj(self, key: str, default: object = _MISSING) -> Any:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        return _Obj(value, self._key(key))

    def list(self, key: str, minimum: int = 0, default: object = _MISSING) -> list[_Obj]:
        value = self._get(key, default)
        if not isinstance(value, list) or len(value) < minimum:
            raise ProgrammeError(self._key(key), f"must be a list of at least {minimum} item(s)", value)
        return [_Obj(item, f"{self._key(key)}[{index}]") for index, item in enumerate(value)]

    def list_raw(self, key: str) -> list[Any]:
        value = self._get(key, _MISSING)
        if not isinstance(value, list):
            raise ProgrammeError(self._key(key), "must be a list", value)
        return value

    def ascending_ints(self, key: str) -> tuple[int, ...]:
        value = self.list_raw(key)
        if (
            len(value) != 4
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)
            or list(value) != sorted(set(value))
        ):
            raise ProgrammeError(self._key(key), "needs 4 strictly ascending whole numbers", value)
        return tuple(value)

    def probability_range(self, key: str) -> ProbabilityRange | None:
        value = self._get(key, None)
        if value is None:
            return None
        problem = "must be a range [low, high] of probabilities, 0 <= low <= high <= 1"
        if not isinstance(value, list) or len(value) != 2:
            raise ProgrammeError(self._key(key), problem, value)
        bounds = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise ProgrammeError(self._key(key), problem, value)
            try:
                bounds.append(Decimal(str(v)))
            except InvalidOperation as exc:
                raise ProgrammeError(self._key(key), problem, value) from exc
        if not all(b.is_finite() for b in bounds) or not Decimal(0) <= bounds[0] <= bounds[1] <= Decimal(1):
            raise ProgrammeError(self._key(key), problem, value)
        return ProbabilityRange(bounds[0], bounds[1])

    def score_range(self, key: str) -> ScoreRange | None:
        value = self._get(key, None)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
            or not SCORE_MIN <= value[0] <= value[1] <= SCORE_MAX
        ):
            raise ProgrammeError(
                self._key(key), "must be a score 1-5 or a range [low, high] within 1-5", value
            )
        return ScoreRange(value[0], value[1])


# The default 11-segment RFM map plus Dormant and Engaged non-buyers, in match order (first match wins).
# Engaged non-buyers (dormant but relationally active) come before every R/F/M rule and before Dormant:
# a silent buyer who still interacts is kept warm, not treated as lost.
# Order matters: "Can't lose them" (R1, high F and M) must come before "At risk" and
# "Hibernating", which would otherwise swallow it; Lost (no purchase in 12 months) is unscored.
_DEFAULT_SEGMENT_RULES: list[dict[str, Any]] = [
    {"name": "Lost", "when": {"scored": False}, "description": "No purchase in 12 months"},
    {
        "name": "Engaged non-buyers",
        "when": {"dormant": True, "relationally_active": True},
        "description": "No purchase for longer than their own cycle, but interacting: keep them warm",
    },
    {"name": "Champions", "when": {"r": [4, 5], "f": [4, 5], "m": [4, 5]}},
    {"name": "Can't lose them", "when": {"r": [1, 1], "f": [4, 5], "m": [4, 5]}},
    {
        "name": "Dormant, worth winning back",
        "when": {"dormant": True, "p_alive": [0.3, 1], "value_top_half": True},
        "description": "Dormant, but P(alive) >= 0.3 and a value estimate in the top half",
    },
    {"name": "Dormant", "when": {"dormant": True}, "description": "Past k x own purchase cycle"},
    {"name": "At risk", "when": {"r": [1, 2], "f": [3, 5]}},
    {"name": "Loyal", "when": {"r": [3, 5], "f": [4, 5]}},
    {"name": "Potential loyalists", "when": {"r": [4, 5], "f": [2, 3]}},
    {"name": "New", "when": {"r": [5, 5], "f": [1, 1]}},
    {"name": "Promising", "when": {"r": [4, 4], "f": [1, 1]}},
    {"name": "Need attention", "when": {"r": [3, 3], "f": [2, 3]}},
    {"name": "About to sleep", "when": {"r": [3, 3], "f": [1, 1]}},
    {"name": "Hibernating", "when": {"r": [1, 2], "f": [1, 2]}},
]
