"""The synthetic retailer is deterministic, varied, and only sends what the API accepts."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from loyalty.api.schemas import TransactionIn
from loyalty.money import parse_amount
from loyalty_tools.simulate import PERSONAS, simulate


def test_the_same_seed_gives_the_same_bodies_and_another_seed_does_not() -> None:
    a = list(simulate(seed=3, customers=200, months=5).bodies())
    b = list(simulate(seed=3, customers=200, months=5).bodies())
    c = list(simulate(seed=4, customers=200, months=5).bodies())
    assert a == b
    assert a != c


def test_every_body_validates_and_lands_in_its_month_in_time_order() -> None:
    sim = simulate(seed=1, customers=300, months=6, start_month="2024-11")
    assert sim.months == ["2024-11", "2024-12", "2025-01", "2025-02", "2025-03", "2025-04"]
    for index, month in enumerate(sim.by_month):
        for bodies in month.values():
            times = [datetime.fromisoformat(b["occurred_at"]) for b in bodies]
            assert times == sorted(times)
            assert all(t.strftime("%Y-%m") == sim.months[index] for t in times)
            for body in bodies:
                TransactionIn.model_validate(body)
                lines = sum(parse_amount(line["unit_price"], "EUR") for line in body["lines"])
                assert lines == parse_amount(body["amount"], "EUR")


def test_returns_follow_their_purchase_and_never_exceed_it() -> None:
    sim = simulate(seed=2, customers=400, months=6)
    posted: dict[str, dict] = {}
    returns = 0
    for body in sim.bodies():
        original = body.get("original_transaction_id")
        if original:
            returns += 1
            assert original in posted, "a return is posted after its purchase"
            assert parse_amount(body["amount"], "EUR") <= parse_amount(posted[original]["amount"], "EUR")
            assert posted[original]["customer_id"] == body["customer_id"]
        posted[body["transaction_id"]] = body
    assert returns > 0


def test_the_population_mixes_every_behaviour_and_new_joiners_each_month() -> None:
    sim = simulate(seed=5, customers=1000, months=13)
    personas = Counter(c.persona for c in sim.customers)
    assert set(personas) == set(PERSONAS)
    joins = Counter(c.join_month for c in sim.customers)
    assert all(joins[m] > 0 for m in range(13))
    champion = next(c for c in sim.customers if c.persona == "champion" and c.join_month == 0)
    sleeper = next(c for c in sim.customers if c.persona == "sleeper")
    assert sleeper.rate(sleeper.change_month) == 0 and sleeper.rate(sleeper.wake_month) > 0
    assert champion.rate(5) > sleeper.rate(0)
