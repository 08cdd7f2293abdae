"""The points lifecycle's invariant, as properties over random sequences of purchases, returns,
redemptions, adjustments, releases (days passing) and expiries, under each expiry policy:

    available + pending == earned - returned - redeemed - expired + adjusted

where `expired` counts lots past their date whether or not the monthly run has booked them; no lot or
pending entry is ever negative; spending never touches a lot past its date; the order purchases
arrive in does not change the points."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from loyalty.domain.lots import InsufficientPoints, earn, expire, grant, points_on, spend, take_back
from loyalty.domain.profile import new_profile
from loyalty.programme import parse_programme

from tests.helpers import DEFAULT_PROGRAMME

BASE = json.loads(DEFAULT_PROGRAMME.read_text())


def programme(policy: dict, pending_days: int):
    return parse_programme(
        {**BASE, "earning": {**BASE.get("earning", {}), "pending_days": pending_days}, "expiry": policy}
    )


POLICIES = st.sampled_from(
    [
        {"policy": "rolling", "months": 12},
        {"policy": "rolling", "months": 1},
        {"policy": "calendar", "years": 1},
        {"policy": "calendar", "years": 0},
        {"policy": "inactivity", "months_without_purchase": 3},
    ]
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, 45), st.integers(1, 800)),
        st.tuples(st.just("return"), st.integers(0, 1000), st.integers(1, 800)),
        st.tuples(st.just("redeem"), st.integers(1, 900)),
        st.tuples(st.just("adjust"), st.integers(-600, 600).filter(bool)),
        st.tuples(st.just("wait"), st.integers(0, 200)),
        st.tuples(
            st.just("expire"),
        ),
    ),
    min_size=1,
    max_size=60,
)


def check(profile, prog, today, ledger):
    view = points_on(profile, prog, today)
    earned, returned, redeemed, adjusted = ledger
    expired = profile.points_expired + view.expired_due
    assert view.available + view.pending == earned - returned - redeemed - expired + adjusted
    assert all(points >= 0 for points in profile.lots.values()), profile.lots
    assert all(points >= 0 for points in profile.pending.values()), profile.pending
    for lot in view.lots:
        assert 0 <= lot.pending <= lot.points
        if lot.expired:
            assert lot.spendable == 0
    return view


@settings(max_examples=300, deadline=None)
@given(policy=POLICIES, pending_days=st.sampled_from([0, 14, 30]), steps=STEPS)
def test_the_ledger_invariant_holds_through_any_sequence(policy, pending_days, steps):
    prog = programme(policy, pending_days)
    profile = new_profile("C1", prog.base_tier.name)
    today = date(2026, 1, 10)
    purchases: list[list] = []  # [earned_on, points left to return]
    earned = returned = redeemed = adjusted = 0
    for step in steps:
        kind = step[0]
        before = points_on(profile, prog, today)
        if kind == "buy":
            earned_on = today - timedelta(days=step[1])
            # last_purchase_at moves as a purchase does (the inactivity policy's reference)
            last = (
                date.fromisoformat(profile.last_purchase_at[:10]) if profile.last_purchase_at else earned_on
            )
            when = f"{max(earned_on, last).isoformat()}T12:00:00+00:00"
            profile = replace(earn(profile, prog, earned_on, step[2], today), last_purchase_at=when)
            purchases.append([earned_on, step[2]])
            earned += step[2]
        elif kind == "return" and purchases:
            purchase = purchases[step[1] % len(purchases)]
            points = min(step[2], purchase[1])
            if points:
                profile, from_pending = take_back(profile, prog, purchase[0], points, today)
                assert 0 <= from_pending <= points
                purchase[1] -= points
                returned += points
                # only the purchase's own pending points may come out of a lot past its date
                assert 0 <= before.expired_due - points_on(profile, prog, today).expired_due <= from_pending
        elif kind == "redeem" or (kind == "adjust" and step[1] < 0):
            points = abs(step[1])
            try:
                profile = spend(profile, prog, points, today)
            except InsufficientPoints:
                assert points > before.available
            else:
                assert points <= before.available
                if kind == "redeem":
                    redeemed += points
                else:
                    adjusted -= points
                # nothing past its date was spent, and pending points stayed pending
                after = points_on(profile, prog, today)
                assert after.expired_due == before.expired_due
                assert after.pending == before.pending
        elif kind == "adjust":
            profile = grant(profile, prog, step[1], today)
            adjusted += step[1]
        elif kind == "wait":
            today += timedelta(days=step[1])
        elif kind == "expire":
            booked_before = profile.points_expired
            profile, lots = expire(profile, prog, today)
            assert profile.points_expired - booked_before == sum(p for _, p, _ in lots) == before.expired_due
            again, none = expire(profile, prog, today)
            assert none == [] and again == profile
        check(profile, prog, today, (earned, returned, redeemed, adjusted))


ARRIVALS = st.lists(
    st.tuples(st.integers(0, 500), st.integers(1, 800), st.booleans()), min_size=1, max_size=25
)


@settings(max_examples=200, deadline=None)
@given(policy=POLICIES, pending_days=st.sampled_from([0, 30]), items=ARRIVALS, data=st.data())
def test_arrival_order_does_not_change_the_points(policy, pending_days, items, data):
    """Purchases dated over 500 days and positive adjustments, arriving in any order: the same lots,
    the same pending points and the same balance on any later day."""
    prog = programme(policy, pending_days)
    today = date(2026, 6, 30)
    last = max(today - timedelta(days=days) for days, _, _ in items)

    def run(order):
        profile = new_profile("C1", prog.base_tier.name)
        profile = replace(profile, last_purchase_at=f"{last.isoformat()}T12:00:00+00:00")
        for days, points, is_purchase in order:
            if is_purchase:
                profile = earn(profile, prog, today - timedelta(days=days), points, today)
            else:
                profile = grant(profile, prog, points, today)
        return profile

    first = run(items)
    second = run(data.draw(st.permutations(items)))
    assert (first.lots, first.pending, first.points_balance) == (
        second.lots,
        second.pending,
        second.points_balance,
    )
    later = today + timedelta(days=data.draw(st.integers(0, 800)))
    assert points_on(first, prog, later) == points_on(second, prog, later)


def test_a_return_takes_its_purchase_s_pending_points_first():
    prog = programme({"policy": "rolling", "months": 12}, 30)
    today = date(2026, 3, 20)
    profile = new_profile("C1", prog.base_tier.name)
    profile = earn(profile, prog, date(2026, 1, 5), 300, today)  # released
    profile = earn(profile, prog, date(2026, 3, 18), 200, today)  # pending until 17 April
    view = points_on(profile, prog, today)
    assert (view.available, view.pending) == (300, 200)
    assert view.pending_release == ((200, date(2026, 4, 17)),)
    profile, from_pending = take_back(profile, prog, date(2026, 3, 18), 250, today)
    assert from_pending == 200
    assert (points_on(profile, prog, today).available, points_on(profile, prog, today).pending) == (250, 0)


def test_a_return_after_a_redemption_leaves_a_debt_paid_by_the_next_points():
    prog = programme({"policy": "rolling", "months": 12}, 0)
    today = date(2026, 3, 20)
    profile = earn(new_profile("C1", prog.base_tier.name), prog, date(2026, 3, 1), 500, today)
    profile = spend(profile, prog, 500, today)
    profile, _ = take_back(profile, prog, date(2026, 3, 1), 200, today)
    assert points_on(profile, prog, today).available == -200 and profile.points_balance == -200
    profile = earn(profile, prog, today, 300, today)
    assert points_on(profile, prog, today).available == 100 and profile.lots == {"2026-03": 100}


def test_expiry_dates_of_each_policy():
    from loyalty.domain.lots import expires_on

    assert expires_on("2026-03", programme({"policy": "rolling", "months": 12}, 0), None) == date(2027, 3, 31)
    assert expires_on("2026-03", programme({"policy": "calendar", "years": 1}, 0), None) == date(2027, 12, 31)
    inactivity = programme({"months_without_purchase": 24}, 0)
    assert expires_on("*", inactivity, date(2026, 1, 31)) == date(2028, 1, 30)


def test_spending_takes_the_lots_nearest_to_expiry_first():
    prog = programme({"policy": "rolling", "months": 12}, 0)
    today = date(2026, 6, 1)
    profile = new_profile("C1", prog.base_tier.name)
    for month, points in (("2026-05", 100), ("2025-09", 100), ("2026-01", 100)):
        profile = earn(profile, prog, date.fromisoformat(f"{month}-10"), points, today)
    profile = spend(profile, prog, 150, today)
    assert profile.lots == {"2026-01": 50, "2026-05": 100}
