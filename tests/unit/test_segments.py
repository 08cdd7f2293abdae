"""Segment rules (order, first match, Lost, Can't lose them), dormancy and the favourite category."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.classify import classify
from loyalty.domain.scoring import Cuts, RunWindow, Scores, Stats, customer_facts, cuts_for
from loyalty.domain.segments import (
    dormancy_threshold,
    favourite_category,
    is_dormant,
    match_segment,
    rule_matches,
)
from loyalty.programme import ProgrammeError, parse_programme

from tests.unit.test_scoring import FEB, PROG, build, days_before_ref

DEFAULT_ORDER = [
    "Lost", "Engaged non-buyers", "Champions", "Can't lose them", "Dormant, worth winning back", "Dormant",
    "At risk", "Loyal", "Potential loyalists", "New", "Promising", "Need attention", "About to sleep",
    "Hibernating",
]  # fmt: skip


def segment(r: int, f: int, m: int, dormant: bool = False) -> str:
    return match_segment(PROG.segments, PROG.fallback_segment, Scores(r, f, m), dormant)


def test_the_default_rules_and_their_order() -> None:
    assert [rule.name for rule in PROG.segments] == DEFAULT_ORDER
    assert [rule.name for rule in parse_programme({"tiers": [{"name": "m"}]}).segments] == DEFAULT_ORDER


def test_examples_of_the_default_map() -> None:
    assert match_segment(PROG.segments, PROG.fallback_segment, None, False) == "Lost"
    assert match_segment(PROG.segments, PROG.fallback_segment, None, True) == "Lost"
    assert segment(5, 5, 5) == "Champions"
    assert segment(5, 5, 5, dormant=True) == "Champions"
    assert segment(1, 5, 4) == "Can't lose them"
    assert segment(1, 5, 4, dormant=True) == "Can't lose them"  # before Dormant on purpose
    assert segment(1, 5, 3) == "At risk"
    assert segment(1, 5, 3, dormant=True) == "Dormant"
    assert segment(3, 5, 1) == "Loyal"
    assert segment(5, 2, 1) == "Potential loyalists"
    assert segment(5, 1, 1) == "New"
    assert segment(4, 1, 5) == "Promising"
    assert segment(3, 2, 2) == "Need attention"
    assert segment(3, 1, 1) == "About to sleep"
    assert segment(2, 1, 1) == "Hibernating"


@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_the_first_matching_rule_wins_and_scored_customers_are_never_lost(
    r: int, f: int, m: int, dormant: bool
) -> None:
    scores = Scores(r, f, m)
    name = match_segment(PROG.segments, PROG.fallback_segment, scores, dormant)
    first = next(rule.name for rule in PROG.segments if rule_matches(rule, scores, dormant))
    assert name == first != "Lost"


def test_the_default_map_covers_every_score_combination() -> None:
    """Every (R, F, M, dormant, P(alive), value half, relationally active) reaches a named segment, P(alive)
    missing included."""
    names = {
        match_segment(PROG.segments, PROG.fallback_segment, Scores(r, f, m), d, p, top, active)
        for r, f, m in itertools.product(range(1, 6), repeat=3)
        for d in (False, True)
        for p in (None, Decimal("0.299"), Decimal("0.300"), Decimal("1.000"))
        for top in (None, False, True)
        for active in (False, True)
    }
    assert PROG.fallback_segment not in names
    assert names == set(DEFAULT_ORDER) - {"Lost"}


def test_dormant_splits_by_p_alive_and_value_half() -> None:
    worth = "Dormant, worth winning back"
    dormant = Scores(2, 3, 3)
    assert match_segment(PROG.segments, "x", dormant, True, Decimal("0.300"), True) == worth
    assert match_segment(PROG.segments, "x", dormant, True, Decimal("1.000"), True) == worth
    assert match_segment(PROG.segments, "x", dormant, True, Decimal("0.299"), True) == "Dormant"
    assert match_segment(PROG.segments, "x", dormant, True, Decimal("0.900"), False) == "Dormant"
    assert match_segment(PROG.segments, "x", dormant, True, None, True) == "Dormant"  # no fit this run
    assert match_segment(PROG.segments, "x", dormant, True, Decimal("0.9"), None) == "Dormant"  # no median
    # Can't lose them stays before both: R 1, F and M 4-5 is that segment even when dormant and alive.
    assert match_segment(PROG.segments, "x", Scores(1, 5, 5), True, Decimal("0.9"), True) == "Can't lose them"


def test_a_dormant_customer_who_still_interacts_is_an_engaged_non_buyer_whatever_the_scores() -> None:
    for scores in (Scores(1, 5, 5), Scores(2, 3, 3), Scores(1, 1, 1), Scores(5, 5, 5)):
        assert (
            match_segment(PROG.segments, "x", scores, True, Decimal("0.9"), True, True)
            == "Engaged non-buyers"
        )
        assert match_segment(PROG.segments, "x", scores, False, None, None, True) != "Engaged non-buyers"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"p_alive": [0.5, 0.3]}, "p_alive"),
        ({"p_alive": [0, 1.5]}, "p_alive"),
        ({"p_alive": 0.3}, "p_alive"),
        ({"p_alive": ["a", 1]}, "p_alive"),
        ({"p_alive": [True, 1]}, "p_alive"),
        ({"value_top_half": "yes"}, "value_top_half"),
        ({"scored": False, "p_alive": [0, 1]}, "unscored"),
    ],
)
def test_p_alive_and_value_half_conditions_are_validated(when: dict, message: str) -> None:
    with pytest.raises(ProgrammeError) as error:
        parse_programme({"tiers": [{"name": "m"}], "segments": {"rules": [{"name": "S", "when": when}]}})
    assert message in str(error.value)
    assert "segments.rules[0].when" in str(error.value)


def test_p_alive_bounds_are_exact_decimals() -> None:
    programme = parse_programme(
        {"tiers": [{"name": "m"}], "segments": {"rules": [{"name": "S", "when": {"p_alive": [0.3, "0.7"]}}]}}
    )
    limits = programme.segments[0].p_alive
    assert limits is not None and (limits.low, limits.high) == (Decimal("0.3"), Decimal("0.7"))


def test_warn_k_must_stay_below_k() -> None:
    with pytest.raises(ProgrammeError, match=r"segments\.dormancy\.warn_k"):
        parse_programme({"tiers": [{"name": "m"}], "segments": {"dormancy": {"k": 3, "warn_k": 3}}})
    assert parse_programme({"tiers": [{"name": "m"}]}).dormancy.warn_k == Decimal("1.5")


def test_a_custom_order_and_the_fallback() -> None:
    programme = parse_programme(
        {
            "tiers": [{"name": "m"}],
            "segments": {
                "fallback": "Everyone else",
                "rules": [
                    {"name": "Gone", "when": {"scored": False}},
                    {"name": "Best", "when": {"r": 5, "f": [4, 5]}},
                    {"name": "Asleep", "when": {"dormant": True}},
                ],
            },
        }
    )
    assert match_segment(programme.segments, programme.fallback_segment, Scores(5, 5, 1), True) == "Best"
    assert match_segment(programme.segments, programme.fallback_segment, Scores(4, 5, 1), True) == "Asleep"
    assert (
        match_segment(programme.segments, programme.fallback_segment, Scores(4, 5, 1), False)
        == "Everyone else"
    )


def test_cant_lose_them_is_reachable_with_quintiles() -> None:
    """Frequent big spenders who stopped 10 months ago, among a population of recent customers."""
    population = [
        build(f"R{i}", [(days_before_ref(5 + i), 2000 + i), (days_before_ref(30 + i), 1500)])
        for i in range(40)
    ]
    big_lapsed = [
        build(f"B{i}", [(days_before_ref(300 + i + 7 * k), 30000 + i) for k in range(8)]) for i in range(10)
    ]
    stats = Stats()
    for profile in population + big_lapsed:
        stats.add(customer_facts(profile, FEB, PROG))
    cuts = cuts_for(PROG, stats)
    segments = Counter(classify(p, PROG, cuts, FEB).classification.segment for p in big_lapsed)  # type: ignore[union-attr]
    assert segments == Counter({"Can't lose them": 10})
    scores = classify(big_lapsed[0], PROG, cuts, FEB).classification.scores  # type: ignore[union-attr]
    assert scores is not None and scores.r == 1 and scores.f >= 4 and scores.m >= 4


# -- dormancy -------------------------------------------------------------------------------


def every(days: int, count: int, last: int) -> list[tuple[date, int]]:
    """`count` purchases `days` apart, the last one `last` days before the reference day."""
    return [(days_before_ref(last + days * k), 1000) for k in range(count)]


def test_dormant_past_k_times_the_own_cycle_with_a_floor() -> None:
    dormancy = PROG.dormancy  # k = 3, floor 90
    weekly = customer_facts(build("W", every(7, 5, 100)), FEB, PROG)
    assert weekly.interval == 7
    assert dormancy_threshold(weekly, dormancy, None) == 90  # 3 x 7 < floor
    assert is_dormant(weekly, dormancy, None)
    monthly = customer_facts(build("M", every(40, 5, 100)), FEB, PROG)
    assert dormancy_threshold(monthly, dormancy, None) == 120
    assert not is_dormant(monthly, dormancy, None)
    assert is_dormant(customer_facts(build("M2", every(40, 5, 121)), FEB, PROG), dormancy, None)


def test_the_average_interval_is_exact() -> None:
    days = [(days_before_ref(d), 100) for d in (100, 90, 80, 75)]
    facts = customer_facts(build("X", days), FEB, PROG)
    assert facts.interval == Fraction(25, 3)


def test_a_single_purchase_day_uses_the_programme_median() -> None:
    single = customer_facts(build("S", [(days_before_ref(140), 5000)]), FEB, PROG)
    assert single.interval is None
    assert dormancy_threshold(single, PROG.dormancy, 50) == 150
    assert not is_dormant(single, PROG.dormancy, 50)
    assert is_dormant(single, PROG.dormancy, 40)
    assert is_dormant(single, PROG.dormancy, None)  # no median: the floor alone


@given(st.integers(1, 364), st.integers(1, 12), st.integers(1, 60), st.one_of(st.none(), st.integers(1, 200)))
def test_never_dormant_within_the_floor(last: int, count: int, gap: int, median: int | None) -> None:
    facts = customer_facts(build("P", every(gap, count, last)), FEB, PROG)
    if facts.recency_days is not None and facts.recency_days <= PROG.dormancy.floor_days:
        assert not is_dormant(facts, PROG.dormancy, median)


# -- favourite category ------------------------------------------------------------------------


def test_the_favourite_category_over_the_window() -> None:
    profile = build(
        "F",
        [
            (date(2025, 1, 5), 90000, {"garden": 90000}),  # outside the window
            (date(2025, 6, 5), 3000, {"beauty": 2000, "food": 1000}),
            (date(2026, 1, 5), 3000, {"food": 2000, "beauty": 1000}),
            (date(2026, 2, 5), 500, {"toys": 500}),
        ],
    )
    assert favourite_category(profile, FEB) == "beauty"  # 3000 each: ties go to the first name
    other_only = build("O", [(date(2026, 2, 5), 500, {"_other": 500})])
    assert favourite_category(other_only, FEB) == "_other"
    mixed = build("Q", [(date(2026, 2, 5), 5000, {"_other": 4000, "shoes": 1000})])
    assert favourite_category(mixed, FEB) == "shoes"
    assert favourite_category(build("N", [(date(2026, 2, 5), 500)]), FEB) is None


def test_cuts_round_trip() -> None:
    cuts = Cuts("quintiles", (9, 7, 5, 3), (1, 2, 3, 4), (100, 200, 300, 400), 21, 99)
    assert Cuts.from_dict(cuts.to_dict()) == cuts
    assert RunWindow.for_period("2026-02") == FEB
    assert FEB.ref_date - timedelta(days=1) == date(2026, 2, 28)
