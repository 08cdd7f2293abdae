"""Value facts (exact money), tier review at the monthly run, points expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.classify import classify
from loyalty.domain.lots import expire
from loyalty.domain.scoring import Cuts, customer_facts
from loyalty.domain.value import (
    decimal_2,
    reviewed_tier,
    round_half_up,
    value_facts,
)
from loyalty.events import event_id

from tests.unit.test_scoring import FEB, PROG, build


def points_to_expire(profile, programme, window) -> int:
    """What the monthly run books (domain/lots.py: the one home of the expiry rule)."""
    return sum(points for _, points, _ in expire(profile, programme, window.ref_date)[1])


CUTS = Cuts("quintiles", (200, 120, 60, 20), (1, 2, 4, 8), (5000, 15000, 40000, 90000), 30, 100)


def test_exact_rounding() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(7, 3)) == 2
    assert decimal_2(Fraction(1, 8)) == "0.13"
    assert decimal_2(Fraction(3, 5)) == "0.60"
    assert decimal_2(Fraction(12345, 1)) == "12345.00"


def test_value_facts_are_exact() -> None:
    profile = build("V", [(date(2025, 10, 3), 1000), (date(2025, 12, 9), 2000), (date(2026, 2, 1), 3001)])
    facts = customer_facts(profile, FEB, PROG)
    value = value_facts(facts, FEB, PROG)
    assert value.active_months == 5  # October to February
    assert value.average_basket == 2000  # 60.01 / 3 = 20.0033
    assert value.purchase_frequency == "0.60"
    assert value.value_estimate == 43207  # 60.01 x 36 / 5 = 432.072
    assert value.tenure_days == (date(2026, 3, 1) - date(2025, 10, 3)).days
    assert value.average_interval_days == "60.50"  # (1 Feb - 3 Oct) = 121 days over 2 gaps
    detail = value.to_detail("EUR", "beauty", False)
    assert detail["monetary_12m"] == "60.01"
    assert detail["average_basket"] == "20.00"
    assert detail["value_estimate"] == "432.07"


@given(st.lists(st.integers(1, 10**7), min_size=1, max_size=30))
def test_the_value_estimate_is_frequency_times_basket_times_lifetime(amounts: list[int]) -> None:
    purchases = [(date(2025, 3, 1) + timedelta(days=(i * 37) % 365), a) for i, a in enumerate(amounts)]
    facts = customer_facts(build("H", purchases), FEB, PROG)
    value = value_facts(facts, FEB, PROG)
    exact = Fraction(facts.monetary * PROG.expected_lifetime_months, value.active_months)
    assert abs(value.value_estimate - exact) <= Fraction(1, 2)
    assert value.spend_12m == sum(amounts)


# -- tiers ---------------------------------------------------------------------------------------


def test_downgrade_when_the_qualifying_spend_leaves_the_window() -> None:
    gold = build("G", [(date(2025, 2, 10), 70000), (date(2025, 11, 10), 5000)])
    assert gold.tier == "gold"
    assert reviewed_tier(gold, PROG, FEB) == "member"
    outcome = classify(gold, PROG, CUTS, FEB)
    assert outcome is not None and outcome.after.tier == "member"
    assert outcome.after.tier_since == "2026-03-01"
    tier_events = [e for e in outcome.events if e.detail_type == "CustomerTierChanged"]
    assert len(tier_events) == 1
    event = tier_events[0]
    assert event.event_id == event_id("G", "2026-02", "tier", "2026-02")
    assert event.detail["direction"] == "downgrade"
    assert (event.detail["before"], event.detail["after"]) == ({"tier": "gold"}, {"tier": "member"})


def test_silver_is_kept_when_the_window_still_qualifies() -> None:
    silver = build("S", [(date(2025, 3, 10), 30000)])
    assert silver.tier == "silver"
    assert reviewed_tier(silver, PROG, FEB) == "silver"


def test_an_upgrade_earned_after_the_period_is_kept() -> None:
    gold = build("L", [(date(2026, 3, 3), 70000)])
    assert reviewed_tier(gold, PROG, FEB) == "gold"


def test_late_upgrade_when_the_tier_lags_the_window() -> None:
    lagging = replace(build("U", [(date(2026, 1, 10), 70000)]), tier="member")
    outcome = classify(lagging, PROG, CUTS, FEB)
    assert outcome is not None and outcome.after.tier == "gold"
    [event] = [e for e in outcome.events if e.detail_type == "CustomerTierChanged"]
    assert event.detail["direction"] == "upgrade"


# -- expiry --------------------------------------------------------------------------------------


def test_add_months_clamps_to_the_month_end() -> None:
    from loyalty.domain.dates import add_months_to_day

    assert add_months_to_day(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months_to_day(date(2024, 3, 1), 24) == date(2026, 3, 1)


def test_the_whole_balance_expires_after_n_months_without_purchase() -> None:
    due = build("E", [(date(2024, 3, 1), 12000)])  # 1 Mar 2024 + 24 months = 1 Mar 2026 = reference day
    assert points_to_expire(due, PROG, FEB) == 120
    not_yet = build("N", [(date(2024, 3, 2), 12000)])
    assert points_to_expire(not_yet, PROG, FEB) == 0
    outcome = classify(due, PROG, CUTS, FEB)
    assert outcome is not None
    after = outcome.after
    assert (after.points_balance, after.points_expired) == (0, 120)
    assert after.points_earned - after.points_redeemed - after.points_expired == after.points_balance
    [event] = [e for e in outcome.events if e.detail_type == "PointsExpired"]
    assert event.event_id == event_id("E", "2026-02", "expiry")
    assert event.detail["points"] == 120
    assert event.detail["before"] == {"points_balance": 120}
    assert event.detail["after"] == {"points_balance": 0}
    again = classify(after, PROG, CUTS, FEB)
    assert again is not None and not again.changed and again.events == ()


def test_a_purchase_after_the_period_stops_expiry() -> None:
    revived = build("R", [(date(2024, 1, 5), 12000), (date(2026, 3, 2), 1000)])
    assert points_to_expire(revived, PROG, FEB) == 0
