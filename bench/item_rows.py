"""Issue 19 items 1 and 2: the customer item's size and what the monthly run writes and publishes.

Rows (called from bench/__main__.py):
- the item of a year of weekly shopping, by DynamoDB's size rules (adapters/item_size.py), against one
  write unit (1,024 bytes); the old form's size beside it (tests/data/customer_item_2026_11.json);
- write units per changed and per unchanged customer in the next-month run, counted from the write calls
  the worker really makes on moto (a PutItem bills the larger of the item before and after, 1 WRU per
  KB started; a TransactWriteItems twice that per item);
- the write and event shares (`measured_shares`) on the bench's population, which the month model of
  bench/reclassify_bench.py takes as its measured figures.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import Row, info, judged

ROOT = Path(__file__).resolve().parents[1]
OLD_FORM = ROOT / "tests" / "data" / "customer_item_2026_11.json"
WRITE_UNIT = 1024
ITEM_ROW = "customer item, a year of weekly shopping / 1 KB"
CHANGED_ROW = "capacity per changed customer (WRU), next-month run"
UNCHANGED_ROW = "capacity per unchanged customer (WRU), next-month run"
SHARES_ROW = "reclassification write and event shares"


def weekly_shopper_bytes() -> int:
    """53 weekly purchases in 3 of 4 categories, every field the monthly run writes set."""
    from loyalty.adapters.item_size import item_size
    from loyalty.adapters.items import profile_to_item
    from loyalty.domain.earning import Purchase, apply_purchase
    from loyalty.domain.profile import new_profile

    from bench.reclassify_bench import programme

    prog = programme()
    profile = new_profile("4970123456789012", prog.base_tier.name)
    start = datetime(2025, 1, 1, 9, tzinfo=UTC)
    categories = ["food", "drinks", "home", "baby"]
    for n, day in enumerate(range(0, 365, 7)):
        cats = {categories[(n + k) % 4]: 123456 // 3 for k in range(3)}
        purchase = Purchase(f"T{n}", profile.customer_id, start + timedelta(days=day), 123456, cats)
        profile, _ = apply_purchase(profile, purchase, prog)
    profile = replace(
        profile, segment="Dormant, worth winning back", favourite_category="drinks",
        classified_period="2026-12", tier_since="2026-12-01", overdue_for="2026-12-01",
        expiry_warned_through="2027-12-31",
    )  # fmt: skip
    return item_size(profile_to_item(profile, 123456).serialize())


def _two_months(count: int) -> tuple[list[Any], Any, Any, Any]:
    """The bench's population classified for its first period, and the next period's cuts and window."""
    from loyalty.domain.classify import classify
    from loyalty.domain.scoring import Cuts
    from loyalty.fakes import InMemoryRunStore
    from loyalty.service.reclassify import ReclassifyService, Run, prepare

    from bench.reclassify_bench import (
        AS_OF,
        NEXT,
        CountingPublisher,
        GeneratedScan,
        customers,
        programme,
        templates,
    )

    prog = programme()
    base = templates(prog)

    def cuts_for(profiles: list[Any], as_of: Any) -> tuple[Any, Any]:
        class Scan(GeneratedScan):
            def scan_segment(self, segment: int, total_segments: int) -> Any:
                yield profiles

        service = ReclassifyService(Scan(0, base), CountingPublisher(), prog, InMemoryRunStore())
        run = Run.from_dict(prepare(prog, as_of, "shares", 1)["run"])
        service.stats(run, 0)
        return Cuts.from_dict(service.merge(run)), run.window

    first = list(customers(count, base))
    cuts, window = cuts_for(first, AS_OF)
    classified = []
    for profile in first:
        outcome = classify(profile, prog, cuts, window)
        classified.append(outcome.after if outcome is not None else profile)
    next_cuts, next_window = cuts_for(classified, NEXT)
    return classified, prog, next_cuts, next_window


def measured_shares(count: int = 5_000) -> dict[str, float]:
    """On the bench's population (bench/reclassify_bench.templates, `count` customers), the next-month
    run's share of classified customers written (`write_share`) and evented (`event_share`: customers
    with at least one event), the events per classified customer (`events_per_customer`) and per
    written one (`events_per_written`), and the share whose named segment moved (`segment_share`).
    Pure compute (the worker's own rules), a few seconds."""
    from loyalty.domain.classify import classify

    profiles, prog, cuts, window = _two_months(count)
    classified = written = evented = events = moved = 0
    for profile in profiles:
        outcome = classify(profile, prog, cuts, window)
        if outcome is None:
            continue
        classified += 1
        written += outcome.changed
        evented += bool(outcome.events)
        events += len(outcome.events)
        moved += outcome.after.segment != outcome.before.segment
    return {
        "customers": float(classified),
        "write_share": written / classified,
        "event_share": evented / classified,
        "events_per_customer": events / classified,
        "events_per_written": events / max(1, written),
        "segment_share": moved / classified,
    }


def counted_write_units(count: int) -> dict[str, float]:
    """The next-month run on moto over `count` customers: write units per changed and per unchanged
    customer, from the worker's write calls and the sizes of the items before and after."""
    os.environ.update(
        {k: "testing" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
        | {"AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1"}
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    import boto3
    import botocore.client
    from loyalty.adapters.customer_store import DynamoCustomerScan
    from loyalty.adapters.eventbridge import EventBridgePublisher
    from loyalty.adapters.item_size import item_size
    from loyalty.adapters.items import profile_to_item
    from loyalty.adapters.models import MODELS, bind_models
    from loyalty.adapters.runstore import S3RunStore
    from loyalty.domain.scoring import Cuts
    from loyalty.service.reclassify import ReclassifyService, Run, prepare
    from loyalty.settings import Settings
    from moto import mock_aws

    from bench.reclassify_bench import NEXT

    profiles, prog, _, _ = _two_months(count)
    with mock_aws():
        settings = Settings()
        bind_models(settings)
        for model in MODELS.values():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        boto3.client("events").create_event_bus(Name=settings.event_bus_name)
        boto3.client("s3").create_bucket(
            Bucket="bench-items", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        items = {p.customer_id: profile_to_item(p, 1) for p in profiles}
        before = {cid: item_size(item.serialize()) for cid, item in items.items()}
        with MODELS["customers_table"].batch_write() as batch:
            for item in items.values():
                batch.save(item)
        service = ReclassifyService(
            DynamoCustomerScan(),
            EventBridgePublisher(settings.event_bus_name, settings.event_source),
            prog,
            S3RunStore("bench-items"),
        )
        run = Run.from_dict(prepare(prog, NEXT, "items", 1)["run"])
        service.stats(run, 0)
        cuts = Cuts.from_dict(service.merge(run))
        units: dict[str, int] = {}
        real = botocore.client.BaseClient._make_api_call

        def recording(self, operation, params):  # type: ignore[no-untyped-def]
            if operation == "PutItem" and params["TableName"] == settings.customers_table:
                cid = params["Item"]["customer_id"]["S"]
                size = max(before[cid], item_size(params["Item"]))
                units[cid] = units.get(cid, 0) + math.ceil(size / WRITE_UNIT)
            elif operation in ("UpdateItem", "TransactWriteItems", "BatchWriteItem"):
                for op in params.get("TransactItems", [params]):
                    body = op.get("Put") or op.get("Update") or op
                    if body.get("TableName") != settings.customers_table:
                        continue
                    key = (body.get("Item") or body.get("Key"))["customer_id"]["S"]
                    size = max(before[key], item_size(body["Item"]) if "Item" in body else before[key])
                    factor = 2 if operation == "TransactWriteItems" else 1
                    units[key] = units.get(key, 0) + factor * math.ceil(size / WRITE_UNIT)
            return real(self, operation, params)

        botocore.client.BaseClient._make_api_call = recording
        try:
            counts = service.classify(run, cuts, 0)
        finally:
            botocore.client.BaseClient._make_api_call = real
    changed = counts["changed"]
    unchanged = counts["classified"] - changed
    expiring = sum(1 for cid in units if units[cid] > 1)
    return {
        "customers": float(counts["customers"]),
        "changed": float(changed),
        "unchanged": float(unchanged),
        "wru_changed": sum(units.values()) / max(1, changed),
        "wru_unchanged": 0.0 if not unchanged else (len(set(units)) - changed) / unchanged,
        "over_one_unit": float(expiring),
        "largest_item": float(max(before.values())),
    }


def item_rows(quick: bool = False) -> list[Row]:
    old = json.loads(OLD_FORM.read_text())
    from loyalty.adapters.item_size import item_size

    size = weekly_shopper_bytes()
    rows = [
        judged(
            ITEM_ROW,
            size / WRITE_UNIT,
            "<= 1.0",
            f"{size:,} bytes (DynamoDB's rules; 53 purchases of 1,234.56 EUR in 3 of 4 categories, every "
            f"run field set); old form {item_size(old):,} bytes for a 30 EUR weekly shopper "
            f"(tests/data/customer_item_2026_11.json), 1,381 for this one",
        )
    ]
    w = counted_write_units(300 if quick else 2_000)
    rows.append(
        judged(
            CHANGED_ROW,
            w["wru_changed"],
            "<= 1.0",
            f"{w['changed']:,.0f} of {w['customers']:,.0f} customers written, "
            f"{w['wru_changed']:.3f} WRU each "
            f"(largest item {w['largest_item']:,.0f} bytes; {w['over_one_unit']:,.0f} over one unit: lots "
            "expired, a transaction with the ledger entry)",
        )
    )
    rows.append(
        judged(
            UNCHANGED_ROW,
            w["wru_unchanged"],
            "<= 0.0",
            f"{w['unchanged']:,.0f} customers unchanged, {w['wru_unchanged']:.3f} WRU each (no write call)",
        )
    )
    s = measured_shares(1_000 if quick else 5_000)
    rows.append(
        info(
            SHARES_ROW,
            f"on {s['customers']:,.0f} customers next month: written {s['write_share']:.1%}, evented "
            f"{s['event_share']:.1%}, named segment moved {s['segment_share']:.1%}, "
            f"{s['events_per_customer']:.3f} events per customer ({s['events_per_written']:.2f} per written)",
        )
    )
    return rows
