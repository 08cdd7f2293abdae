"""Earning rules as properties, through the ingest service on the in-memory ports: every answer's
points_breakdown sums to its points_earned; returns never take back more than a purchase earned, and a
purchase fully returned (in any pieces, with or without lines) has given back exactly what it earned
(points conserved); the order purchases arrive in, and the order of a purchase's returns, change
nothing (caps included)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from loyalty.fakes import InMemoryStore, RecordingPublisher, TransactionView
from loyalty.programme import parse_programme
from loyalty.service.ingest import IngestService

from tests.helpers import DEFAULT_PROGRAMME, FIXED_NOW, transaction_request

CATEGORIES = ["beauty", "shoes", "toys"]
DAY = "2026-11-{:02d}T10:00:00+01:00"

RULES = st.lists(
    st.fixed_dictionaries(
        {
            "when": st.fixed_dictionaries(
                {},
                optional={
                    "categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True)
                },
            )
        },
        optional={"cap": st.integers(1, 300), "stackable": st.booleans()},
    ).flatmap(
        lambda r: st.one_of(
            st.integers(2, 4).map(lambda m: {**r, "multiplier": m}),
            st.integers(1, 80).map(lambda b: {**r, "bonus_points": b}),
        )
    ),
    max_size=4,
)
LINES = st.lists(st.tuples(st.sampled_from(CATEGORIES), st.integers(1, 3), st.integers(0, 9000)), max_size=4)
PURCHASES = st.lists(st.tuples(LINES, st.integers(100, 40000), st.integers(1, 20)), min_size=1, max_size=6)


def programme(rules: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    data = json.loads(DEFAULT_PROGRAMME.read_text(encoding="utf-8"))
    for tier in data["tiers"]:  # tier multipliers would make arrival order matter through upgrades
        tier["multiplier"] = 1
    data["earning"]["rules"] = [{"name": f"rule{i}", **rule} for i, rule in enumerate(rules)]
    return parse_programme(data)


def service(prog) -> tuple[IngestService, InMemoryStore]:  # type: ignore[no-untyped-def]
    store = InMemoryStore()
    svc = IngestService(
        store, TransactionView(store), RecordingPublisher(), prog, sleep=lambda _: None, now=lambda: FIXED_NOW
    )
    return svc, store


def amount(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def lines_of(lines: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [
        {"sku": f"SKU-{cat}", "category": cat, "quantity": qty, "unit_price": amount(price)}
        for cat, qty, price in lines
    ]


def buy(svc: IngestService, index: int, purchase: tuple[Any, int, int]) -> dict[str, Any]:
    lines, cents, day = purchase
    status, answer = svc.record(
        transaction_request(
            transaction_id=f"T{index}",
            amount=amount(cents),
            occurred_at=DAY.format(day),
            lines=lines_of(lines),
        )
    )
    assert status == 201, answer
    breakdown = answer.get("points_breakdown", [{"points": answer["points_earned"]}])  # none without rules
    assert sum(p["points"] for p in breakdown) == answer["points_earned"]
    return answer


@settings(max_examples=60, deadline=None)
@given(RULES, PURCHASES, st.randoms(use_true_random=False))
def test_arrival_order_changes_nothing(rules: list[dict[str, Any]], purchases: list[Any], rnd: Any) -> None:
    prog = programme(rules)
    first, first_store = service(prog)
    for index, purchase in enumerate(purchases):
        buy(first, index, purchase)
    order = list(enumerate(purchases))
    rnd.shuffle(order)
    second, second_store = service(prog)
    for index, purchase in order:
        buy(second, index, purchase)
    assert first_store.profiles["C1"].points_balance == second_store.profiles["C1"].points_balance


RETURNS = st.lists(st.tuples(st.integers(1, 100), st.booleans()), min_size=1, max_size=5)


@settings(max_examples=80, deadline=None)
@given(RULES, PURCHASES, RETURNS)
def test_returns_take_back_at_most_what_was_earned_and_all_of_it_at_the_end(
    rules: list[dict[str, Any]], purchases: list[Any], returns: list[tuple[int, bool]]
) -> None:
    svc, store = service(programme(rules))
    earned = {f"T{i}": buy(svc, i, p)["points_earned"] for i, p in enumerate(purchases)}
    taken = dict.fromkeys(earned, 0)
    for number, (percent, with_lines) in enumerate(returns):
        for txn_id in earned:
            left = store.transactions[txn_id].amount - store.transactions[txn_id].returned
            part = left if number == len(returns) - 1 else left * percent // 100
            if part <= 0:
                continue
            lines = []
            categories = store.transactions[txn_id].categories
            if with_lines and len(categories) == 1:  # a line of the purchase's one category, exact
                (category,) = categories
                lines = lines_of([(category, 1, part)])
            status, answer = svc.record(
                transaction_request(
                    transaction_id=f"{txn_id}-R{number}", amount=amount(part), occurred_at=DAY.format(25),
                    original_transaction_id=txn_id, lines=lines,
                )
            )  # fmt: skip
            assert status == 201, answer
            breakdown = answer.get("points_breakdown", [{"points": answer["points_earned"]}])
            assert sum(p["points"] for p in breakdown) == answer["points_earned"] <= 0
            taken[txn_id] -= answer["points_earned"]
            assert taken[txn_id] <= earned[txn_id]
    assert taken == earned  # the last round returned everything that was left
    assert store.profiles["C1"].points_balance == 0
