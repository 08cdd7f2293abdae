"""Redemptions, vouchers and erasure on the real adapters against moto: counted calls, conditions,
and the calls each adapter method makes are the ones permissions.py declares."""

from dataclasses import replace
from datetime import timedelta

import boto3
import pytest
from loyalty.adapters.customer_store import DynamoCustomerStore
from loyalty.adapters.erasure_store import DynamoErasureStore
from loyalty.adapters.eventbridge import EventBridgePublisher
from loyalty.adapters.ledger_store import DynamoLedgerStore
from loyalty.adapters.permissions import ADAPTER_CALLS
from loyalty.adapters.redemption_store import DynamoRedemptionStore
from loyalty.adapters.transaction_store import DynamoTransactionStore
from loyalty.ports import Redemption, StoredTransaction, VersionConflict
from loyalty.service.erasure import ErasureService, erasure_token
from loyalty.service.ingest import ApiError, IngestService
from loyalty.service.points import PointsService
from loyalty.service.redemptions import RedemptionService

from tests.helpers import FIXED_NOW, default_programme, transaction_request


class Clock:
    now = FIXED_NOW

    def __call__(self):
        return self.now


@pytest.fixture
def world(aws_tables):
    programme = default_programme()
    clock = Clock()
    customers, transactions = DynamoCustomerStore(), DynamoTransactionStore()
    publisher = EventBridgePublisher(aws_tables.event_bus_name, aws_tables.event_source)
    ingest = IngestService(customers, transactions, publisher, programme, now=clock)
    service = RedemptionService(customers, DynamoRedemptionStore(), publisher, programme, now=clock)
    erasure = ErasureService(
        DynamoErasureStore(), aws_tables.erasure_pepper, now=clock, ledger=DynamoLedgerStore()
    )
    points = PointsService(customers, transactions, programme, now=clock)
    return ingest, service, erasure, points, clock, aws_tables


def buy(ingest, amount, transaction_id="T1", customer_id="C1", **kw):
    return ingest.record(
        transaction_request(transaction_id=transaction_id, customer_id=customer_id, amount=amount, **kw)
    )


def declared(method: str) -> set[str]:
    return {a.split(":")[1] for access in ADAPTER_CALLS[method] for a in access.actions}


def test_redemption_is_one_read_one_transact_write_one_put_events(world, api_calls):
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    api_calls.clear()
    status, answer = service.redeem("C1", "R1", 500)
    assert status == 201 and answer["points_balance"] == 500
    assert dict(api_calls) == {"GetItem": 1, "TransactWriteItems": 1, "PutEvents": 1}
    profile = DynamoCustomerStore().get("C1")
    assert (profile.points_balance, profile.points_redeemed, profile.version) == (500, 500, 2)


def test_replay_and_short_balance_calls(world, api_calls):
    ingest, service, *_ = world
    buy(ingest, "500.00")
    first = service.redeem("C1", "R1", 500)
    api_calls.clear()
    assert service.redeem("C1", "R1", 500) == first  # balance now 0: found as a duplicate, replayed
    assert dict(api_calls) == {"GetItem": 3, "PutEvents": 1}
    api_calls.clear()
    with pytest.raises(ApiError) as err:
        service.redeem("C1", "R2", 500)
    assert err.value.status == 409 and dict(api_calls) == {"GetItem": 2}


def test_the_conditions_hold_on_dynamodb(world):
    """Stale version, short balance and a reused redemption id are refused by DynamoDB itself."""
    ingest, service, *_ = world
    buy(ingest, "600.00")
    store = DynamoRedemptionStore()
    profile = DynamoCustomerStore().get("C1")
    _, answer = service.redeem("C1", "R1", 500)
    code = answer["voucher"]["code"]
    from loyalty.ports import DuplicateRedemption, Voucher

    voucher = Voucher("NEW0-0000-0000-0000", "C1", "R2", 500, 500, "EUR", "x", "2027-01-01", "2027-01-02")
    with pytest.raises(VersionConflict):  # stale version
        store.redeem(Redemption("R2", "C1", 500, "x", voucher.code), voucher, profile.version)
    current = DynamoCustomerStore().get("C1")
    with pytest.raises(VersionConflict):  # balance 100 does not cover 500, whatever the version
        store.redeem(Redemption("R2", "C1", 500, "x", voucher.code), voucher, current.version)
    with pytest.raises(DuplicateRedemption):
        store.redeem(Redemption("R1", "C1", 100, "x", voucher.code), voucher, current.version)
    with pytest.raises(VersionConflict):  # a voucher code that exists
        store.redeem(Redemption("R3", "C1", 100, "x", code), replace(voucher, code=code), current.version)
    assert store.get_redemption("R2") is None and store.get_redemption("R3") is None
    assert DynamoCustomerStore().get("C1").points_balance == 100


def test_a_redemption_makes_a_stale_ingest_write_fail(world):
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    stale = DynamoCustomerStore().get("C1")
    service.redeem("C1", "R1", 500)
    txn = StoredTransaction("T9", "C1", "purchase", "2026-03-10T10:00:00+01:00", "k#T9", "EUR", 100, "h")
    with pytest.raises(VersionConflict):
        DynamoTransactionStore().record(txn, replace(stale, points_balance=1001), stale.version)
    assert DynamoCustomerStore().get("C1").points_balance == 500


