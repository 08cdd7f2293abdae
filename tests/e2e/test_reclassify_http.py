"""The monthly run on the local stack: customers built to land in known segments, the schedule's own
entry point, and the SQS queue on the bus read as a marketing tool reads it."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from dataclasses import replace

import boto3
import pytest
from loyalty.adapters.items import profile_from_item, profile_to_item
from loyalty.adapters.models import CustomerItem, bind_models
from loyalty.settings import Settings, get_settings
from loyalty_tools.reclassify_local import run_reclassification

from tests.unit.test_classify import ARCHETYPES, AS_OF, FIXED, archetype_profiles, expected_segments

# 13 archetypes x 80 = 1,040 customers. moto's SQS receive grows with the queue (quadratic drain), so
# more costs CI minutes: LOYALTY_E2E_PER_ARCHETYPE=160 runs 2,080 (about 3 minutes).
PER_ARCHETYPE = int(os.environ.get("LOYALTY_E2E_PER_ARCHETYPE", "80"))


@pytest.fixture
def on_local_stack(stack, tmp_path):
    """Point this process's settings and models at the local stack's moto, then put everything back."""
    saved = dict(os.environ)
    programme = tmp_path / "fixed.json"
    programme.write_text(FIXED.to_json())  # fixed thresholds: other tests' customers do not move ours
    os.environ.update({"AWS_ENDPOINT_URL": stack.moto_url, "LOYALTY_PROGRAMME_PATH": str(programme)})
    get_settings.cache_clear()
    bind_models(Settings.from_env())
    try:
        yield Settings.from_env()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        bind_models(Settings.from_env())


def drain(queue_url: str, moto_url: str) -> list[dict]:
    """Every message on the marketing queue, as the EventBridge envelopes a consumer receives."""
    sqs = boto3.client("sqs", endpoint_url=moto_url)
    out: list[dict] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = batch.get("Messages", [])
        if not messages:
            return out
        out += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def test_customers_land_where_the_rules_say_and_marketing_receives_each_change_once(stack, on_local_stack):
    run = uuid.uuid4().hex[:8]
    counts = dict.fromkeys(ARCHETYPES, PER_ARCHETYPE)
    profiles = {f"rc-{run}-{cid}": replace(p, customer_id=f"rc-{run}-{cid}")
                for cid, p in archetype_profiles(counts).items()}  # fmt: skip
    with CustomerItem.batch_write() as batch:
        for profile in profiles.values():
            batch.save(profile_to_item(profile, profile.version))
    drain(stack.queue_url, stack.moto_url)  # what other tests published before

    run_reclassification(AS_OF, total_segments=4, run_id=f"e2e-{run}")

    ours = {cid: profile_from_item(CustomerItem.get(cid)) for cid in profiles}
    assert Counter(p.segment for p in ours.values()) == expected_segments(counts)
    received = [
        m for m in drain(stack.queue_url, stack.moto_url) if m["detail"].get("customer_id") in profiles
    ]
    kinds = Counter(m["detail-type"] for m in received)
    assert kinds["CustomerSegmentChanged"] == len(profiles)
    assert kinds["CustomerTierChanged"] == kinds["PointsExpired"] == PER_ARCHETYPE
    assert all(m["source"] == on_local_stack.event_source for m in received)
    by_customer = {m["detail"]["customer_id"]: m["detail"] for m in received
                   if m["detail-type"] == "CustomerSegmentChanged"}  # fmt: skip
    assert {cid: d["after"]["segment"] for cid, d in by_customer.items()} == {
        cid: p.segment for cid, p in ours.items()
    }
    assert len({m["detail"]["event_id"] for m in received}) == len(received)  # distinct, deterministic ids

    # The same period again: nothing written, nothing new on the queue.
    run_reclassification(AS_OF, total_segments=3, run_id=f"e2e-{run}-again")
    assert [
        m for m in drain(stack.queue_url, stack.moto_url) if m["detail"].get("customer_id") in profiles
    ] == []
    assert {cid: profile_from_item(CustomerItem.get(cid)) for cid in profiles} == ours
