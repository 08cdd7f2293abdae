"""Old customer items (long attribute names, a `months` map, stored RFM code and P(alive): the form of
tests/data/customer_item_2026_11.json, written by the code before issue 19) are read as they are by
every reader, changed in place by the writers that update single attributes, and rewritten in the new
form (adapters/customer_form.py) by the next write: no migration run."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import boto3
from loyalty.adapters.customer_form import DROPPED, RENAMED
from loyalty.adapters.customer_store import DynamoCustomerScan, DynamoCustomerStore
from loyalty.adapters.eventbridge import EventBridgePublisher
from loyalty.adapters.item_size import item_size
from loyalty.adapters.redemption_store import DynamoRedemptionStore
from loyalty.adapters.transaction_store import DynamoTransactionStore
from loyalty.service.ingest import IngestService
from loyalty.service.redemptions import RedemptionService

from tests.helpers import FIXED_NOW, default_programme, transaction_request

OLD_ITEM = Path(__file__).parents[1] / "data" / "customer_item_2026_11.json"
CARD = "4970123456789012"
LONG_NAMES = set(RENAMED) | set(DROPPED)


def put_old_item(settings) -> dict:  # type: ignore[no-untyped-def]
    item = json.loads(OLD_ITEM.read_text())
    boto3.client("dynamodb").put_item(TableName=settings.customers_table, Item=item)
    return item


def stored(settings) -> dict:  # type: ignore[no-untyped-def]
    return boto3.client("dynamodb").get_item(
        TableName=settings.customers_table, Key={"customer_id": {"S": CARD}}, ConsistentRead=True
    )["Item"]


def test_an_old_item_reads_as_it_is_everywhere(aws_tables) -> None:  # type: ignore[no-untyped-def]
    put_old_item(aws_tables)
    profile = DynamoCustomerStore().get(CARD)
    assert profile is not None
    assert (profile.tier, profile.segment, profile.favourite_category, profile.version) == (
        "gold", "Loyal", "food", 57,
    )  # fmt: skip
    assert (profile.points_balance, profile.points_earned, profile.lifetime_purchases) == (2910, 2910, 53)
    assert len(profile.months) == 12 and profile.months["2025-12"].categories["food"] == 4000
    assert profile.pending == {"2025-12-31": 30} and profile.overdue_for == "2025-10-08"
    assert profile.member.enrolled and profile.member.contacts_sent == 2
    # The ingest path's TransactGetItems and the monthly run's scan decode it the same way.
    _, with_txn = DynamoTransactionStore().get_with_profile("nope", CARD)
    (page,) = list(DynamoCustomerScan().scan_segment(0, 1))
    assert with_txn == profile and page == [profile]


def test_an_old_item_is_rewritten_in_the_new_form_by_its_next_purchase(aws_tables) -> None:  # type: ignore[no-untyped-def]
    old = put_old_item(aws_tables)
    assert item_size(old) > 1024 and LONG_NAMES & set(old)
    programme = default_programme()
    publisher = EventBridgePublisher(aws_tables.event_bus_name, aws_tables.event_source)
    ingest = IngestService(
        DynamoCustomerStore(), DynamoTransactionStore(), publisher, programme, now=lambda: FIXED_NOW
    )
    request = transaction_request(
        transaction_id="POS-1", customer_id=CARD, amount="30.00", occurred_at=FIXED_NOW.isoformat()
    )
    status, answer = ingest.record(request)
    assert status == 201 and answer["points_balance"] > 2910
    new = stored(aws_tables)
    assert not LONG_NAMES & set(new), sorted(LONG_NAMES & set(new))
    assert "mb" in new and "B" in new["mb"] and new["version"] == {"N": "58"}
    assert item_size(new) <= 1024, item_size(new)
    profile = DynamoCustomerStore().get(CARD)
    assert profile is not None and profile.segment == "Loyal" and profile.lifetime_purchases == 54


def test_an_old_item_takes_a_redemption_in_place_then_the_run_rewrites_it(aws_tables) -> None:  # type: ignore[no-untyped-def]
    put_old_item(aws_tables)
    programme = default_programme()
    publisher = EventBridgePublisher(aws_tables.event_bus_name, aws_tables.event_source)
    service = RedemptionService(
        DynamoCustomerStore(), DynamoRedemptionStore(), publisher, programme, now=lambda: FIXED_NOW
    )
    # The redemption's UpdateItem keeps to the attributes that kept their names (points_balance,
    # points_redeemed, version, lots): on an old item it changes the very attributes the readers use.
    assert service.redeem(CARD, "APP-1", 500)[0] == 201
    after = DynamoCustomerStore().get(CARD)
    assert after is not None
    assert (after.points_balance, after.points_redeemed, after.version) == (2410, 500, 58)
    assert "tier" in stored(aws_tables)  # still the old form: nothing else was written
    # The monthly run's write puts the whole item at the version read: now in the new form.
    scan = DynamoCustomerScan()
    scan.save_classification(replace(after, segment="Champions"), after.version, after)
    new = stored(aws_tables)
    assert not LONG_NAMES & set(new) and new["sg"] == {"S": "Champions"}
    assert DynamoCustomerStore().get(CARD) == replace(after, segment="Champions", version=59)


def test_a_weekly_shoppers_item_stays_one_write_unit_through_a_year(aws_tables) -> None:  # type: ignore[no-untyped-def]
    programme = default_programme()
    publisher = EventBridgePublisher(aws_tables.event_bus_name, aws_tables.event_source)
    ingest = IngestService(
        DynamoCustomerStore(), DynamoTransactionStore(), publisher, programme, now=lambda: FIXED_NOW
    )
    lines = [{"category": c, "unit_price": "10.00", "quantity": 1} for c in ("food", "drinks", "home")]
    for week in range(52, -1, -1):
        when = (FIXED_NOW - timedelta(weeks=week)).isoformat()
        request = transaction_request(
            transaction_id=f"W{week}", customer_id=CARD, amount="30.00", occurred_at=when, lines=lines
        )
        assert ingest.record(request)[0] == 201
    assert item_size(stored(aws_tables)) <= 1024
