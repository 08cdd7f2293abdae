"""Loading a programme file (JSON or YAML) and validating it into the model, with errors that name
the key and the value. Plain Python (no pydantic), so a Lambda cold start stays cheap; the same loader
runs at `cdk synth`, so a bad file fails the synth."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyalty.money import AmountError, parse_amount
from loyalty.programme.defaults import DEFAULT_SEGMENT_RULES
from loyalty.programme.model import (
    EXPIRY_POLICIES,
    MAX_CALENDAR_YEARS,
    MAX_PENDING_DAYS,
    MAX_ROLLING_MONTHS,
    MAX_SEGMENT_STABILITY,
    Dormancy,
    Experiment,
    FixedThresholds,
    Programme,
    ProgrammeError,
    Relational,
    Scoring,
    SegmentRule,
    Tier,
    Vouchers,
)
from loyalty.programme.rewards import parse_referrals, parse_rules, parse_season_months, parse_tier_reward
from loyalty.programme.validation import MISSING, Obj


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
    root = Obj(data, "")
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

    tiers = tuple(_parse_tier(item, currency) for item in root.list("tiers", minimum=1))
    _check_tiers(tiers)
    earning_rules = parse_rules(earning.list("rules", default=[]), currency, [t.name for t in tiers])
    earning.done()

    vouchers_obj = root.obj("vouchers", default={})
    vouchers = Vouchers(
        block_points=vouchers_obj.int("block_points", default=500, minimum=1),
        block_value=vouchers_obj.money("block_value", currency, default="5.00"),
        valid_days=vouchers_obj.int("valid_days", default=90, minimum=1),
        season_months=parse_season_months(vouchers_obj),
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
        for item in segments_obj.list("rules", minimum=1, default=DEFAULT_SEGMENT_RULES)
    )
    names = [rule.name for rule in rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise ProgrammeError(f"segments.rules[{index}].name", "is used twice", name)
    fallback = segments_obj.str("fallback", default="Others")
    fallback_rank = segments_obj.int("fallback_rank", default=None)
    stability = segments_obj.int("stability", default=0, minimum=0, maximum=MAX_SEGMENT_STABILITY)
    segments_obj.done()
    experiments = _parse_experiments(root.list("experiments", default=[]), [*names, fallback])

    value = root.obj("value", default={})
    expected_lifetime_months = value.int("expected_lifetime_months", default=36, minimum=1)
    value.done()

    schedule = root.obj("schedule", default={})
    schedule_day = schedule.int("day_of_month", default=1, minimum=1, maximum=28)
    schedule_hour = schedule.int("hour", default=3, minimum=0, maximum=23)
    schedule.done()

    referrals = parse_referrals(root.obj("referrals", default=None), currency)
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
        earning_rules=earning_rules,
        referrals=referrals,
        segment_stability=stability,
    )


def _parse_tier(item: Obj, currency: str) -> Tier:
    name = item.str("name")
    multiplier = item.int("multiplier", default=1, minimum=1, maximum=100)
    conditions = item.obj("any_of", default={})
    spend = conditions.money("spend_12m", currency, default=None)
    visits = conditions.int("visits_12m", default=None, minimum=1)
    points = conditions.int("points_12m", default=None, minimum=1)
    conditions.done()
    reward = parse_tier_reward(item.obj("reward", default=None), currency)
    item.done()
    return Tier(
        name=name, multiplier=multiplier, spend_12m=spend, visits_12m=visits, points_12m=points, reward=reward
    )


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


def _parse_scoring(obj: Obj, currency: str) -> Scoring:
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


def _parse_segment_rule(item: Obj) -> SegmentRule:
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


def _period(obj: Obj, key: str, default: object) -> str | None:
    value = obj.str(key, default=default)
    if value is None:
        return None
    try:
        datetime.strptime(value, "%Y-%m")
    except ValueError as exc:
        raise ProgrammeError(obj._key(key), "must be a month written YYYY-MM", value) from exc
    return value


def _segment_names(obj: Obj, key: str, known: list[str]) -> tuple[str, ...]:
    value = obj.list_raw(key)
    if not value:
        raise ProgrammeError(obj._key(key), "must name at least one segment", value)
    for index, name in enumerate(value):
        if name not in known:
            raise ProgrammeError(
                f"{obj._key(key)}[{index}]", f"is not a segment of the programme {known}", name
            )
    return tuple(value)


def _parse_experiments(items: list[Obj], known_segments: list[str]) -> tuple[Experiment, ...]:
    experiments: list[Experiment] = []
    for item in items:
        name = item.str("name")
        if any(e.name == name for e in experiments):
            raise ProgrammeError(item._key("name"), "is used twice", name)
        experiment = Experiment(
            name=name,
            segments=_segment_names(item, "segments", known_segments),
            holdout_percent=item.int("holdout_percent", minimum=1, maximum=50),
            start=_period(item, "from", MISSING) or "",
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
