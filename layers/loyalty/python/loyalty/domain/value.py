"""Value facts, tier review and points expiry at the monthly run (pure, exact money).

Value facts (over the run window, see scoring.RunWindow):
- average basket = spend_12m / visits_12m, rounded half up to the minor unit;
- purchase frequency = visits_12m / active months, where active months = the months from the first
  purchase to the period end, at most 12 (a customer who joined 3 months ago is not diluted over
  12); purchases a month, 2 decimals, half up;
- tenure = days from the first purchase day to the reference day;
- value estimate = frequency x average basket x programme.expected_lifetime_months, computed
  exactly as spend_12m x lifetime / active months and rounded half up to the minor unit.

Tier review: the tier is the highest one qualified by any 12-month window ending at the period or
at a later month already in the buckets (purchases after the period keep an upgrade they earned).
Below the current tier it is a downgrade (only the monthly run downgrades), above it a late
upgrade (a threshold lowered in the programme, or a late transaction).

Expiry is domain/lots.py's (every policy, the inactivity one included).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from loyalty.domain.dates import day_month_index, month_index
from loyalty.domain.profile import Profile
from loyalty.domain.scoring import CustomerFacts, RunWindow
from loyalty.domain.tiers import best_over_windows, tier_for_window
from loyalty.money import format_amount
from loyalty.programme import Programme


def round_half_up(value: Fraction) -> int:
    """Exact rounding to the nearest integer, halves away from zero."""
    return divide_half_up(value.numerator, value.denominator)


def divide_half_up(numerator: int, denominator: int) -> int:
    """round_half_up(Fraction(numerator, denominator)) in integers (denominator > 0), without building
    the Fraction: the monthly run rounds a few of these per customer."""
    if denominator < 0:  # as Fraction normalises it
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def decimal_2(value: Fraction) -> str:
    """A non-negative fraction as a decimal string with 2 places, half up, exactly."""
    return hundredths_text(value.numerator, value.denominator)


def hundredths_text(numerator: int, denominator: int) -> str:
    """decimal_2(Fraction(numerator, denominator)) in integers (non-negative, denominator > 0)."""
    hundredths = divide_half_up(numerator * 100, denominator)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


@dataclass(frozen=True)
class ValueFacts:
    spend_12m: int  # minor units
    visits_12m: int
    average_basket: int | None  # minor units; None without a purchase in the 12 months
    purchase_frequency: str  # purchases a month, decimal string
    active_months: int
    tenure_days: int | None
    value_estimate: int  # minor units
    recency_days: int | None
    purchase_days: int
    average_interval_days: str | None  # decimal string, 2 places

    def to_detail(
        self,
        currency: str,
        favourite_category: str | None,
        dormant: bool,
        p_alive: str | None = None,
        expected_purchases_90d: str | None = None,
    ) -> dict[str, Any]:
        """The `facts` object of the events (money as decimal strings, see schemas/events)."""
        return {
            "currency": currency,
            "recency_days": self.recency_days,
            "frequency_12m": self.visits_12m,
            "monetary_12m": format_amount(self.spend_12m, currency),
            "average_basket": None
            if self.average_basket is None
            else format_amount(self.average_basket, currency),
            "purchase_frequency_per_month": self.purchase_frequency,
            "tenure_days": self.tenure_days,
            "purchase_days": self.purchase_days,
            "average_interval_days": self.average_interval_days,
            "value_estimate": format_amount(self.value_estimate, currency),
            "favourite_category": favourite_category,
            "dormant": dormant,
            "p_alive": p_alive,
            "expected_purchases_90d": expected_purchases_90d,
        }


def value_facts(facts: CustomerFacts, window: RunWindow, programme: Programme) -> ValueFacts:
    active_months = 0
    if facts.first_day is not None:
        first = day_month_index(facts.first_day)
        active_months = max(1, min(12, month_index(window.period) - first + 1))
    spend, visits = facts.monetary, facts.frequency
    basket = divide_half_up(spend, visits) if visits else None
    frequency = hundredths_text(visits, active_months) if active_months else "0.00"
    estimate = (
        divide_half_up(spend * programme.expected_lifetime_months, active_months) if active_months else 0
    )
    interval = facts.interval
    return ValueFacts(
        spend_12m=spend,
        visits_12m=visits,
        average_basket=basket,
        purchase_frequency=frequency,
        active_months=active_months,
        tenure_days=(window.ref_date - facts.first_day).days if facts.first_day else None,
        value_estimate=estimate,
        recency_days=facts.recency_days,
        purchase_days=facts.purchase_days,
        average_interval_days=None if interval is None else decimal_2(interval),
    )


def reviewed_tier(profile: Profile, programme: Programme, window: RunWindow) -> str:
    """The tier the customer holds after the run (see the module docstring)."""
    end = month_index(window.period)
    later = (month for month in profile.months if month_index(month) > end)
    return best_over_windows(
        programme, profile, later, tier_for_window(programme, profile, window.period)
    ).name
