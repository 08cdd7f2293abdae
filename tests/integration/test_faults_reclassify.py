"""A reclassification worker killed mid-segment (PutEvents dies on its third call, as a Lambda timeout
would cut it), then a rerun: the same final profiles and balances as a run without the crash, and every
event of that clean run delivered at least once. Data is written through the real ingest service."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import botocore.client
import pytest
from loyalty.adapters.customer_store import DynamoCustomerStore
from loyalty.adapters.eventbridge import EventBridgePublisher
from loyalty.adapters.items import profile_from_item
from loyalty.adapters.models import CustomerItem
from loyalty.adapters.transaction_store import DynamoTransactionStore
from loyalty.service.ingest import IngestService

from tests.helpers import default_programme, transaction_request

reclassify_local = pytest.importorskip("loyalty_tools.reclassify_local")

AS_OF = date(2026, 3, 1)
_real_call = botocore.client.BaseClient._make_api_call


def seed_customers(settings, count: int = 40) -> None:
    programme = default_programme()
    publisher = EventBridgePublisher(settings.event_bus_name, settings.event_source, sleep=lambda _: None)
    now = datetime(2026, 2, 27, 12, tzinfo=UTC)
    ingest = IngestService(
        DynamoCustomerStore(), DynamoTransactionStore(), publisher, programme, now=lambda: now
    )
    for c in range(count):
        for n in range(1 + c % 7):  # 1..7 purchases, spread over up to 2 years
            when = now - timedelta(days=(c * 37 + n * 53) % 700)
            ingest.record(
                transaction_request(
                    transaction_id=f"F{c}-{n}",
                    customer_id=f"F{c:03d}",
                    amount=f"{20 + (c * 13 + n * 7) % 300}.00",
                    occurred_at=when.isoformat(),
                )
            )


def snapshot() -> list[CustomerItem]:
    return list(CustomerItem.scan(consistent_read=True))


def restore(items: list[CustomerItem]) -> None:
    with CustomerItem.batch_write() as batch:
        for item in items:
            batch.save(item)


def final_state() -> dict[str, tuple]:
    return {
        p.customer_id: (p.segment, p.tier, p.points_balance, p.points_expired, p.classified_period)
        for p in (profile_from_item(i) for i in CustomerItem.scan(consistent_read=True))
    }


def test_a_worker_killed_mid_segment_then_a_rerun_loses_and_doubles_nothing(aws_tables, monkeypatch):
    monkeypatch.setenv("LOYALTY_RUN_BUCKET", "faults")  # the runner sets it; monkeypatch restores it
    seed_customers(aws_tables)
    before = snapshot()
    delivered: list[str] = []
    calls = {"PutEvents": 0, "crash_at": None}

    def seam(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        if operation_name == "PutEvents":
            calls["PutEvents"] += 1
            if calls["PutEvents"] == calls["crash_at"]:
                raise RuntimeError("Lambda timed out mid-segment")
        response = _real_call(self, operation_name, api_params)
        if operation_name == "PutEvents":
            delivered.extend(json.loads(e["Detail"])["event_id"] for e in api_params["Entries"])
        return response

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", seam):
        # The reference run keeps its run documents (and the period's summary) in a bucket of its own.
        reclassify_local.run_reclassification(AS_OF, total_segments=2, run_id="clean", bucket="faults-ref")
        expected_ids, expected_state = set(delivered), final_state()
        assert len(expected_ids) > 10 and calls["PutEvents"] >= 3

        restore(before)  # the same customers, as they were before the month's run
        delivered.clear()
        calls.update({"PutEvents": 0, "crash_at": 3})
        with pytest.raises(RuntimeError, match="mid-segment"):
            reclassify_local.run_reclassification(AS_OF, total_segments=2, run_id="crashed", bucket="faults")
        assert set(delivered) < expected_ids  # the crash cut the run short

        calls["crash_at"] = None
        reclassify_local.run_reclassification(AS_OF, total_segments=2, run_id="rerun", bucket="faults")

    assert set(delivered) >= expected_ids  # every event at least once
    assert final_state() == expected_state  # no points lost or doubled, same segments and tiers
