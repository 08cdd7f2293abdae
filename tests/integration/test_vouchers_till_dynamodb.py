# ruff: noqa: F811 (the fixtures `world` and `seam` come from test_redemptions_dynamodb and test_faults)
"""Vouchers at a real till on the real adapters against moto: the calls a use with use_id and a cancel
make, and DynamoDB itself refusing a second cancel, a cancel after a use and a stale profile version."""

import pytest
from loyalty.adapters.customer_store import DynamoCustomerStore
from loyalty.adapters.redemption_store import DynamoRedemptionStore
from loyalty.ports import VersionConflict, VoucherNotUsable
from loyalty.service.ingest import ApiError

from tests.integration.test_faults import client_error, conflict, seam  # noqa: F401
from tests.integration.test_redemptions_dynamodb import buy, declared, world  # noqa: F401


def test_a_use_id_retry_is_one_update_and_one_read(world, api_calls):
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    api_calls.clear()
    first = service.use_voucher(code, "TICKET-1")
    assert dict(api_calls) == {"UpdateItem": 1}
    api_calls.clear()
    assert service.use_voucher(code, "TICKET-1") == first
    assert dict(api_calls) == {"UpdateItem": 1, "GetItem": 1}
    with pytest.raises(ApiError) as err:
        service.use_voucher(code, "TICKET-2")
    assert err.value.status == 409
    assert DynamoRedemptionStore().get_voucher(code).use_id == "TICKET-1"


def test_cancel_is_two_reads_one_transaction_one_event_and_a_retry_three_calls(world, api_calls):
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    api_calls.clear()
    first = service.cancel_voucher(code)
    assert dict(api_calls) == {"GetItem": 2, "TransactWriteItems": 1, "PutEvents": 1}
    assert first["points_balance"] == 1000
    api_calls.clear()
    assert service.cancel_voucher(code) == first
    # The voucher read, the profile read (the event's `contactable`: consents and status now), the event
    # again.
    assert dict(api_calls) == {"GetItem": 2, "PutEvents": 1}
    profile = DynamoCustomerStore().get("C1")
    assert (profile.points_balance, profile.points_redeemed) == (1000, 0)
    with pytest.raises(ApiError) as err:
        service.use_voucher(code, "TICKET-1")
    assert (err.value.status, err.value.code) == (409, "voucher_cancelled")


def test_the_cancel_conditions_hold_on_dynamodb(world):
    """A second cancel and a cancel after a use are refused by DynamoDB itself (the service's checks
    bypassed: the vouchers as read before), and a refused cancel writes nothing."""
    ingest, service, *_ = world
    buy(ingest, "1500.00")
    store = DynamoRedemptionStore()
    codes = [service.redeem("C1", f"R{n}", 500)[1]["voucher"]["code"] for n in range(2)]
    read = [store.get_voucher(code) for code in codes]  # both issued
    profile = DynamoCustomerStore().get("C1")
    at = "2026-11-24T12:00:00.000000+00:00"
    store.cancel_voucher(read[0], at, profile.version, profile.points_balance + 500)
    with pytest.raises(VoucherNotUsable):  # the same cancel again, even at the new version
        store.cancel_voucher(read[0], at, profile.version + 1, profile.points_balance + 1000)
    assert store.get_voucher(codes[0]).status == "cancelled"
    service.use_voucher(codes[1])
    with pytest.raises(VoucherNotUsable):  # used after it was read
        store.cancel_voucher(read[1], at, profile.version + 1, profile.points_balance + 1000)
    assert store.get_voucher(codes[1]).status == "used"
    after = DynamoCustomerStore().get("C1")
    assert (after.points_balance, after.version) == (profile.points_balance + 500, profile.version + 1)


def test_a_stale_profile_version_cancels_nothing(world):
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    store = DynamoRedemptionStore()
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    stale = DynamoCustomerStore().get("C1")
    earned = buy(ingest, "10.00", transaction_id="T2")[1]["points_earned"]
    with pytest.raises(VersionConflict):
        store.cancel_voucher(store.get_voucher(code), "2026-11-24T12:00:00+00:00", stale.version, 0)
    assert store.get_voucher(code).status == "issued"  # the transaction wrote neither item
    assert DynamoCustomerStore().get("C1").points_balance == stale.points_balance + earned


def cancel_twice(store, voucher, version: int) -> None:
    """The second call loses its condition (and makes no other call: the service re-reads)."""
    store.cancel_voucher(voucher, "2026-11-24T12:00:00+00:00", version, 1000)
    with pytest.raises(VoucherNotUsable):
        store.cancel_voucher(voucher, "2026-11-24T12:00:00+00:00", version + 1, 0)


def test_cancel_adapter_calls_are_within_the_declared_permissions(world, api_calls):
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    store = DynamoRedemptionStore()
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    profile = DynamoCustomerStore().get("C1")
    voucher = store.get_voucher(code)
    checks = {
        "DynamoRedemptionStore.get_voucher": lambda: store.get_voucher(code),
        "DynamoRedemptionStore.cancel_voucher": lambda: cancel_twice(store, voucher, profile.version),
    }
    for method, call in checks.items():
        api_calls.clear()
        call()
        assert set(api_calls) - {"TransactWriteItems"} <= declared(method), method
        assert api_calls, method


def test_a_use_meeting_a_cancels_transaction_retries_and_one_wins(world, seam):
    """DynamoDB answers TransactionConflict to a write on an item a transaction holds: the use retries
    (a 503 after max_attempts, never a 500), and here wins once the transaction is gone."""
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    seam.calls.clear()
    seam.queue("UpdateItem", client_error("TransactionConflictException", "UpdateItem"))
    assert service.use_voucher(code, "U1")["status"] == "used"
    assert seam.calls["UpdateItem"] == 2


def test_a_cancel_meeting_a_transaction_conflict_retries_and_gives_the_points_once(world, seam):
    ingest, service, *_ = world
    buy(ingest, "1000.00")
    code = service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    seam.calls.clear()
    seam.queue("TransactWriteItems", conflict())
    answer = service.cancel_voucher(code)
    assert answer["points_balance"] == 1000 == DynamoCustomerStore().get("C1").points_balance
    assert seam.calls["TransactWriteItems"] == 2
