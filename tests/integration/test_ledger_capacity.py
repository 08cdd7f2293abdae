"""What the ledger entry adds to a purchase and a redemption, in write capacity units, from the items
each TransactWriteItems really writes under moto (sizes by adapters/item_size.py's rules; a
transactional write costs 2 WCU per KB started of each item, an update counted at the item's size
after it). The figures are docs/points.md's cost table. Since issue 19 the customer item of a year of
weekly shopping is under 1 KB (adapters/customer_form.py): one write unit, which a transaction bills
twice (2 WCU, down from 4 when the item was 1.4 KB)."""

from __future__ import annotations

import math
from datetime import timedelta
from unittest import mock

import botocore.client
import pytest
from loyalty.adapters.customer_store import DynamoCustomerStore
from loyalty.adapters.eventbridge import EventBridgePublisher
from loyalty.adapters.item_size import item_size
from loyalty.adapters.redemption_store import DynamoRedemptionStore
from loyalty.adapters.transaction_store import DynamoTransactionStore
from loyalty.service.ingest import IngestService
from loyalty.service.redemptions import RedemptionService

from tests.helpers import FIXED_NOW, default_programme, transaction_request

_real_call = botocore.client.BaseClient._make_api_call


def _wcu(size: int) -> int:
    return 2 * math.ceil(size / 1024)


@pytest.fixture
def writes(aws_tables):  # type: ignore[no-untyped-def]
    """Each TransactWriteItems' items as (table, size in bytes): puts as sent, updates as stored after."""
    import boto3

    client = boto3.client("dynamodb")
    log: list[list[tuple[str, int]]] = []

    def recording(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        answer = _real_call(self, operation_name, api_params)
        if operation_name == "TransactWriteItems":
            sizes = []
            for op in api_params["TransactItems"]:
                if "Put" in op:
                    sizes.append((op["Put"]["TableName"], item_size(op["Put"]["Item"])))
                elif "Update" in op:
                    key = op["Update"]["Key"]
                    item = _real_call(client, "GetItem", {"TableName": op["Update"]["TableName"], "Key": key})
                    sizes.append((op["Update"]["TableName"], item_size(item["Item"])))
            log.append(sizes)
        return answer

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", recording):
        yield log, aws_tables


def test_a_weekly_shoppers_purchase_and_redemption_with_their_ledger_entries(writes) -> None:  # type: ignore[no-untyped-def]
    log, settings = writes
    programme = default_programme()
    customers = DynamoCustomerStore()
    publisher = EventBridgePublisher(settings.event_bus_name, settings.event_source)
    ingest = IngestService(customers, DynamoTransactionStore(), publisher, programme, now=lambda: FIXED_NOW)
    redemptions = RedemptionService(
        customers, DynamoRedemptionStore(), publisher, programme, now=lambda: FIXED_NOW
    )
    card = "4970123456789012"
    for week in range(52, -1, -1):  # a year of weekly shopping, the last one now
        when = (FIXED_NOW - timedelta(weeks=week)).isoformat()
        lines = [{"category": c, "unit_price": "10.00", "quantity": 1} for c in ("food", "drinks", "home")]
        body = {"lines": lines}
        request = transaction_request(
            transaction_id=f"POS-0042-{week:06d}", customer_id=card, amount="30.00", occurred_at=when, **body
        )
        assert ingest.record(request)[0] == 201
    purchase = log[-1]
    assert redemptions.redeem(card, "APP-7f3c9b2a-1d4e", 500)[0] == 201
    redemption = log[-1]

    ledger = settings.ledger_table
    for write in (purchase, redemption):
        (entry,) = [size for table, size in write if table == ledger]
        assert entry < 1024 and _wcu(entry) == 2  # the ledger's share of each write
        (customer,) = [size for table, size in write if table == settings.customers_table]
        assert customer <= 1024 and _wcu(customer) == 2  # one write unit, transactional: 2 WCU (was 4)
    purchase_wcu = sum(_wcu(size) for _, size in purchase)
    redemption_wcu = sum(_wcu(size) for _, size in redemption)
    print(f"purchase {purchase} = {purchase_wcu} WCU; redemption {redemption} = {redemption_wcu} WCU")
    assert (purchase_wcu, redemption_wcu) == (6, 8)  # were (8, 10) with the 1.4 KB customer item
