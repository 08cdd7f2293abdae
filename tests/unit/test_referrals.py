"""Referrals on the in-memory ports: the stable code, the decision (domain/referrals.py) and a referee's
first purchase rewarding both as pending points of that purchase; refusals record the purchase."""

from __future__ import annotations

import json
from datetime import date

import pytest
from loyalty.domain.referrals import ReferralFacts, refusal
from loyalty.fakes import InMemoryStore, RecordingPublisher, TransactionView
from loyalty.programme import ProgrammeError, parse_programme
from loyalty.programme.rewards import Referrals
from loyalty.service.ingest import ApiError, IngestService
from loyalty.service.referrals import ReferralService

from tests.helpers import DEFAULT_PROGRAMME, FIXED_NOW, transaction_request

TODAY = "2026-11-24T10:00:00+01:00"
RULES = Referrals(referrer_points=200, referee_points=100, min_amount=3000, max_per_referrer=1)


def programme(pending_days: int = 30, **referrals: object):  # type: ignore[no-untyped-def]
    data = json.loads(DEFAULT_PROGRAMME.read_text(encoding="utf-8"))
    data["earning"]["pending_days"] = pending_days
    data["referrals"] = {"referrer_points": 200, "referee_points": 100, "min_amount": "30.00",
                         "max_per_referrer": 1, **referrals}  # fmt: skip
    return parse_programme(data)


def facts(**kw: object) -> ReferralFacts:
    values: dict = {"referee_id": "B", "referee_purchases": 0, "amount": 5000, "day": date(2026, 11, 24),
                    "referrer_id": "A", "referrer_usable": True, "rewarded_days": ()}  # fmt: skip
    values.update(kw)
    return ReferralFacts(**values)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({}, None),
        ({"referrer_id": None}, "unknown_code"),
        ({"referrer_id": "B"}, "own_code"),
        ({"referee_purchases": 1}, "not_first_purchase"),
        ({"amount": 2999}, "below_min_amount"),
        ({"referrer_usable": False}, "referrer_unavailable"),
        ({"rewarded_days": ("2026-01-10",)}, "referrer_limit_reached"),
        ({"rewarded_days": ("2025-11-24",)}, None),  # more than 12 months ago: no longer counted
    ],
)
def test_the_decision(change: dict, reason: str | None) -> None:
    assert refusal(RULES, facts(**change)) == reason
    assert refusal(None, facts()) == "no_referral_programme"


def test_bad_referral_settings_are_named() -> None:
    with pytest.raises(ProgrammeError) as caught:
        programme(max_per_referrer=0)
    assert caught.value.key == "referrals.max_per_referrer"


def setup(prog):  # type: ignore[no-untyped-def]
    store = InMemoryStore()
    publisher = RecordingPublisher()
    ingest = IngestService(
        store, TransactionView(store), publisher, prog, store, sleep=lambda _: None, now=lambda: FIXED_NOW
    )
    return ingest, ReferralService(store, store, sleep=lambda _: None), store, publisher


def test_the_code_is_stable_and_needs_a_customer() -> None:
    ingest, referrals, _, _ = setup(programme())
    with pytest.raises(ApiError) as caught:
        referrals.code_for("A")
    assert caught.value.status == 404
    ingest.record(transaction_request(transaction_id="TA", customer_id="A", occurred_at=TODAY))
    first = referrals.code_for("A")
    assert referrals.code_for("A") == first and len(first["referral_code"]) == 8


def test_a_first_purchase_with_the_code_rewards_both_as_pending_points_and_a_full_return_takes_them() -> None:
    ingest, referrals, store, publisher = setup(programme())
    ingest.record(transaction_request(transaction_id="TA", customer_id="A", occurred_at=TODAY))
    code = referrals.code_for("A")["referral_code"]
    _, answer = ingest.record(
        transaction_request(
            transaction_id="TB",
            customer_id="B",
            amount="50.00",
            occurred_at=TODAY,
            referral_code=code.lower(),
        )
    )
    assert answer["referral"] == {"status": "rewarded", "referrer_id": "A", "referee_points": 100,
                                  "referrer_points": 200}  # fmt: skip
    assert answer["points_earned"] == 150 and answer["points_pending"] == 150
    assert answer["points_breakdown"] == [{"rule": "base", "points": 50}, {"rule": "referral", "points": 100}]
    assert store.profiles["A"].pending == {"2026-11-24": 210} and store.profiles["A"].points_balance == 210
    (event,) = [e for e in publisher.events if e.detail_type == "ReferralRewarded"]
    assert (event.detail["customer_id"], event.detail["referee_id"]) == ("A", "B")
    # a second referee: over max_per_referrer, recorded, refused
    _, second = ingest.record(
        transaction_request(
            transaction_id="TC", customer_id="C", amount="50.00", occurred_at=TODAY, referral_code=code
        )
    )
    assert second["referral"] == {"status": "refused", "reason": "referrer_limit_reached"}
    assert second["points_earned"] == 50 and "TC" in store.transactions
    # the full return of B's purchase inside the window takes back both
    _, back = ingest.record(
        transaction_request(
            transaction_id="RB",
            customer_id="B",
            amount="50.00",
            occurred_at=TODAY,
            original_transaction_id="TB",
        )
    )
    assert back["points_earned"] == -150 and store.profiles["B"].points_balance == 0
    assert store.profiles["A"].points_balance == 10


def test_own_code_and_a_second_purchase_are_refused_and_recorded() -> None:
    ingest, referrals, store, _ = setup(programme())
    ingest.record(transaction_request(transaction_id="TA", customer_id="A", occurred_at=TODAY))
    code = referrals.code_for("A")["referral_code"]
    _, own = ingest.record(transaction_request(transaction_id="TA2", customer_id="A", occurred_at=TODAY,
                                               referral_code=code))  # fmt: skip
    assert own["referral"]["reason"] == "own_code"
    _, unknown = ingest.record(transaction_request(transaction_id="TB", customer_id="B", amount="50.00",
                                                   occurred_at=TODAY, referral_code="ZZZZ9999"))  # fmt: skip
    assert unknown["referral"]["reason"] == "unknown_code" and unknown["points_earned"] == 50
    _, late = ingest.record(transaction_request(transaction_id="TB2", customer_id="B", amount="50.00",
                                                occurred_at=TODAY, referral_code=code))  # fmt: skip
    assert late["referral"]["reason"] == "not_first_purchase"
    assert store.profiles["A"].points_balance == 20


def test_erasure_deletes_the_referral_code() -> None:
    from loyalty.fakes import InMemoryRedemptions
    from loyalty.service.erasure import ErasureService

    ingest, referrals, store, _ = setup(programme())
    ingest.record(transaction_request(transaction_id="TA", customer_id="A", occurred_at=TODAY))
    code = referrals.code_for("A")["referral_code"]
    ErasureService(InMemoryRedemptions(store), "pepper", now=lambda: FIXED_NOW, rewards=store).erase("A")
    assert store.codes == {} and store.referrers == {}
    _, answer = ingest.record(
        transaction_request(
            transaction_id="TB", customer_id="B", amount="50.00", occurred_at=TODAY, referral_code=code
        )
    )
    assert answer["referral"] == {"status": "refused", "reason": "unknown_code"}