def test_use_voucher_calls_and_statuses(world, api_calls):
    ingest, service, _, _, clock, _ = world
    buy(ingest, "1000.00")
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    api_calls.clear()
    assert service.use_voucher(code)["status"] == "used"
    assert dict(api_calls) == {"UpdateItem": 1}
    api_calls.clear()
    with pytest.raises(ApiError) as err:
        service.use_voucher(code)
    assert err.value.status == 409 and dict(api_calls) == {"UpdateItem": 1, "GetItem": 1}
    with pytest.raises(ApiError) as err:
        service.use_voucher("ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    assert err.value.status == 404
    other = service.redeem("C1", "R2", 500)[1]["voucher"]["code"]
    clock.now = FIXED_NOW + timedelta(days=91)
    with pytest.raises(ApiError) as err:
        service.use_voucher(other)
    assert err.value.status == 410
    assert {v["code"]: v["status"] for v in service.list_vouchers("C1", 10, None)["items"]} == {
        code: "used",
        other: "expired",
    }
    assert {"UpdateItem", "GetItem"} == declared("DynamoRedemptionStore.use_voucher")


def test_voucher_pages_are_one_query_each(world, api_calls):
    ingest, service, _, _, clock, _ = world
    buy(ingest, "1500.00")
    for n in range(3):
        clock.now = FIXED_NOW + timedelta(minutes=n)
        service.redeem("C1", f"R{n}", 500)
    api_calls.clear()
    page = service.list_vouchers("C1", 2, None)
    assert dict(api_calls) == {"GetItem": 1, "Query": 1}
    rest = service.list_vouchers("C1", 2, page["next_cursor"])
    assert [v["redemption_id"] for v in page["items"] + rest["items"]] == ["R2", "R1", "R0"]
    with pytest.raises(ApiError) as err:
        service.list_vouchers("C2", 2, page["next_cursor"])
    assert err.value.status in (400, 404)


def _all_items(settings):
    client = boto3.client("dynamodb")
    for table in client.list_tables()["TableNames"]:
        for item in client.scan(TableName=table)["Items"]:
            yield table, item


def _values(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _values(v)
    else:
        yield value


def test_erasure_leaves_no_trace_and_keeps_aggregates(world, api_calls):
    ingest, service, erasure, points, _, settings = world
    buy(ingest, "800.00")
    buy(ingest, "300.00", "T2")
    buy(ingest, "100.00", "RET", original_transaction_id="T2")
    service.redeem("C1", "R1", 500)
    buy(ingest, "10.00", "OTHER", customer_id="C2")
    before = DynamoCustomerStore().get("C1")
    api_calls.clear()
    erasure.erase("C1")
    # mark, vouchers (1 Query, 1 batch of 2 updates), transactions (1 Query, 1 batch of 3), the ledger
    # (1 Query, 1 batch of deletes), the final move
    assert dict(api_calls) == {"UpdateItem": 1, "Query": 3, "TransactWriteItems": 4}
    leaks = [(t, i) for t, i in _all_items(settings) if "C1" in set(_values(i))]
    assert leaks == []
    token = erasure_token("C1", settings.erasure_pepper)
    anonymous = DynamoCustomerStore().get(token)
    assert anonymous.erased and anonymous.lifetime_spend == before.lifetime_spend == 100_000
    assert anonymous.points_redeemed == 500 and anonymous.months == before.months
    assert DynamoErasureStore().erasure(token).erased_at == "2026-11-24T12:00:00+00:00"
    with pytest.raises(ApiError) as err:
        points.card("C1")
    assert err.value.status == 404
    assert points.card("C2")["points_balance"] == 10
    api_calls.clear()
    assert erasure.erase("C1")["erased_at"] == "2026-11-24T12:00:00+00:00"  # a retry: nothing to do
    assert dict(api_calls) == {"UpdateItem": 1, "GetItem": 1, "Query": 3}  # the sweeps find nothing


def test_erasure_crash_midway_is_completed_by_a_retry(world, monkeypatch):
    ingest, service, erasure, points, _, settings = world
    buy(ingest, "800.00")
    service.redeem("C1", "R1", 500)
    store = erasure.erasures

    def crash(*args):
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(store, "finish", crash)
    with pytest.raises(RuntimeError):
        erasure.erase("C1")
    with pytest.raises(ApiError):
        points.card("C1")  # marked erased first: already 404
    monkeypatch.undo()
    erasure.erase("C1")
    assert [(t, i) for t, i in _all_items(settings) if "C1" in set(_values(i))] == []
    assert DynamoCustomerStore().get(erasure_token("C1", settings.erasure_pepper)).lifetime_spend == 80_000


def test_adapter_calls_are_within_the_declared_permissions(world, api_calls):
    """Non-transactional calls each method makes are among the actions permissions.py declares."""
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    store, erasures = DynamoRedemptionStore(), DynamoErasureStore()
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    checks = {
        "DynamoRedemptionStore.get_redemption": lambda: store.get_redemption("R1"),
        "DynamoRedemptionStore.vouchers": lambda: store.vouchers("C1", 5, None),
        "DynamoRedemptionStore.use_voucher": lambda: store.use_voucher(code, "2026-11-24T12:00:00+00:00"),
        "DynamoErasureStore.erasure": lambda: erasures.erasure("x"),
        "DynamoErasureStore.mark_erased": lambda: erasures.mark_erased("C1"),
        "DynamoErasureStore.anonymise_vouchers": lambda: erasures.anonymise_vouchers("C1", "tok"),
        "DynamoErasureStore.anonymise_transactions": lambda: erasures.anonymise_transactions("C1", "tok"),
    }
    for method, call in checks.items():
        api_calls.clear()
        call()
        # A TransactWriteItems (the erasure's batches of updates) is authorised per item: UpdateItem.
        made = {"UpdateItem" if op == "TransactWriteItems" else op for op in api_calls}
        assert made <= declared(method), method
        assert api_calls, method
