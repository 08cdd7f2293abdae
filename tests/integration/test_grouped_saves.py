"""The local run's grouped classification writes (tools/loyalty_tools/grouped_saves.py) and its segments
side by side (reclassify_local.side_by_side), against moto in process: the same profiles stored as with
one PutItem per customer, fewer requests, a conflict failing only its own write."""

from __future__ import annotations

import threading
import time
from collections import Counter

from loyalty.adapters.customer_store import DynamoCustomerScan
from loyalty.adapters.models import CustomerItem
from loyalty.domain.profile import Profile
from loyalty.ports import VersionConflict
from loyalty.settings import Settings
from loyalty_tools.grouped_saves import GroupedSaves
from loyalty_tools.reclassify_local import LOCAL_SEGMENTS, run_reclassification, side_by_side

from tests.integration.test_reclassify_moto import BUCKET, item_level_rollback, load, stored, world
from tests.unit.test_classify import ARCHETYPES, AS_OF, archetype_profiles, run_steps, service

__all__ = ["item_level_rollback", "world"]  # fixtures
EACH = dict.fromkeys(ARCHETYPES, 8)  # 104 customers, every archetype


def outcome(profiles: dict[str, Profile]) -> dict[str, tuple]:
    return {
        c: (p.segment, p.tier, p.favourite_category, p.points_balance, p.version) for c, p in profiles.items()
    }


def test_a_grouped_run_stores_what_one_put_per_customer_stores_in_fewer_requests(
    world: Settings, api_calls: Counter
) -> None:
    profiles = archetype_profiles(EACH)
    reference = service(profiles)
    run_steps(reference, AS_OF, "reference", total_segments=1)
    load(profiles)
    api_calls.clear()
    result = run_reclassification(AS_OF, total_segments=3, run_id="grouped", bucket=BUCKET, group_writes=True)
    assert outcome(stored()) == outcome(reference.store.store.profiles)  # type: ignore[attr-defined]
    changed = result["summary"]["changed"]
    assert changed == len(profiles)
    # every changed customer written once: in a group, alone, or with its ledger entry (expired lots)
    assert api_calls["PutItem"] + api_calls["TransactWriteItems"] <= changed
    assert result["summary"]["conflicts"] == 0


def test_waiting_writes_go_out_as_one_transaction_and_a_conflict_fails_only_its_own(
    world: Settings,
) -> None:
    profiles = archetype_profiles(EACH)
    load(profiles)
    stale = sorted(profiles)[3]
    CustomerItem.get(stale).update(actions=[CustomerItem.version.set(CustomerItem.version + 1)])
    saves = GroupedSaves(DynamoCustomerScan())
    outcomes: dict[str, str] = {}

    def save(customer: str) -> None:
        profile = profiles[customer]
        try:
            saves.save_classification(profile, profile.version)  # version 1 + 1 stored
            outcomes[customer] = "written"
        except VersionConflict:
            outcomes[customer] = "conflict"

    chosen = sorted(profiles)[:30]
    with saves._flush_lock:  # every write queues before any goes out
        threads = [threading.Thread(target=save, args=(c,)) for c in chosen]
        for thread in threads:
            thread.start()
        while len(saves._queue) < len(chosen):
            time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert outcomes == {c: "conflict" if c == stale else "written" for c in chosen}
    assert saves.requests == 2  # the group, cancelled by the stale one; the group without it
    versions = {c: p.version for c, p in stored().items()}
    assert {c: versions[c] for c in chosen} == dict.fromkeys(chosen, 2)  # the stale one: by the other write
    assert all(versions[c] == 1 for c in profiles if c not in chosen)


def test_the_segments_of_a_pass_run_side_by_side_and_answer_in_order() -> None:
    together = threading.Barrier(LOCAL_SEGMENTS, timeout=30)  # broken (raises) unless all run at once

    def call(event: dict) -> dict:
        together.wait()
        return {"segment": event["segment"]}

    events = [{"segment": s} for s in range(2 * LOCAL_SEGMENTS)]
    assert side_by_side(call, events) == [{"segment": s} for s in range(2 * LOCAL_SEGMENTS)]


def test_a_local_run_without_a_segment_count_runs_at_least_the_local_segments(
    world: Settings,
) -> None:
    load(archetype_profiles(dict.fromkeys(ARCHETYPES, 2)))
    result = run_reclassification(AS_OF, run_id="sized", bucket=BUCKET)
    assert len(result["workers"]) == LOCAL_SEGMENTS
