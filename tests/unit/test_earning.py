"""Purchases and returns on a profile: examples and properties (order, conservation, bounds)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loyalty.domain.earning import (
    Purchase,
    PurchaseRecord,
    Return,
    ReturnExceedsPurchase,
    apply_purchase,
    apply_return,
)
from loyalty.domain.profile import HISTORY_MONTHS, new_profile
from loyalty.programme import parse_programme

from tests.helpers import DEFAULT_PROGRAMME, default_programme, sephora_programme

P = default_programme()
START = datetime(2025, 12, 1, tzinfo=UTC)


def at(day: int, hour: int = 10) -> datetime:
    return START + timedelta(days=day, hours=hour)


def buy(profile, txn_id, amount, when, programme=P, categories=None):
    return apply_purchase(
        profile, Purchase(txn_id, profile.customer_id, when, amount, categories or {}), programme
    )


def record_of(txn_id, when, amount, rate, categories=None):
    return PurchaseRecord(txn_id, "C1", when, amount, 0, rate, categories or {})


def test_points_are_whole_units_times_tier_multiplier():
    profile = new_profile("C1", "member")
    profile, out = buy(profile, "T1", 1999, at(0))  # 19.99 EUR -> 19 points at x1
    assert (out.points_earned, out.points_balance, out.tier) == (19, 19, "member")
    profile = replace(profile, tier="gold")
    profile, out = buy(profile, "T2", 1000, at(1))  # x2
    assert out.points_earned == 20 and profile.points_balance == 39


def test_upgrade_applies_at_once_but_the_crossing_purchase_earns_at_the_old_tier():
    profile = new_profile("C1", "member")
    profile, out = buy(profile, "T1", 20000, at(0))
    assert out.tier == "member"
    profile, out = buy(profile, "T2", 6000, at(1))  # 260 EUR in 12 months -> silver
    assert (out.points_earned, out.tier_before, out.tier, out.upgraded) == (60, "member", "silver", True)
    profile, out = buy(profile, "T3", 1000, at(2))
    assert out.points_earned == 20  # now at x2


def test_sephora_style_upgrade_by_visits():
    s = sephora_programme()
    profile = new_profile("C1", "white")
    for i in range(3):
        profile, out = buy(profile, f"T{i}", 500, at(i), programme=s)
        assert out.tier == "white"
    profile, out = buy(profile, "T3", 500, at(3), programme=s)
    assert out.tier == "black"


def test_month_buckets_follow_the_programme_zone_and_count_distinct_days():
    profile = new_profile("C1", "member")
    late_evening_utc = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # 1 April in Paris
    profile, _ = buy(profile, "T1", 1000, late_evening_utc)
    profile, _ = buy(profile, "T2", 1000, late_evening_utc + timedelta(minutes=10))
    assert list(profile.months) == ["2026-04"]
    assert profile.months["2026-04"].visits == 2
    assert profile.purchase_days == 1


def test_partial_returns_take_back_exactly_what_was_earned():
    profile = new_profile("C1", "member")
    profile, out = buy(profile, "T1", 10050, at(0), categories={"shoes": 10050})  # 100.50 -> 100 pts
    record = record_of("T1", at(0), 10050, out.points_rate, {"shoes": 10050})
    taken = 0
    for amount in (3025, 3025, 4000):
        profile, record, ret = apply_return(
            profile, Return(f"R{amount}", "C1", at(5), amount, "T1"), record, P
        )
        taken -= ret.points_earned
    assert taken == 100 and profile.points_balance == 0
    month = profile.months[P.month_of(at(0))]
    assert month.spend == 0 and month.points == 0 and not month.categories
    with pytest.raises(ReturnExceedsPurchase):
        apply_return(profile, Return("R9", "C1", at(6), 1, "T1"), record, P)


def test_return_lands_in_the_purchase_month():
    profile = new_profile("C1", "member")
    profile, out = buy(profile, "T1", 5000, at(0))
    profile, _ = buy(profile, "T2", 5000, at(40))
    record = record_of("T1", at(0), 5000, out.points_rate)
    profile, _, _ = apply_return(profile, Return("R1", "C1", at(45), 2000, "T1"), record, P)
    assert profile.months[P.month_of(at(0))].spend == 3000
    assert profile.months[P.month_of(at(40))].spend == 5000


# -- properties ---------------------------------------------------------------------------

UNIFORM = parse_programme(
    {
        **__import__("json").loads(DEFAULT_PROGRAMME.read_text()),
        "tiers": [
            {"name": "member", "multiplier": 1},
            {"name": "silver", "multiplier": 1, "any_of": {"spend_12m": "250.00"}},
            {"name": "gold", "multiplier": 1, "any_of": {"spend_12m": "600.00"}},
        ],
    }
)

purchases = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=360),  # day within a year: all inside the buckets
        st.integers(min_value=0, max_value=23),
        st.integers(min_value=1, max_value=40000),
        st.sampled_from(["food", "toys", "wine", "books", "garden", "tech", "shoes", "home"]),
    ),
    min_size=1,
    max_size=40,
)


def run(items, programme):
    profile = new_profile("C1", programme.base_tier.name)
    for index, (day, hour, amount, category) in items:
        profile, _ = buy(profile, f"T{index}", amount, at(day, hour), programme, {category: amount})
    return profile


def comparable(profile, with_points=True):
    out = replace(profile, version=0, tier_since=None)
    if not with_points:
        months = {m: replace(s, points=0) for m, s in out.months.items()}
        out = replace(out, points_balance=0, points_earned=0, months=months, lots={}, pending={})
    return out


@settings(max_examples=150, deadline=None)
@given(items=purchases, data=st.data())
def test_arrival_order_does_not_change_the_profile(items, data):
    indexed = list(enumerate(items))
    shuffled = data.draw(st.permutations(indexed))
    # With equal multipliers everything, points included, is order-independent.
    assert comparable(run(indexed, UNIFORM)) == comparable(run(shuffled, UNIFORM))
    # With tier multipliers, the points of a purchase depend on the tier held when it arrives;
    # everything else (spend, visits, days, categories, tier) still does not depend on order.
    assert comparable(run(indexed, P), with_points=False) == comparable(run(shuffled, P), with_points=False)


@settings(max_examples=150, deadline=None)
@given(items=purchases, data=st.data())
def test_points_are_conserved_through_returns(items, data):
    profile = new_profile("C1", "member")
    records = {}
    answered = 0
    for index, (day, hour, amount, category) in enumerate(items):
        profile, out = buy(profile, f"T{index}", amount, at(day, hour), P, {category: amount})
        records[f"T{index}"] = record_of(
            f"T{index}", at(day, hour), amount, out.points_rate, {category: amount}
        )
        answered += out.points_earned
    for txn_id in data.draw(st.lists(st.sampled_from(sorted(records)), max_size=20)):
        record = records[txn_id]
        if record.remaining == 0:
            continue
        amount = data.draw(st.integers(min_value=1, max_value=record.remaining))
        profile, records[txn_id], out = apply_return(
            profile, Return(f"R-{txn_id}-{amount}", "C1", at(361), amount, txn_id), record, P
        )
        answered += out.points_earned
        assert out.points_earned <= 0
    assert profile.points_balance == answered == profile.points_earned
    assert profile.points_balance >= 0
    # Returning everything left gives every point back, and no spend remains.
    for txn_id, record in list(records.items()):
        if record.remaining:
            profile, records[txn_id], _ = apply_return(
                profile, Return(f"RX-{txn_id}", "C1", at(362), record.remaining, txn_id), record, P
            )
    assert profile.points_balance == 0
    assert all(m.spend == 0 and m.points == 0 for m in profile.months.values())
    assert profile.lifetime_spend == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=2000), min_size=1, max_size=80))
def test_buckets_stay_bounded_over_years(days):
    profile = new_profile("C1", "member")
    for index, day in enumerate(sorted(days)):
        profile, _ = buy(profile, f"T{index}", 1000, at(day))
    assert len(profile.months) <= HISTORY_MONTHS
    assert profile.lifetime_purchases == len(days)
    distinct_days = len({P.month_of(at(d)) + at(d).astimezone(P.zone).strftime("%d") for d in days})
    assert profile.purchase_days == distinct_days
