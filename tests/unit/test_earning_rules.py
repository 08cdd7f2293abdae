"""earning.rules[]: the loader's checks, the pure rules (domain/earning_rules.py) and a purchase and its
returns through the ingest service on the in-memory ports (points_breakdown, proportional returns)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from loyalty.domain.earning_rules import Basket, BasketLine, rule_points, scaled_lines, taken_back, worth
from loyalty.fakes import InMemoryStore, RecordingPublisher, TransactionView
from loyalty.programme import ProgrammeError, parse_programme
from loyalty.programme.rewards import EarningRule, RuleWhen
from loyalty.service.ingest import IngestService

from tests.helpers import DEFAULT_PROGRAMME, FIXED_NOW, transaction_request

BEAUTY_X2 = {
    "name": "beauty x2",
    "when": {"categories": ["beauty"], "from": "2026-11-01", "to": "2026-11-30"},
    "multiplier": 2,
}


def programme_with(rules: list[dict[str, Any]], **extra: Any):  # type: ignore[no-untyped-def]
    data = json.loads(DEFAULT_PROGRAMME.read_text(encoding="utf-8"))
    data["earning"]["rules"] = rules
    data.update(extra)
    return parse_programme(data)


def basket(amount: int, lines: tuple[BasketLine, ...] = (), **kw: Any) -> Basket:
    values: dict[str, Any] = {
        "store_id": "S1", "channel": "store", "day": date(2026, 11, 24), "tier": "member", "segment": None,
    }  # fmt: skip
    values.update(kw)
    return Basket(amount, lines, **values)


LINES = (BasketLine("LIP-1", "beauty", 5000), BasketLine("SHOE-1", "shoes", 5000))


# -- the loader ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "key"),
    [
        ({"name": "r", "when": {}}, "earning.rules[0].multiplier"),
        ({"name": "r", "multiplier": 2, "bonus_points": 5}, "earning.rules[0].multiplier"),
        ({"name": "r", "multiplier": 1}, "earning.rules[0].multiplier"),
        ({"name": "r", "multiplier": 2, "when": {"from": "2026-13-01"}}, "earning.rules[0].when.from"),
        ({"name": "r", "multiplier": 2, "when": {"from": "2026-12-02", "to": "2026-12-01"}}, "earning.rules[0].when.to"),  # noqa: E501
        ({"name": "r", "multiplier": 2, "when": {"tiers": ["platinum"]}}, "earning.rules[0].when.tiers"),
        ({"name": "r", "multiplier": 2, "when": {"categories": "beauty"}}, "earning.rules[0].when.categories"),  # noqa: E501
        ({"name": "r", "multiplier": 2, "when": {"min_amount": "ten"}}, "earning.rules[0].when.min_amount"),
        ({"name": "r", "bonus_points": 50, "cap": 0}, "earning.rules[0].cap"),
        ({"name": "r", "multiplier": 2, "when": {"weekday": 3}}, "earning.rules[0].when.weekday"),
        ({"name": "base", "multiplier": 2}, "earning.rules[0].name"),
    ],
)  # fmt: skip
def test_a_bad_rule_is_named_by_its_key(rule: dict[str, Any], key: str) -> None:
    with pytest.raises(ProgrammeError) as caught:
        programme_with([rule])
    assert caught.value.key == key, str(caught.value)


def test_a_rule_name_used_twice_is_refused() -> None:
    with pytest.raises(ProgrammeError) as caught:
        programme_with([BEAUTY_X2, BEAUTY_X2])
    assert caught.value.key == "earning.rules[1].name"


def test_rules_load_in_order_with_their_conditions() -> None:
    programme = programme_with([BEAUTY_X2, {"name": "welcome", "bonus_points": 50, "stackable": False}])
    first, second = programme.earning_rules
    assert first.when.categories == ("beauty",) and first.when.start == date(2026, 11, 1)
    assert first.multiplier == 2 and second.bonus_points == 50 and not second.stackable


# -- the pure rules ----------------------------------------------------------------------------------


def test_a_multiplier_adds_the_matched_share_once_more() -> None:
    rule = EarningRule("beauty x2", RuleWhen(categories=("beauty",)), multiplier=2)
    (points,) = rule_points([rule], basket(10000, LINES), rate=1, unit=100)
    assert (points.rule, points.points, dict(points.matched)) == ("beauty x2", 50, {"beauty": 5000})
    triple = EarningRule("x3", RuleWhen(categories=("beauty",)), multiplier=3)
    assert rule_points([triple], basket(10000, LINES), rate=2, unit=100)[0].points == 200  # 2 x 50 x 2


@pytest.mark.parametrize(
    ("when", "matches"),
    [
        (RuleWhen(stores=("S2",)), False),
        (RuleWhen(stores=("S1",), channels=("store",)), True),
        (RuleWhen(channels=("web",)), False),
        (RuleWhen(start=date(2026, 11, 25)), False),
        (RuleWhen(end=date(2026, 11, 24)), True),
        (RuleWhen(end=date(2026, 11, 23)), False),
        (RuleWhen(tiers=("silver",)), False),
        (RuleWhen(segments=("Champions",)), False),
        (RuleWhen(min_amount=10000), True),
        (RuleWhen(min_amount=10001), False),
        (RuleWhen(skus=("LIP-1",)), True),
        (RuleWhen(skus=("LIP-9",)), False),
        (RuleWhen(categories=("shoes",), skus=("LIP-1",)), False),  # a line must match both
    ],
)
def test_each_condition_decides(when: RuleWhen, matches: bool) -> None:
    rule = EarningRule("bonus", when, bonus_points=25)
    assert bool(rule_points([rule], basket(10000, LINES), 1, 100)) is matches


def test_a_rule_by_line_does_not_match_a_basket_without_lines() -> None:
    rule = EarningRule("beauty x2", RuleWhen(categories=("beauty",)), multiplier=2)
    assert rule_points([rule], basket(10000), 1, 100) == ()
    whole = EarningRule("all x2", RuleWhen(), multiplier=2)
    assert rule_points([whole], basket(10000), 1, 100)[0].points == 100


def test_the_cap_counts_what_the_month_already_gave() -> None:
    rule = EarningRule("welcome", RuleWhen(), bonus_points=40, cap=100)
    assert rule_points([rule], basket(1000), 1, 100, {"welcome": 80})[0].points == 20
    assert rule_points([rule], basket(1000), 1, 100, {"welcome": 100}) == ()


def test_a_non_stackable_match_stops_the_later_rules() -> None:
    stop = EarningRule("only this", RuleWhen(categories=("beauty",)), multiplier=2, stackable=False)
    later = EarningRule("later", RuleWhen(), bonus_points=10)
    assert [p.rule for p in rule_points([stop, later], basket(10000, LINES), 1, 100)] == ["only this"]
    assert [p.rule for p in rule_points([stop, later], basket(10000), 1, 100)] == ["later"]  # no match


def test_lines_are_scaled_exactly_to_the_amount_paid() -> None:
    lines = scaled_lines([("A", "beauty", 3333), ("B", "shoes", 3333), ("C", "toys", 3334)], 9000)
    assert sum(line.amount for line in lines) == 9000


def test_a_return_of_the_matched_line_takes_its_whole_bonus_and_half_of_it_half() -> None:
    (entry,) = rule_points(
        [EarningRule("beauty x2", RuleWhen(categories=("beauty",)), multiplier=2)],
        basket(10000, LINES),
        1,
        100,
    )
    whole = {"beauty": 5000, "shoes": 5000}
    assert worth(entry, {"beauty": 2500}, whole) == 25
    assert taken_back([entry], whole, {}, {"beauty": 5000}, False)[0].points == 50
    assert taken_back([entry], whole, {}, {"shoes": 5000}, False) == ()
    assert taken_back([entry], whole, {"shoes": 5000}, {"shoes": 5000, "beauty": 1}, True)[0].points == 50


# -- through the ingest service --------------------------------------------------------------------


def service_for(programme) -> tuple[IngestService, InMemoryStore]:  # type: ignore[no-untyped-def]
    store = InMemoryStore()
    service = IngestService(
        store,
        TransactionView(store),
        RecordingPublisher(),
        programme,
        sleep=lambda _: None,
        now=lambda: FIXED_NOW,
    )
    return service, store


BEAUTY_AND_SHOES = [
    {"sku": "LIP-1", "category": "beauty", "quantity": 1, "unit_price": "50.00"},
    {"sku": "SHOE-1", "category": "shoes", "quantity": 1, "unit_price": "50.00"},
]
TODAY = "2026-11-24T10:00:00+01:00"


def test_a_purchase_answers_and_stores_its_breakdown_and_a_line_return_takes_its_share() -> None:
    service, store = service_for(programme_with([BEAUTY_X2]))
    status, answer = service.record(
        transaction_request(amount="100.00", lines=BEAUTY_AND_SHOES, occurred_at=TODAY)
    )
    assert status == 201 and answer["points_earned"] == 150
    assert answer["points_breakdown"] == [
        {"rule": "base", "points": 100},
        {"rule": "beauty x2", "points": 50},
    ]
    assert store.transactions["T1"].points_breakdown[0]["matched"] == {"beauty": 5000}
    status, back = service.record(
        transaction_request(
            transaction_id="R1", amount="50.00", occurred_at=TODAY, original_transaction_id="T1",
            lines=[BEAUTY_AND_SHOES[0]],
        )
    )  # fmt: skip
    assert status == 201 and back["points_earned"] == -100, back
    assert back["points_breakdown"] == [{"rule": "base", "points": -50}, {"rule": "beauty x2", "points": -50}]
    assert store.profiles["C1"].points_balance == 50
    # the shoes go back too: nothing of the bonus is left to take
    _, rest = service.record(
        transaction_request(
            transaction_id="R2", amount="50.00", occurred_at=TODAY, original_transaction_id="T1",
            lines=[BEAUTY_AND_SHOES[1]],
        )
    )  # fmt: skip
    assert rest["points_earned"] == -50 and store.profiles["C1"].points_balance == 0


def test_outside_the_dates_no_bonus_and_no_breakdown_entry() -> None:
    service, _ = service_for(programme_with([BEAUTY_X2]))
    _, answer = service.record(
        transaction_request(amount="100.00", lines=BEAUTY_AND_SHOES, occurred_at="2026-10-31T10:00:00+01:00")
    )
    assert answer["points_breakdown"] == [{"rule": "base", "points": 100}]


def test_a_programme_without_rules_answers_as_before() -> None:
    service, store = service_for(programme_with([]))
    _, answer = service.record(
        transaction_request(amount="100.00", lines=BEAUTY_AND_SHOES, occurred_at=TODAY)
    )
    assert "points_breakdown" not in answer and store.transactions["T1"].points_breakdown == []


# -- caps and tier rewards through the ingest service (the store is also the RewardStore) ---------------


def rewarding_service(programme) -> tuple[IngestService, InMemoryStore, RecordingPublisher]:  # type: ignore[no-untyped-def]
    store = InMemoryStore()
    publisher = RecordingPublisher()
    service = IngestService(
        store,
        TransactionView(store),
        publisher,
        programme,
        store,
        sleep=lambda _: None,
        now=lambda: FIXED_NOW,
    )
    return service, store, publisher


def test_a_cap_holds_over_the_month_and_starts_again_the_next() -> None:
    service, store, _ = rewarding_service(programme_with([{"name": "visit", "bonus_points": 40, "cap": 100}]))
    earned = [
        service.record(transaction_request(transaction_id=f"T{i}", occurred_at=day))[1]["points_breakdown"]
        for i, day in enumerate(
            ["2026-11-02T10:00:00+01:00"] * 3 + ["2026-11-20T10:00:00+01:00", "2026-10-05T10:00:00+02:00"]
        )
    ]
    assert [b[1:] for b in earned] == [
        [{"rule": "visit", "points": 40}],
        [{"rule": "visit", "points": 40}],
        [{"rule": "visit", "points": 20}],
        [],
        [{"rule": "visit", "points": 40}],  # the cap's room is per programme month
    ]
    assert sorted(c.counts["visit"] for c in store.counters.values()) == [40, 100]


def test_a_retried_purchase_does_not_count_twice_against_the_cap() -> None:
    service, store, _ = rewarding_service(programme_with([{"name": "visit", "bonus_points": 40, "cap": 100}]))
    first = service.record(transaction_request(occurred_at=TODAY))
    assert service.record(transaction_request(occurred_at=TODAY)) == first
    (counter,) = store.counters.values()
    assert counter.counts == {"visit": 40} and counter.version == 1


def silver_reward_programme():  # type: ignore[no-untyped-def]
    data = json.loads(DEFAULT_PROGRAMME.read_text(encoding="utf-8"))
    data["tiers"][1]["reward"] = {"percent": 10, "valid_days": 60}
    return parse_programme(data)


def test_entering_a_tier_issues_its_reward_once_per_month_entered() -> None:
    service, store, publisher = rewarding_service(silver_reward_programme())
    _, answer = service.record(transaction_request(amount="300.00", occurred_at=TODAY))
    assert answer["tier_upgrade"] == {"from": "member", "to": "silver"}
    reward = answer["tier_reward"]
    assert (reward["kind"], reward["percent"], reward["cause"], reward["points"]) == (
        "percent",
        10,
        "tier_reward",
        0,
    )
    assert reward["expires_on"] == "2027-01-23"  # 60 days after 24 November
    issued = [e for e in publisher.events if e.detail_type == "VoucherIssued"]
    assert [(e.detail["cause"], e.detail["kind"], e.detail["percent"]) for e in issued] == [
        ("tier_reward", "percent", 10)
    ]
    # the retry answers the same and issues nothing more (the same event id again)
    assert service.record(transaction_request(amount="300.00", occurred_at=TODAY))[1] == answer
    assert len(store.reward_vouchers) == 1
    assert {e.event_id for e in publisher.events if e.detail_type == "VoucherIssued"} == {issued[0].event_id}


def test_a_new_crossing_in_another_month_issues_a_new_reward_in_the_same_month_not() -> None:
    service, store, _ = rewarding_service(silver_reward_programme())
    october = "2026-10-20T10:00:00+02:00"
    assert "tier_reward" in service.record(transaction_request(amount="300.00", occurred_at=october))[1]
    returned = transaction_request(
        transaction_id="R1", amount="300.00", occurred_at=TODAY, original_transaction_id="T1"
    )
    assert service.record(returned)[1]["tier_downgrade"] == {"from": "silver", "to": "member"}
    # bought again in October (the month already rewarded): silver again, no second voucher
    again = service.record(transaction_request(transaction_id="T2", amount="300.00", occurred_at=october))[1]
    assert again["tier_upgrade"]["to"] == "silver" and "tier_reward" not in again
    service.record(transaction_request(transaction_id="R2", amount="300.00", occurred_at=TODAY,
                                       original_transaction_id="T2"))  # fmt: skip
    # in November: a new voucher
    november = service.record(transaction_request(transaction_id="T3", amount="300.00", occurred_at=TODAY))[1]
    assert november["tier_reward"]["percent"] == 10 and len(store.reward_vouchers) == 2
