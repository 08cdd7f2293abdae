"""A dry run on the fakes: the monthly run's steps under a candidate programme, nothing written,
nothing published, the report in the run store; its ports refuse writes."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
from loyalty.programme import ProgrammeError
from loyalty.service.dry_run import DryRunWrite, ReadOnlyScan, RefusingPublisher
from loyalty.service.reclassify import ReclassifyService, Run, dry_run_report_key, run_steps, summary_key

from tests.unit.test_classify import AS_OF, FIXED, SMALL, archetype_profiles, spaced
from tests.unit.test_scoring import build


def silver_customers(count: int) -> dict:
    """Customers who spent 270.00 in the 12 months: silver at 250.00, not at 300.00."""
    return {f"silver-{i}": build(f"silver-{i}", spaced(10, 20, 3, 9000), FIXED) for i in range(count)}


def candidate_source(silver: str) -> dict:
    source = copy.deepcopy(dict(FIXED.source))
    for tier in source["tiers"]:
        if tier["name"] == "silver":
            tier["any_of"]["spend_12m"] = silver
    return source


def test_a_dry_run_classifies_under_the_candidate_and_writes_and_publishes_nothing() -> None:
    store = InMemoryStore()
    store.profiles.update({**archetype_profiles(SMALL), **silver_customers(12)})
    publisher, runs = RecordingPublisher(), InMemoryRunStore()
    svc = ReclassifyService(InMemoryCustomerScan(store, page_size=7), publisher, FIXED, runs)
    real = run_steps(svc, AS_OF, "real", total_segments=2)["summary"]
    published, stored = len(publisher.events), copy.deepcopy(store.profiles)
    calls = len(store.calls)

    unchanged = run_steps(svc, AS_OF, "same", total_segments=3, dry_run=True)["summary"]
    report = run_steps(
        svc, AS_OF, "what-if", total_segments=3, dry_run=True, programme=candidate_source("300.00")
    )["summary"]

    assert store.profiles == stored  # versions included
    assert len(publisher.events) == published
    assert "UpdateItem" not in store.calls[calls:]
    assert runs.get(summary_key("2026-02"))["run_id"] == "real"  # the period's summary untouched
    assert report["dry_run"] is True and report["published"] is False
    assert runs.get(report["report_key"]) == report
    # The current programme again: nothing would change. The candidate: fewer silver customers.
    assert unchanged["changed"] == 0 and unchanged["events"] == {}
    assert report["before"]["tiers"] == real["after"]["tiers"]
    assert report["after"]["tiers"].get("silver", 0) < real["after"]["tiers"]["silver"]
    assert report["events"].get("CustomerTierChanged", 0) == real["after"]["tiers"]["silver"] - report[
        "after"
    ]["tiers"].get("silver", 0)
    assert sum(Counter(report["after"]["segments"]).values()) == report["classified"]


def test_a_candidate_in_the_run_bucket_is_read_by_its_key_and_a_bad_one_names_its_key() -> None:
    runs = InMemoryRunStore()
    runs.put("candidates/silver.json", candidate_source("300.00"))
    svc = ReclassifyService(InMemoryCustomerScan(InMemoryStore()), RecordingPublisher(), FIXED, runs)
    prepared = svc.prepare_dry_run(AS_OF, "k", "candidates/silver.json", 1)
    run = Run.from_dict(prepared["run"])
    assert run.dry_run and runs.get(run.programme_key or "") == candidate_source("300.00")
    assert svc.for_run(run).programme.tier("silver").spend_12m == 30000
    bad = candidate_source("300.00")
    bad["tiers"][1]["any_of"]["spend_12m"] = "lots"
    with pytest.raises(ProgrammeError) as error:
        svc.prepare_dry_run(AS_OF, "k", bad, 1)
    assert error.value.key == "tiers[1].any_of.spend_12m"
    with pytest.raises(ValueError, match="no document"):
        svc.prepare_dry_run(AS_OF, "k", "candidates/missing.json", 1)
    assert dry_run_report_key(run).endswith("/k/dry-run-report.json")


def test_the_dry_run_ports_refuse_every_write() -> None:
    store = InMemoryStore()
    store.profiles.update(archetype_profiles({"champion": 1}))
    profile = next(iter(store.profiles.values()))
    with pytest.raises(DryRunWrite):
        ReadOnlyScan(InMemoryCustomerScan(store)).save_classification(profile, profile.version)
    with pytest.raises(DryRunWrite):
        RefusingPublisher().publish([])
    assert ReadOnlyScan(InMemoryCustomerScan(store)).get(profile.customer_id) == profile
