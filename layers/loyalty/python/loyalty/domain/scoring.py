"""RFM facts and scores from the customer profile alone (pure: no AWS, no clock).

The run window
--------------
A reclassification run *as of* a date D (a date in the programme's time zone) classifies the
**period** P = the last complete programme month before D: as of 2026-03-01 (or any day of March
2026) the period is 2026-02. Its 12 months are P-11 .. P (2025-03 .. 2026-02) and its
**reference day** is the first day after the period (2026-03-01). Everything is measured at the
reference day, from the profile's monthly buckets, so a run is deterministic whatever the day of
the month it runs on and whatever arrived after the period:

- R = days from the last purchase day inside the 12 months to the reference day (>= 1);
  the purchase day comes from the bucket's day bitmask, so later purchases do not move it;
- F = purchases (visits) in the 12 months; M = net spend in the 12 months (minor units);
- active = at least one purchase in the 12 months; inactive customers are not scored (Lost);
- a customer whose first purchase is on or after the reference day is not classified at all.

The buckets keep 13 months (HISTORY_MONTHS), so a run for P must happen before month P+2 starts
(the schedule runs on day 1-28 of P+1).

Scores
------
Each axis is scored 1-5. Customers are ordered from worst to best (R: most days first; F and M:
lowest first). With quintiles, cut k (k = 1..4) is the value of the customer at rank
ceil(k x N / 5) in that order, N = active customers, and

    score = 1 + number of cuts the value is strictly better than.

So equal values always get the same score, and a value equal to a cut stays in the lower band
("ties resolve downwards"). When many customers share a value, cuts collapse (e.g. c1 == c2) and
the scores in between are skipped: a shared value takes the lowest band it reaches. With fixed
thresholds (programme.scoring.fixed): R = 5 - #{thresholds the days exceed}; F and M =
1 + #{thresholds the value reaches}.

Statistics
----------
Quintile cuts need the whole population: each scan segment builds a mergeable `Stats` (exact
count histograms of R days and F, a 3-significant-digit histogram of M, so at most 1% relative
error and exact below 1000 minor units, and a histogram of whole-day purchase intervals for the
dormancy median). Merging is addition, so the order and grouping of segments never matter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import cached_property
from typing import Any

from loyalty.domain.alive import fit_model
from loyalty.domain.dates import month_index, month_name, run_period, trailing_months
from loyalty.domain.profile import Profile
from loyalty.domain.reservoir import Reservoir
from loyalty.programme import Programme

WINDOW_MONTHS = 12
QUINTILES = 5
MONEY_DIGITS = 3  # significant digits kept by the M histogram


# ---------------------------------------------------------------------------------------------
# The window


@dataclass(frozen=True)
class RunWindow:
    period: str  # 'YYYY-MM', the last month of the window
    ref_date: date  # the first day after the period: R is measured to this day
    months: tuple[str, ...]  # the 12 programme months, oldest first

    @classmethod
    def for_period(cls, period: str) -> RunWindow:
        nxt = month_name(month_index(period) + 1)
        return cls(
            period, date(int(nxt[:4]), int(nxt[5:7]), 1), tuple(trailing_months(period, WINDOW_MONTHS))
        )

    @classmethod
    def as_of(cls, day: date) -> RunWindow:
        """The run as of `day` (programme zone) classifies the month before `day`'s month."""
        return cls.for_period(run_period(day))


def local_day(iso_instant: str, programme: Programme) -> date:
    return datetime.fromisoformat(iso_instant.replace("Z", "+00:00")).astimezone(programme.zone).date()


# ---------------------------------------------------------------------------------------------
# Per-customer facts


@dataclass(frozen=True)
class CustomerFacts:
    known: bool  # a customer by the end of the period (first purchase before the reference day)
    recency_days: int | None  # None when there is no purchase in the 12 months (not active)
    frequency: int  # purchases in the 12 months
    monetary: int  # net spend in the 12 months, minor units
    first_day: date | None
    last_day: date | None  # last purchase day on or before the period end
    purchase_days: int  # distinct purchase days up to the period end

    @property
    def active(self) -> bool:
        return self.recency_days is not None

    @cached_property  # read by value facts, dormancy and the overdue check of the same customer
    def interval(self) -> Fraction | None:
        """The customer's own average days between purchase days, exact; None below 2 days."""
        if self.purchase_days < 2 or self.first_day is None or self.last_day is None:
            return None
        return Fraction((self.last_day - self.first_day).days, self.purchase_days - 1)


