"""RFM facts from the buckets, the run window, quintile and fixed scores, mergeable statistics."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from math import ceil

from hypothesis import given, settings
from hypothesis import strategies as st
from loyalty.domain.earning import Purchase, apply_purchase
from loyalty.domain.profile import Profile, new_profile
from loyalty.domain.scoring import (
    Cuts,
    RunWindow,
    Stats,
    customer_facts,
    cuts_for,
    median_lower,
    merge_all,
    money_bucket,
    quintile_cuts,
    score,
    score_higher,
    score_recency,
)
from loyalty.programme import Programme

from tests.helpers import default_programme, sephora_programme

PROG = default_programme()
FEB = RunWindow.as_of(date(2026, 3, 1))


def build(
    customer_id: str, purchases: Iterable[tuple], programme: Programme = PROG, tier: str | None = None
) -> Profile:
    """A profile from (day, cents[, {category: cents}]) purchases, through the real earning rules."""
    profile = new_profile(customer_id, tier or programme.base_tier.name)
    for index, (day, cents, *rest) in enumerate(sorted(purchases, key=lambda p: p[0])):
        when = datetime(day.year, day.month, day.day, 12, tzinfo=programme.zone)
        purchase = Purchase(f"{customer_id}-{index}", customer_id, when, cents, rest[0] if rest else {})
        profile, _ = apply_purchase(profile, purchase, programme)
    return profile


def days_before_ref(days: int, window: RunWindow = FEB) -> date:
    return window.ref_date - timedelta(days=days)


# -- the window ------------------------------------------------------------------------------


def test_a_run_as_of_any_day_of_a_month_classifies_the_month_before() -> None:
    for day in (date(2026, 3, 1), date(2026, 3, 15), date(2026, 3, 31)):
        window = RunWindow.as_of(day)
        assert window.period == "2026-02"
        assert window.ref_date == date(2026, 3, 1)
        assert window.months == (*tuple(f"2025-{m:02d}" for m in range(3, 13)), "2026-01", "2026-02")
    assert RunWindow.as_of(date(2026, 1, 1)).period == "2025-12"
    assert RunWindow.as_of(date(2026, 1, 1)).ref_date == date(2026, 1, 1)


def test_facts_come_from_the_buckets_inside_the_window_only() -> None:
    profile = build(
        "C1",
        [
            (date(2025, 2, 10), 1000),  # before the window: counts in tenure and purchase days only
            (date(2025, 6, 3), 2000),
            (date(2026, 2, 27), 3000),
            (date(2026, 3, 2), 9900),  # after the period: ignored by R, F and M
        ],
    )
    facts = customer_facts(profile, FEB, PROG)
    assert facts.known and facts.active
    assert facts.recency_days == 2  # 27 Feb -> 1 Mar
    assert (facts.frequency, facts.monetary) == (2, 5000)
    assert facts.first_day == date(2025, 2, 10)
    assert facts.last_day == date(2026, 2, 27)
    assert facts.purchase_days == 3  # the March purchase is after the period


def test_customers_who_joined_after_the_period_are_not_known_and_lapsed_ones_not_active() -> None:
    late = build("C2", [(date(2026, 3, 5), 1000)])
    assert not customer_facts(late, FEB, PROG).known
    lapsed = build("C3", [(date(2024, 12, 1), 1000), (date(2025, 1, 20), 1000)])
    facts = customer_facts(lapsed, FEB, PROG)
    assert facts.known and not facts.active and facts.recency_days is None
    assert score(facts, Cuts("quintiles", (9, 7, 5, 3), (1, 2, 3, 4), (1, 2, 3, 4))) is None


# -- quintiles -------------------------------------------------------------------------------


def test_quintile_cuts_on_distinct_values_split_in_fifths() -> None:
    assert quintile_cuts(Counter(range(1, 11))) == (2, 4, 6, 8)
    assert [score_higher(v, (2, 4, 6, 8), "quintiles") for v in range(1, 11)] == [
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]
    # R: fewer days is better, customers ordered from the most days
    cuts = quintile_cuts(Counter(range(1, 11)), lower_is_better=True)
    assert cuts == (9, 7, 5, 3)
    r_cuts = Cuts("quintiles", cuts)
    assert [score_recency(d, r_cuts) for d in range(10, 0, -1)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_ties_resolve_downwards_and_collapsed_cuts_skip_scores() -> None:
    # 60 % buy once: cuts 1 and 2 and 3 collapse on F = 1
    histogram = Counter({1: 60, 2: 20, 5: 20})
    cuts = quintile_cuts(histogram)
    assert cuts == (1, 1, 1, 2)
    assert [score_higher(v, cuts, "quintiles") for v in (1, 2, 5)] == [1, 4, 5]
    # everyone equal: no spread, everyone scores 1
    assert quintile_cuts(Counter({3: 7})) == (3, 3, 3, 3)
    assert score_higher(3, (3, 3, 3, 3), "quintiles") == 1


def test_the_median_is_the_lower_median() -> None:
    assert median_lower(Counter({10: 1, 20: 1})) == 10
    assert median_lower(Counter({10: 1, 20: 1, 30: 1})) == 20
    assert median_lower(Counter()) is None


values = st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=300)


@given(values)
def test_quintile_scores_are_monotone_tie_stable_and_respect_the_ranks(data: list[int]) -> None:
    cuts = quintile_cuts(Counter(data))
    n = len(data)
    scores = {v: score_higher(v, cuts, "quintiles") for v in set(data)}
    assert all(1 <= s <= 5 for s in scores.values())
    ordered = sorted(scores)
    assert all(scores[a] <= scores[b] for a, b in itertools.pairwise(ordered))
    per_customer = [scores[v] for v in data]
    for k in range(1, 5):
        # at least ceil(kN/5) customers score k or less; at most N - ceil(kN/5) score above k
        assert sum(1 for s in per_customer if s <= k) >= ceil(k * n / 5)


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=5, max_size=200, unique=True))
def test_distinct_values_fill_the_fifths_exactly(data: list[int]) -> None:
    data = data[: len(data) - len(data) % 5]
    cuts = quintile_cuts(Counter(data))
    counts = Counter(score_higher(v, cuts, "quintiles") for v in data)
    assert counts == Counter({s: len(data) // 5 for s in range(1, 6)})


@given(values)
def test_recency_scores_mirror_the_higher_is_better_rule(data: list[int]) -> None:
    r_cuts = Cuts("quintiles", quintile_cuts(Counter(data), lower_is_better=True))
    mirrored = quintile_cuts(Counter(-v for v in data))
    for v in set(data):
        assert score_recency(v, r_cuts) == score_higher(-v, mirrored, "quintiles")


@given(st.integers(min_value=0, max_value=10**12))
def test_money_buckets_keep_three_significant_digits(cents: int) -> None:
    bucket = money_bucket(cents)
    assert cents <= bucket <= cents + cents // 100 + 1
    assert money_bucket(bucket) == bucket
    assert money_bucket(cents + 1) >= bucket
    if cents < 1000:
        assert bucket == cents


@settings(max_examples=50)
@given(
    st.lists(st.tuples(st.integers(1, 365), st.integers(1, 60), st.integers(0, 10**7)), max_size=60),
    st.data(),
)
def test_statistics_merge_in_any_grouping(rows: list[tuple[int, int, int]], data: st.DataObject) -> None:
    from loyalty.domain.scoring import CustomerFacts

    facts = [CustomerFacts(True, r, f, m, date(2024, 1, 1), date(2026, 1, 1), f) for r, f, m in rows]
    whole = Stats()
    for fact in facts:
        whole.add(fact)
    parts = data.draw(st.integers(1, 5))
    pieces = [Stats() for _ in range(parts)]
    for index, fact in enumerate(facts):
        pieces[data.draw(st.integers(0, parts - 1), label=f"piece {index}")].add(fact)
    assert merge_all(reversed(pieces)) == whole
    assert Stats.from_dict(whole.to_dict()) == whole
    assert cuts_for(PROG, merge_all(pieces)) == cuts_for(PROG, whole)


# -- fixed thresholds ------------------------------------------------------------------------


def test_fixed_thresholds_follow_the_programme() -> None:
    programme = sephora_programme()  # recency [30, 60, 120, 240], frequency [2, 3, 5, 8], "50.00".. "900.00"
    cuts = cuts_for(programme, None)
    assert cuts.method == "fixed"
    assert [score_recency(d, cuts) for d in (1, 30, 31, 60, 61, 120, 240, 241)] == [5, 5, 4, 4, 3, 3, 2, 1]
    assert [score_higher(f, cuts.frequency, "fixed") for f in (1, 2, 3, 4, 5, 7, 8, 50)] == [
        1,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]
    assert [score_higher(m, cuts.monetary, "fixed") for m in (4999, 5000, 15000, 40000, 90000)] == [
        1,
        2,
        3,
        4,
        5,
    ]
    profile = build("C1", [(days_before_ref(10), 95000), (days_before_ref(40), 1000)], programme)
    scores = score(customer_facts(profile, FEB, programme), cuts)
    assert scores is not None and scores.code == "5-2-5"
