"""The real adapters against moto: counted calls, atomic writes, retries, history order."""

import pytest
from loyalty.adapters.customer_store import DynamoCustomerStore
from loyalty.adapters.eventbridge import EventBridgePublisher
from loyalty.adapters.transaction_store import DynamoTransactionStore
from loyalty.service.ingest import ApiError, IngestService
from loyalty.service.points import PointsService

from tests.helpers import FIXED_NOW, default_programme, transaction_request

request = transaction_request


@pytest.fixture
def services(aws_tables):
    programme = default_programme()
    customers, transactions = DynamoCustomerStore(), DynamoTransactionStore()
    publisher = EventBridgePublisher(aws_tables.event_bus_name, aws_tables.event_source)
    ingest = IngestService(customers, transactions, publisher, programme, now=lambda: FIXED_NOW)
    points = PointsService(customers, transactions, programme, now=lambda: FIXED_NOW)
    return ingest, points


def test_balance_read_is_exactly_one_getitem(services, api_calls):
    ingest, points = services
    ingest.record(request(amount="50.00"))
    api_calls.clear()
    card = points.card("C1")
    assert card["points_balance"] == 50
    assert dict(api_calls) == {"GetItem": 1}


def test_purchase_is_one_read_and_one_transact_write(services, api_calls):
    ingest, _ = services
    ingest.record(request(transaction_id="T0", amount="5.00"))
    api_calls.clear()
    ingest.record(request(transaction_id="T1", amount="50.00"))
    assert dict(api_calls) == {"GetItem": 1, "TransactWriteItems": 1}
    api_calls.clear()
    ingest.record(request(transaction_id="R1", amount="10.00", original_transaction_id="T1"))
    assert dict(api_calls) == {"TransactGetItems": 1, "TransactWriteItems": 1}


def test_retry_counts_once_and_other_body_is_409(services):
    ingest, points = services
    first = ingest.record(request(amount="20.00"))
    assert ingest.record(request(amount="20.00")) == first
    with pytest.raises(ApiError) as err:
        ingest.record(request(amount="21.00"))
    assert err.value.status == 409
    assert points.card("C1")["points_balance"] == 20


def test_stale_profile_write_is_refused_and_retried(services):
    """Two writers read the same version; the second TransactWrite must fail its condition."""
    ingest, points = services
    ingest.record(request(transaction_id="T1", amount="10.00"))
    customers = DynamoCustomerStore()
    stale = customers.get("C1")
    ingest.record(request(transaction_id="T2", amount="10.00"))
    from dataclasses import replace

    from loyalty.ports import StoredTransaction, VersionConflict

    txn = StoredTransaction("T3", "C1", "purchase", "2026-03-10T10:00:00+01:00", "k#T3", "EUR", 1000, "h")
    with pytest.raises(VersionConflict):
        DynamoTransactionStore().record(txn, replace(stale, points_balance=999), stale.version)
    assert points.card("C1")["points_balance"] == 20
    assert DynamoTransactionStore().get("T3") is None  # nothing partial


def test_upgrade_event_reaches_the_bus(services, api_calls):
    ingest, _ = services
    _, body = ingest.record(request(amount="700.00"))
    assert body["tier_upgrade"] == {"from": "member", "to": "gold"}
    assert api_calls["PutEvents"] == 1


def test_history_newest_first_with_cursor(services):
    ingest, points = services
    for day in (5, 1, 9, 3, 7):  # arrive out of order
        ingest.record(request(transaction_id=f"T{day}", occurred_at=f"2026-03-{day:02d}T10:00:00+01:00"))
    page = points.history("C1", 2, None)
    ids = [i["transaction_id"] for i in page["items"]]
    while page["next_cursor"]:
        page = points.history("C1", 2, page["next_cursor"])
        ids += [i["transaction_id"] for i in page["items"]]
    assert ids == ["T9", "T7", "T5", "T3", "T1"]
    with pytest.raises(ApiError):
        points.history(
            "C2",
            2,
            __import__("loyalty.adapters.cursors", fromlist=["x"]).encode_cursor(
                {"customer_id": {"S": "C1"}, "occurred_key": {"S": "x"}, "transaction_id": {"S": "T1"}}
            ),
        )
