"""The monthly run against moto (DynamoDB, EventBridge, S3) through the Lambda handler and the local
runner: exact segment counts for a few thousand customers, idempotent reruns, a crash after a write."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from unittest import mock

import boto3
import botocore.client
import pytest
from loyalty.adapters.customer_store import DynamoCustomerScan
from loyalty.adapters.items import profile_from_item, profile_to_item
from loyalty.adapters.models import CustomerItem
from loyalty.domain.classify import period_scores
from loyalty.domain.profile import Profile
from loyalty.domain.scoring import Cuts, RunWindow
from loyalty.programme import Programme
from loyalty.settings import Settings, get_settings
from loyalty_tools.reclassify_local import run_reclassification

from tests.unit.test_classify import (
    ARCHETYPES,
    AS_OF,
    FIXED,
    archetype_profiles,
    expected_segments,
    run_steps,
    service,
)
from tests.unit.test_scoring import PROG

BUCKET = "loyalty-runs-test"
_real_call = botocore.client.BaseClient._make_api_call


@pytest.fixture(autouse=True)
def item_level_rollback():  # type: ignore[no-untyped-def]
    """The expiring customers' saves are TransactWriteItems (with their ledger entry), from the run's
    worker threads: moto 5.2 deep-copies each table a transaction touches, which races the other
    threads' writes in process; the local stack's item-level rollback keeps the same all-or-nothing."""
    from loyalty_tools.moto_fast import install

    install()


@pytest.fixture
def published() -> Iterator[list[dict]]:
    """Every entry that reached PutEvents (moto accepts them all), in order; `calls` counts operations."""
    entries: list[dict] = []
    calls.clear()

    def recording(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        calls[operation_name] += 1
        response = _real_call(self, operation_name, api_params)
        if operation_name == "PutEvents":
            entries.extend(api_params["Entries"])
        return response

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", recording):
        yield entries


calls: Counter = Counter()


def ids(entries: list[dict], kind: str | None = None) -> set[str]:
    return {json.loads(e["Detail"])["event_id"] for e in entries if kind is None or e["DetailType"] == kind}


def use_programme(programme: Programme, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "programme.json"
    path.write_text(programme.to_json())
    monkeypatch.setenv("LOYALTY_PROGRAMME_PATH", str(path))
    get_settings.cache_clear()


def load(profiles: dict[str, Profile]) -> None:
    with CustomerItem.batch_write() as batch:
        for profile in profiles.values():
            batch.save(profile_to_item(profile, profile.version))


def stored() -> dict[str, Profile]:
    return {item.customer_id: profile_from_item(item) for item in CustomerItem.scan()}


@pytest.fixture
def world(aws_tables: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    use_programme(FIXED, tmp_path, monkeypatch)
    monkeypatch.setenv("LOYALTY_RUN_BUCKET", BUCKET)
    yield aws_tables
    get_settings.cache_clear()


PER_ARCHETYPE = 100  # 1,300 customers (see docs/reclassification.md: moto cost under pytest)
COUNTS = dict.fromkeys(ARCHETYPES, PER_ARCHETYPE)


def test_a_few_thousand_customers_land_in_their_segments_and_a_rerun_does_nothing(
    world: Settings, published: list[dict]
) -> None:
    load(archetype_profiles(COUNTS))
    result = run_reclassification(AS_OF, total_segments=4, run_id="exec-1")
    profiles = stored()
    assert len(profiles) == sum(COUNTS.values()) == 13 * PER_ARCHETYPE
    assert Counter(p.segment for p in profiles.values()) == expected_segments(COUNTS)
    assert result["summary"]["after"]["segments"] == dict(sorted(expected_segments(COUNTS).items()))
    assert result["summary"]["published"] is True
    kinds = Counter(e["DetailType"] for e in published)
    assert kinds == {
        "CustomerSegmentChanged": len(profiles),
        "CustomerTierChanged": PER_ARCHETYPE,  # the "lost" gold customers
        "PointsExpired": PER_ARCHETYPE,  # the "expired" ones
        "CustomerOverdue": 4 * PER_ARCHETYPE,  # attention, at risk, promising, asleep (test_classify)
        "ReclassificationCompleted": 1,
    }
    assert all(len(json.loads(e["Detail"])["event_id"]) == 32 for e in published)
    # one conditional write per changed customer: a PutItem of the whole item, or for those whose lots
    # expire a TransactWriteItems of the put and the ledger's entry (docs/points.md)
    assert calls["TransactWriteItems"] == PER_ARCHETYPE  # the "expired" ones
    assert calls["PutItem"] + calls["TransactWriteItems"] == len(profiles)
    assert calls["UpdateItem"] == 0
    assert calls["PutEvents"] <= (len(published) - 1) // 10 + 4 * 4 + 1  # batches of 10, one partial a page
    assert {e["EventBusName"] for e in published} == {world.event_bus_name}

    published.clear()
    calls.clear()
    again = run_reclassification(AS_OF, total_segments=3, run_id="exec-2")
    assert published == []
    assert calls["PutItem"] == calls["UpdateItem"] == calls["TransactWriteItems"] == 0
    assert again["summary"]["published"] is False
    assert stored() == profiles


def test_a_crash_after_a_profile_write_then_a_rerun_delivers_every_event(
    world: Settings, published: list[dict]
) -> None:
    profiles = archetype_profiles({name: 12 for name in COUNTS})
    expected = service(profiles)  # the same run on the fakes gives the expected ids
    run_steps(expected, AS_OF, "expected", total_segments=2)
    expected_ids = {e.event_id for e in expected.publisher.events}
    load(profiles)

    real_save = DynamoCustomerScan.save_classification
    writes = {"n": 0}
    counting = threading.Lock()  # writes run on a thread pool

    def crash_after_50(self, profile, expected_version, before=None):  # type: ignore[no-untyped-def]
        real_save(self, profile, expected_version, before)
        with counting:
            writes["n"] += 1
            crash = writes["n"] >= 50
        if crash:
            raise RuntimeError("Lambda killed right after a write")

    with (
        mock.patch.object(DynamoCustomerScan, "save_classification", crash_after_50),
        pytest.raises(RuntimeError, match="killed"),
    ):
        run_reclassification(AS_OF, total_segments=2, run_id="exec-crash")
    assert 0 < len(ids(published)) < len(expected_ids)
    run_reclassification(AS_OF, total_segments=2, run_id="exec-retry")
    assert ids(published) >= expected_ids
    assert {c: p.segment for c, p in stored().items()} == {
        c: p.segment
        for c, p in expected.store.store.profiles.items()  # type: ignore[attr-defined]
    }
    before = len(published)
    run_reclassification(AS_OF, total_segments=2, run_id="exec-again")
    assert len(published) == before


def test_quintile_scores_on_dynamodb_match_the_pure_computation(
    aws_tables: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_programme(PROG, tmp_path, monkeypatch)
    profiles = archetype_profiles({name: 9 for name in COUNTS}, PROG)
    load(profiles)
    result = run_reclassification(AS_OF, total_segments=3, run_id="q", bucket=BUCKET)
    assert result["cuts"]["method"] == "quintiles"
    reference = service(profiles, PROG)
    run_steps(reference, AS_OF, "reference", total_segments=1)
    fake = reference.store.store.profiles  # type: ignore[attr-defined]
    assert {c: (p.segment, p.favourite_category, p.tier) for c, p in stored().items()} == {
        c: (p.segment, p.favourite_category, p.tier) for c, p in fake.items()
    }
    # The scores (not stored) from the profiles and the cuts each run kept: the same on both.
    cuts, window = Cuts.from_dict(result["cuts"]), RunWindow.for_period("2026-02")
    assert result["cuts"] == reference.runs.get("reclassification/latest-cuts.json")["cuts"]  # type: ignore[index]
    assert {c: period_scores(p, PROG, cuts, window).scores for c, p in stored().items()} == {
        c: period_scores(p, PROG, cuts, window).scores for c, p in fake.items()
    }
    assert "Can't lose them" in {p.segment for p in fake.values()}
    documents = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="reclassification/2026-02/q/")
    names = sorted(o["Key"].rsplit("/", 2)[-2] for o in documents["Contents"] if o["Key"].endswith("0.json"))
    assert names == ["classify", "stats"]  # segment 0 of each pass
    get_settings.cache_clear()


def test_the_handler_rejects_an_unknown_step() -> None:
    from loyalty_tools.reclassify_local import handler_module

    with pytest.raises(ValueError, match="step must be one of"):
        handler_module().handler({"step": "nope"}, None)


def test_as_of_is_a_date() -> None:
    assert date(2026, 3, 1) == AS_OF
