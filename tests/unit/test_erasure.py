"""Erasure over the in-memory fakes: everything rewritten, aggregates kept, idempotent, crash-safe."""

import re
from dataclasses import asdict, replace

import pytest
from loyalty.fakes import InMemoryRedemptions, InMemoryStore, RecordingPublisher, TransactionView
from loyalty.service.erasure import ErasureService, erasure_token
from loyalty.service.ingest import ApiError, IngestService
from loyalty.service.points import PointsService
from loyalty.service.redemptions import RedemptionService

from tests.helpers import FIXED_NOW, default_programme, transaction_request

PEPPER = "test-pepper"


class Crash(Exception):
    pass


@pytest.fixture
def world():
    store = InMemoryStore()
    programme = default_programme()
    publisher = RecordingPublisher()
    reds = InMemoryRedemptions(store)
    view = TransactionView(store)
    ingest = IngestService(store, view, publisher, programme, now=lambda: FIXED_NOW, sleep=lambda s: None)
    service = RedemptionService(store, reds, publisher, programme, now=lambda: FIXED_NOW)
    points = PointsService(store, view, programme, now=lambda: FIXED_NOW)
    erasure = ErasureService(reds, PEPPER, now=lambda: FIXED_NOW)
    return store, reds, ingest, service, points, erasure


def history(world, customer="C1"):
    store, _, ingest, service, *_ = world
    ingest.record(transaction_request(transaction_id="T1", customer_id=customer, amount="800.00"))
    ingest.record(transaction_request(transaction_id="T2", customer_id=customer, amount="300.00"))
    ingest.record(
        transaction_request(
            transaction_id="RET", customer_id=customer, amount="100.00", original_transaction_id="T2"
        )
    )
    service.redeem(customer, "R1", 500)
    return store.get(customer)


def holds(world, value: str) -> list[str]:
    """Every stored record (profiles, transactions, redemptions, vouchers, erasures) holding `value`."""
    store, reds, *_ = world
    # The id as a token of its own: "C1" inside a random voucher code such as "8C1F" is not the customer.
    alone = re.compile(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])")
    found = []
    for name, records in (
        ("profile", store.profiles),
        ("transaction", store.transactions),
        ("redemption", reds.redemptions),
        ("voucher", reds.vouchers_by_code),
        ("erasure", reds.erasures),
    ):
        for key, record in records.items():
            if value == key or alone.search(repr(asdict(record))):
                found.append(f"{name} {key}")
    return found


def test_erase_rewrites_everything_and_keeps_aggregates(world):
    store, reds, ingest, service, points, erasure = world
    before = history(world)
    ingest.record(transaction_request(transaction_id="OTHER", customer_id="C2", amount="10.00"))
    assert erasure.erase("C1")["status"] == "erased"
    assert holds(world, "C1") == []
    token = erasure_token("C1", PEPPER)
    anonymous = store.profiles[token]
    assert anonymous.erased and anonymous.customer_id == token
    for name in (
        "lifetime_spend",
        "lifetime_purchases",
        "points_balance",
        "points_redeemed",
        "months",
        "tier",
    ):
        assert getattr(anonymous, name) == getattr(before, name), name
    assert {t.customer_id for k, t in store.transactions.items() if k != "OTHER"} == {token}
    assert store.transactions["OTHER"].customer_id == "C2" and store.get("C2") is not None
    assert reds.erasures[token].erased_at == "2026-11-24T12:00:00+00:00"
    for call in (lambda: points.card("C1"), lambda: service.redeem("C1", "R1", 500)):
        with pytest.raises(ApiError) as err:
            call()
        assert err.value.status == 404
    assert points.card("C2")["points_balance"] == 10


def test_token_is_a_keyed_hash(world):
    token = erasure_token("C1", PEPPER)
    assert token == erasure_token("C1", PEPPER) != erasure_token("C1", "other") != erasure_token("C2", PEPPER)
    assert "C1" not in token and len(token) == len("anon-") + 64


def test_erase_twice_is_idempotent_and_unknown_is_404(world):
    _, reds, _, _, _, erasure = world
    history(world)
    first = erasure.erase("C1")
    assert erasure.erase("C1") == first
    assert reds.erasures[erasure_token("C1", PEPPER)].erasures == 1
    with pytest.raises(ApiError) as err:
        erasure.erase("never-seen")
    assert err.value.status == 404


@pytest.mark.parametrize("step", ["anonymise_vouchers", "anonymise_transactions", "finish"])
def test_a_crash_at_any_step_is_completed_by_a_retry(world, monkeypatch, step):
    store, reds, _, _, points, erasure = world
    history(world)
    real = getattr(reds, step)

    def crash(*args, **kwargs):
        raise Crash(step)

    monkeypatch.setattr(reds, step, crash)
    with pytest.raises(Crash):
        erasure.erase("C1")
    with pytest.raises(ApiError) as err:  # already invisible: the profile was marked first
        points.card("C1")
    assert err.value.status == 404
    monkeypatch.setattr(reds, step, real)
    erasure.erase("C1")
    assert holds(world, "C1") == []
    assert store.profiles[erasure_token("C1", PEPPER)].lifetime_spend == 100_000


def test_a_purchase_landing_midway_is_refused_and_a_write_midway_is_swept_again(world, monkeypatch):
    store, reds, ingest, _, _, erasure = world
    history(world)
    real = reds.anonymise_transactions
    calls = []

    def with_writes(customer_id, token):
        done = real(customer_id, token)
        if not calls:
            # A till posts a purchase between the sweep and the final move: refused, nothing written.
            with pytest.raises(ApiError) as refused:
                ingest.record(transaction_request(transaction_id="LATE", customer_id="C1", amount="20.00"))
            assert (refused.value.status, refused.value.code) == (409, "customer_erased")
            # Another writer (the monthly run) bumps the version: the final move must retry.
            profile = store.profiles["C1"]
            store.profiles["C1"] = replace(profile, version=profile.version + 1)
        calls.append(done)
        return done

    monkeypatch.setattr(reds, "anonymise_transactions", with_writes)
    erasure.erase("C1")
    assert calls == [3, 0]  # the final move failed on the version and the sweep ran again
    assert holds(world, "C1") == []
    assert "LATE" not in store.transactions


def test_a_reused_card_erased_again_keeps_both_anonymous_profiles(world):
    store, reds, ingest, _, _, erasure = world
    history(world)
    erasure.erase("C1")
    ingest.record(transaction_request(transaction_id="NEW", customer_id="C1", amount="30.00"))
    erasure.erase("C1")
    token = erasure_token("C1", PEPPER)
    assert store.profiles[token].lifetime_spend == 100_000
    assert store.profiles[f"{token}.2"].lifetime_spend == 3_000
    assert reds.erasures[token].erasures == 2 and reds.erasures[token].profile_key == f"{token}.2"
    assert holds(world, "C1") == []