def customer_facts(profile: Profile, window: RunWindow, programme: Programme) -> CustomerFacts:
    first = local_day(profile.first_purchase_at, programme) if profile.first_purchase_at else None
    known = first is not None and first < window.ref_date
    end = month_index(window.period)
    frequency = monetary = 0
    last_day: date | None = None
    for month in reversed(window.months):
        stats = profile.months.get(month)
        if stats is None:
            continue
        frequency += stats.visits
        monetary += stats.spend
        if last_day is None and stats.days:
            last_day = date(int(month[:4]), int(month[5:7]), stats.days.bit_length())
    purchase_days = profile.folded_purchase_days + sum(
        s.purchase_days for m, s in profile.months.items() if month_index(m) <= end
    )
    recency = (window.ref_date - last_day).days if last_day is not None else None
    if last_day is None and profile.last_purchase_at:
        candidate = local_day(profile.last_purchase_at, programme)
        last_day = candidate if candidate < window.ref_date else None
    return CustomerFacts(
        known=known,
        recency_days=recency if known else None,
        frequency=frequency if known else 0,
        monetary=max(0, monetary) if known else 0,
        first_day=first if known else None,
        last_day=last_day if known else None,
        purchase_days=purchase_days if known else 0,
    )


# ---------------------------------------------------------------------------------------------
# Mergeable statistics


def money_bucket(cents: int) -> int:
    """The smallest number >= cents with at most 3 significant digits (exact below 1000)."""
    if cents < 10**MONEY_DIGITS:
        return max(0, cents)
    scale = 10 ** (len(str(cents)) - MONEY_DIGITS)
    return -(-cents // scale) * scale


def _counter(data: Mapping[str, Any] | None) -> Counter[int]:
    return Counter({int(k): int(v) for k, v in (data or {}).items()})


@dataclass
class Stats:
    """What the quintile cuts and the dormancy median need, from one or many scan segments."""

    customers: int = 0  # profiles seen
    active: int = 0  # scored: a purchase in the 12 months
    recency: Counter[int] = field(default_factory=Counter)  # days -> customers
    frequency: Counter[int] = field(default_factory=Counter)  # purchases -> customers
    monetary: Counter[int] = field(default_factory=Counter)  # money_bucket(spend) -> customers
    intervals: Counter[int] = field(default_factory=Counter)  # whole days (floor) -> customers
    values: Counter[int] = field(default_factory=Counter)  # money_bucket(value estimate) -> customers
    sample: Reservoir = field(default_factory=Reservoir)  # (x, t_x days, T days) of known customers

    def add_customer(
        self, customer_id: str, facts: CustomerFacts, value_estimate: int, repeat: tuple[int, int, int] | None
    ) -> None:
        """One known customer: the histograms, the value estimate (active customers: the median that
        splits "top half" from "bottom half") and the BG/NBD sample."""
        self.add(facts)
        if facts.active:
            self.values[money_bucket(value_estimate)] += 1
        if repeat is not None:
            self.sample.offer(customer_id, repeat)

    def add(self, facts: CustomerFacts) -> None:
        self.customers += 1
        if not facts.active:
            return
        assert facts.recency_days is not None
        self.active += 1
        self.recency[facts.recency_days] += 1
        self.frequency[facts.frequency] += 1
        self.monetary[money_bucket(facts.monetary)] += 1
        interval = facts.interval
        if interval is not None:
            self.intervals[int(interval)] += 1

    def merge(self, other: Stats) -> Stats:
        return Stats(
            self.customers + other.customers,
            self.active + other.active,
            self.recency + other.recency,
            self.frequency + other.frequency,
            self.monetary + other.monetary,
            self.intervals + other.intervals,
            self.values + other.values,
            self.sample.merge(other.sample),
        )

    def to_dict(self) -> dict[str, Any]:
        def plain(counter: Counter[int]) -> dict[str, int]:
            return {str(k): v for k, v in sorted(counter.items())}

        return {
            "customers": self.customers,
            "active": self.active,
            "recency": plain(self.recency),
            "frequency": plain(self.frequency),
            "monetary": plain(self.monetary),
            "intervals": plain(self.intervals),
            "values": plain(self.values),
            "sample": self.sample.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stats:
        return cls(
            int(data.get("customers", 0)),
            int(data.get("active", 0)),
            _counter(data.get("recency")),
            _counter(data.get("frequency")),
            _counter(data.get("monetary")),
            _counter(data.get("intervals")),
            _counter(data.get("values")),
            Reservoir.from_dict(data.get("sample")),
        )


def merge_all(parts: Iterable[Stats]) -> Stats:
    total = Stats()
    for part in parts:
        total = total.merge(part)
    return total


# ---------------------------------------------------------------------------------------------
# Cuts and scores


def quintile_cuts(histogram: Mapping[int, int], lower_is_better: bool = False) -> tuple[int, ...]:
    """The 4 cut values: cut k is the value at rank ceil(k*N/5) with customers ordered worst first."""
    total = sum(histogram.values())
    if total <= 0:
        return ()
    ordered = sorted(histogram.items(), reverse=lower_is_better)
    cuts: list[int] = []
    seen = 0
    index = 0
    for k in range(1, QUINTILES):
        rank = -(-k * total // QUINTILES)
        while seen + ordered[index][1] < rank:
            seen += ordered[index][1]
            index += 1
        cuts.append(ordered[index][0])
    return tuple(cuts)


def median_lower(histogram: Mapping[int, int]) -> int | None:
    """The value at rank ceil(N/2) in ascending order (the lower median), None when empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank, seen = -(-total // 2), 0
    for value, count in sorted(histogram.items()):
        seen += count
        if seen >= rank:
            return value
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Cuts:
    """Everything a classify worker needs from the statistics pass (small: it travels in the state)."""

    method: str  # quintiles | fixed
    recency: tuple[int, ...] = ()  # days; quintiles: worst first (descending); fixed: ascending
    frequency: tuple[int, ...] = ()
    monetary: tuple[int, ...] = ()  # minor units
    median_interval_days: int | None = None
    active: int = 0
    median_value_estimate: int | None = None  # money_bucket of the lower median, active customers
    model: Mapping[str, Any] | None = None  # the fitted BG/NBD model (alive.ModelFit.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "recency": list(self.recency),
            "frequency": list(self.frequency),
            "monetary": list(self.monetary),
            "median_interval_days": self.median_interval_days,
            "active": self.active,
            "median_value_estimate": self.median_value_estimate,
            "model": None if self.model is None else dict(self.model),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cuts:
        return cls(
            method=str(data["method"]),
            recency=tuple(int(v) for v in data.get("recency") or ()),
            frequency=tuple(int(v) for v in data.get("frequency") or ()),
            monetary=tuple(int(v) for v in data.get("monetary") or ()),
            median_interval_days=(
                None if data.get("median_interval_days") is None else int(data["median_interval_days"])
            ),
            active=int(data.get("active", 0)),
            median_value_estimate=(
                None if data.get("median_value_estimate") is None else int(data["median_value_estimate"])
            ),
            model=data.get("model") or None,
        )


def needs_statistics(programme: Programme) -> bool:
    """Every programme needs the statistics pass: the BG/NBD sample gives every customer P(alive)
    (quintiles also need the population, dormancy the median interval, `value_top_half` the median
    value estimate). Kept as a function so the state machine's choice keeps one source."""
    return True


def cuts_for(programme: Programme, stats: Stats | None) -> Cuts:
    """The cuts, the medians and the BG/NBD fit on the merged sample (the fit's time is bounded by the
    sample's size, not the base's: see docs/reclassification.md)."""
    median = median_lower(stats.intervals) if stats is not None else None
    active = stats.active if stats is not None else 0
    extra: dict[str, Any] = {}
    if stats is not None:
        model = fit_model(stats.sample)
        extra = {
            "median_value_estimate": median_lower(stats.values),
            "model": None if model is None else model.to_dict(),
        }
    if programme.scoring.method == "fixed":
        fixed = programme.scoring.fixed
        assert fixed is not None
        return Cuts("fixed", fixed.recency_days, fixed.frequency, fixed.monetary, median, active, **extra)
    stats = stats or Stats()
    return Cuts(
        "quintiles",
        quintile_cuts(stats.recency, lower_is_better=True),
        quintile_cuts(stats.frequency),
        quintile_cuts(stats.monetary),
        median,
        active,
        **extra,
    )


@dataclass(frozen=True)
class Scores:
    r: int
    f: int
    m: int

    @property
    def code(self) -> str:
        return f"{self.r}-{self.f}-{self.m}"

    @classmethod
    def parse(cls, code: str | None) -> Scores | None:
        if not code:
            return None
        r, f, m = (int(x) for x in code.split("-"))
        return cls(r, f, m)

    def to_dict(self) -> dict[str, int]:
        return {"r": self.r, "f": self.f, "m": self.m}


def score_recency(days: int, cuts: Cuts) -> int:
    if cuts.method == "fixed":
        return 5 - sum(1 for t in cuts.recency if days > t)
    return 1 + sum(1 for c in cuts.recency if days < c)


def score_higher(value: int, thresholds: tuple[int, ...], method: str) -> int:
    if method == "fixed":
        return 1 + sum(1 for t in thresholds if value >= t)
    return 1 + sum(1 for c in thresholds if value > c)


def score(facts: CustomerFacts, cuts: Cuts) -> Scores | None:
    """R, F, M scores 1-5, or None for a customer without a purchase in the 12 months."""
    if not facts.active:
        return None
    assert facts.recency_days is not None
    monetary = money_bucket(facts.monetary) if cuts.method == "quintiles" else facts.monetary
    return Scores(
        score_recency(facts.recency_days, cuts),
        score_higher(facts.frequency, cuts.frequency, cuts.method),
        score_higher(monetary, cuts.monetary, cuts.method),
    )


def ref_minus(window: RunWindow, days: int) -> date:
    """The day `days` before the reference day (R = days)."""
    return window.ref_date - timedelta(days=days)
