"""The whole monthly run on the fakes: known segments, idempotent reruns, crashes that lose no event,
concurrent ingest writes, event ids and schemas."""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loyalty.domain.classify import classify
from loyalty.domain.profile import Profile
from loyalty.domain.scoring import Cuts, RunWindow
from loyalty.events import DomainEvent, event_id, json_schemas
from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
from loyalty.programme import Programme, parse_programme
from loyalty.service.reclassify import ReclassifyService, Run, Tally, prepare, run_steps

from tests.unit.test_scoring import PROG, build

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 3, 1)
WINDOW = RunWindow.as_of(AS_OF)

# Fixed thresholds so that every archetype lands in a known segment whatever the population.
FIXED = parse_programme(
    {
        **{k: v for k, v in PROG.source.items() if k != "scoring"},
        "scoring": {
            "method": "fixed",
            "fixed": {
                "recency_days": [30, 60, 120, 240],
                "frequency": [2, 3, 5, 8],
                "monetary": ["50.00", "150.00", "400.00", "900.00"],
            },
        },
    }
)


def ago(days: int) -> date:
    return WINDOW.ref_date - timedelta(days=days)


def spaced(last: int, gap: int, count: int, cents: int) -> list[tuple[date, int, dict[str, int]]]:
    return [(ago(last + gap * k), cents, {"beauty": cents}) for k in range(count)]


# archetype -> (purchases, expected segment, expected tier after the run, events kinds)
ARCHETYPES: dict[str, tuple[list[tuple], str]] = {
    "champion": (spaced(10, 20, 6, 10000), "Champions"),
    "cantlose": (spaced(300, 7, 6, 10000), "Can't lose them"),
    "dormant": (spaced(100, 5, 3, 2000), "Dormant"),
    "atrisk": (spaced(130, 60, 3, 2000), "At risk"),
    "loyal": (spaced(10, 15, 5, 1000), "Loyal"),
    "potential": (spaced(5, 20, 2, 1000), "Potential loyalists"),
    "new": (spaced(10, 1, 1, 1000), "New"),
    "promising": (spaced(45, 1, 1, 1000), "Promising"),
    "attention": (spaced(80, 30, 2, 1000), "Need attention"),
    "asleep": (spaced(80, 1, 1, 1000), "About to sleep"),
    "hibernating": (spaced(150, 150, 2, 1000), "Hibernating"),
    "lost": (spaced(400, 1, 1, 70000), "Lost"),  # gold 13 months ago: downgraded to member
    "expired": (spaced(800, 1, 1, 12000), "Lost"),  # 24 months without purchase: points expire
}


def archetype_profiles(counts: dict[str, int], programme: Programme = FIXED) -> dict[str, Profile]:
    """`counts[name]` customers of each archetype (built once through the earning rules, then copied)."""
    profiles: dict[str, Profile] = {}
    for name, count in counts.items():
        template = build(f"{name}-0", ARCHETYPES[name][0], programme)
        for index in range(count):
            customer = f"{name}-{index}"
            profiles[customer] = replace(template, customer_id=customer, version=1)
    return profiles


def expected_segments(counts: dict[str, int]) -> Counter[str]:
    expected: Counter[str] = Counter()
    for name, count in counts.items():
        expected[ARCHETYPES[name][1]] += count
    return expected


SMALL = {name: 3 for name in ARCHETYPES}


class Crash(Exception):
    """A Lambda that dies (timeout, out of memory) in the middle of a step."""


class CrashingPublisher(RecordingPublisher):
    """Delivers `limit` events, then crashes (possibly in the middle of a PutEvents batch)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def publish(self, events: Any) -> None:
        for event in events:
            if len(self.events) >= self.limit:
                raise Crash(f"after {self.limit} events")
            self.events.append(event)


class CrashingScan(InMemoryCustomerScan):
    """Writes `limit` profiles, then crashes just after the last write, before anything else."""

    def __init__(self, store: InMemoryStore, limit: int) -> None:
        super().__init__(store, page_size=7)
        self.limit = limit

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        super().save_classification(profile, expected_version, before)
        if self.writes >= self.limit:
            raise Crash(f"after {self.limit} writes")


def service(
    profiles: dict[str, Profile],
    programme: Programme = FIXED,
    publisher: RecordingPublisher | None = None,
    scan: InMemoryCustomerScan | None = None,
    runs: InMemoryRunStore | None = None,
) -> ReclassifyService:
    store = scan.store if scan else InMemoryStore()
    if not scan:
        store.profiles.update(profiles)
        scan = InMemoryCustomerScan(store, page_size=7)
    return ReclassifyService(scan, publisher or RecordingPublisher(), programme, runs or InMemoryRunStore())


def ids(events: list[DomainEvent]) -> set[str]:
    return {e.event_id for e in events}


def clean_run(profiles: dict[str, Profile], programme: Programme = FIXED) -> tuple[ReclassifyService, dict]:
    svc = service(copy.deepcopy(profiles), programme)
    result = run_steps(svc, AS_OF, "clean", total_segments=3)
    return svc, result


# -- a whole run -----------------------------------------------------------------------------------


def test_every_archetype_lands_in_its_segment_and_the_summary_adds_up() -> None:
    svc, result = clean_run(archetype_profiles(SMALL))
    store = svc.store.store  # type: ignore[attr-defined]
    segments = Counter(p.segment for p in store.profiles.values())
    assert segments == expected_segments(SMALL)
    summary = result["summary"]
    assert summary["after"]["segments"] == dict(sorted(expected_segments(SMALL).items()))
    assert summary["before"]["segments"] == {"(none)": len(store.profiles)}
    assert summary["migration"] == {"(none)": dict(sorted(expected_segments(SMALL).items()))}
    # champions and can't-lose-them keep gold; the "lost" gold customers go down to member
    assert summary["tier_migration"]["gold"] == {"gold": 6, "member": 3}
    assert summary["points_expired"] == 3 * 120
    # CustomerOverdue (past 1.5 x cycle, not dormant): attention (R 80 > 45, floor 90), at risk (R 130 > 90,
    # dormant only past 180), and the single-day promising (R 45) and asleep (R 80) on the median
    # interval of 20 days (> 30): 4 archetypes x 3 customers.
    assert summary["events"] == {
        "CustomerSegmentChanged": len(store.profiles),
        "CustomerTierChanged": 3,
        "PointsExpired": 3,
        "CustomerOverdue": 12,
    }
    completed = [e for e in svc.publisher.events if e.detail_type == "ReclassificationCompleted"]
    assert [e.event_id for e in completed] == [event_id("reclassification", "2026-02", "completed")]
    assert all(p.classified_period == "2026-02" for p in store.profiles.values())


def test_a_rerun_for_the_same_period_writes_and_publishes_nothing() -> None:
    svc, _ = clean_run(archetype_profiles(SMALL))
    before = copy.deepcopy(svc.store.store.profiles)  # type: ignore[attr-defined]
    svc.publisher = RecordingPublisher()
    writes = svc.store.writes  # type: ignore[attr-defined]
    result = run_steps(svc, AS_OF, "rerun", total_segments=5)  # another fan-out, same answer
    assert svc.publisher.events == []
    assert svc.store.writes == writes  # type: ignore[attr-defined]
    assert svc.store.store.profiles == before  # type: ignore[attr-defined]
    assert sum(w["changed"] for w in result["workers"]) == 0
    assert result["summary"]["published"] is False


def test_the_next_month_only_announces_what_moved() -> None:
    svc, _ = clean_run(archetype_profiles(SMALL))
    svc.publisher = RecordingPublisher()
    run_steps(svc, date(2026, 4, 1), "april", total_segments=2)
    kinds = Counter(e.detail_type for e in svc.publisher.events)
    assert kinds["ReclassificationCompleted"] == 1
    assert 0 < kinds["CustomerSegmentChanged"] < len(svc.store.store.profiles)  # type: ignore[attr-defined]
    assert all(e.detail["period"] == "2026-03" for e in svc.publisher.events)


# -- crashes ---------------------------------------------------------------------------------------


def expected_run() -> tuple[dict[str, Profile], set[str], dict[str, Profile]]:
    profiles = archetype_profiles(SMALL)
    svc, _ = clean_run(profiles)
    return profiles, ids(svc.publisher.events), svc.store.store.profiles  # type: ignore[attr-defined]


EXPECTED = expected_run()


@pytest.mark.parametrize("limit", [0, 1, 9, 10, 11, 25, 40])
def test_a_crash_while_publishing_then_a_rerun_loses_no_event(limit: int) -> None:
    profiles, expected_ids, final = EXPECTED
    crashing = CrashingPublisher(limit)
    runs = InMemoryRunStore()
    svc = service(copy.deepcopy(profiles), publisher=crashing, runs=runs)
    with pytest.raises(Crash):
        run_steps(svc, AS_OF, "first", total_segments=3)
    delivered = list(crashing.events)
    svc.publisher = RecordingPublisher()
    run_steps(svc, AS_OF, "second", total_segments=3)
    delivered += svc.publisher.events
    assert ids(delivered) >= expected_ids
    assert svc.store.store.profiles == final  # type: ignore[attr-defined]
    svc.publisher = RecordingPublisher()
    run_steps(svc, AS_OF, "third", total_segments=3)
    assert svc.publisher.events == []


@pytest.mark.parametrize("limit", [1, 2, 7, 20, 38])
def test_a_crash_after_a_profile_write_then_a_rerun_loses_no_event(limit: int) -> None:
    profiles, expected_ids, final = EXPECTED
    store = InMemoryStore()
    store.profiles.update(copy.deepcopy(profiles))
    publisher = RecordingPublisher()
    svc = service({}, publisher=publisher, scan=CrashingScan(store, limit))
    with pytest.raises(Crash):
        run_steps(svc, AS_OF, "first", total_segments=3)
    assert ids(publisher.events) < expected_ids
    svc.store = InMemoryCustomerScan(store, page_size=7)
    run_steps(svc, AS_OF, "second", total_segments=3)
    assert ids(publisher.events) >= expected_ids
    assert store.profiles == final
    fresh = RecordingPublisher()
    svc.publisher = fresh
    run_steps(svc, AS_OF, "third", total_segments=3)
    assert fresh.events == []


# -- concurrent ingest -------------------------------------------------------------------------------


class IngestDuringPublish(RecordingPublisher):
    """Each time events go out, a purchase lands on one of their customers (as ingest would write)."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__()
        self.store = store
        self.touched: list[str] = []

    def publish(self, events: Any) -> None:
        super().publish(events)
        for event in events:
            customer = event.detail.get("customer_id")
            if customer and customer not in self.touched:
                current = self.store.profiles[customer]
                self.store.profiles[customer] = replace(
                    current, version=current.version + 1, points_balance=current.points_balance + 7
                )
                self.touched.append(customer)
                return


def test_a_concurrent_write_is_reread_and_kept() -> None:
    store = InMemoryStore()
    store.profiles.update(archetype_profiles(SMALL))
    balances = {c: p.points_balance for c, p in store.profiles.items()}
    publisher = IngestDuringPublish(store)
    svc = ReclassifyService(InMemoryCustomerScan(store, page_size=7), publisher, FIXED, InMemoryRunStore())
    result = run_steps(svc, AS_OF, "race", total_segments=2)
    assert sum(w["conflicts"] for w in result["workers"]) == len(publisher.touched) > 0
    for customer in publisher.touched:
        profile = store.profiles[customer]
        assert profile.classified_period == "2026-02"
        expired = profile.points_expired
        assert profile.points_balance == balances[customer] + 7 - expired
    assert Counter(p.segment for p in store.profiles.values()) == expected_segments(SMALL)
    segment_ids = [e.event_id for e in publisher.events if e.detail_type == "CustomerSegmentChanged"]
    assert len(set(segment_ids)) == len(store.profiles)


# -- properties -------------------------------------------------------------------------------------

purchase = st.tuples(
    st.dates(min_value=date(2023, 6, 1), max_value=date(2026, 4, 20)),
    st.integers(1, 200_000),
    st.dictionaries(st.sampled_from(["beauty", "food", "toys", "_other"]), st.integers(1, 100), max_size=2),
)
cuts = st.builds(
    Cuts,
    st.just("quintiles"),
    st.lists(st.integers(1, 400), min_size=4, max_size=4).map(lambda v: tuple(sorted(v, reverse=True))),
    st.lists(st.integers(1, 30), min_size=4, max_size=4).map(lambda v: tuple(sorted(v))),
    st.lists(st.integers(0, 10**6), min_size=4, max_size=4).map(lambda v: tuple(sorted(v))),
    st.one_of(st.none(), st.integers(1, 200)),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(purchase, min_size=1, max_size=25), cuts, st.sampled_from([PROG, FIXED]))
def test_classifying_twice_changes_nothing(purchases: list[tuple], cut: Cuts, programme: Programme) -> None:
    profile = build("P", purchases, programme)
    first = classify(profile, programme, cut, WINDOW)
    if first is None:
        assert profile.first_purchase_at is not None and profile.first_purchase_at >= "2026-02-28"
        return
    again = classify(first.after, programme, cut, WINDOW)
    assert again is not None and not again.changed and again.events == ()
    assert (again.after.segment, again.after.tier) == (first.after.segment, first.after.tier)
    last = first.classification.facts.last_day
    for warning in (e for e in first.events if e.detail_type == "PointsExpiring"):  # once per lot
        assert warning.event_id == event_id(
            "P", warning.detail["lot"], warning.detail["expires_on"], "expiring"
        )
    assert {e.event_id for e in first.events if e.detail_type != "PointsExpiring"} <= {
        event_id("P", "2026-02", "segment"),
        event_id("P", "2026-02", "tier", "2026-02"),
        event_id("P", "2026-02", "expiry"),
        event_id("P", last.isoformat() if last else "", "overdue"),
    }
    after = first.after
    assert after.points_earned - after.points_redeemed - after.points_expired == after.points_balance


# -- the event contract ---------------------------------------------------------------------------


def schema(detail_type: str) -> dict[str, Any]:
    return json.loads((REPO / "schemas" / "events" / f"{detail_type}.json").read_text())


def test_the_schema_files_are_generated_from_the_models() -> None:
    for name, generated in json_schemas().items():
        assert schema(name) == generated, (
            f"schemas/events/{name}.json is stale: run schemas/events/generate.py"
        )


def test_every_published_event_validates_against_its_schema() -> None:
    svc, _ = clean_run(archetype_profiles(SMALL))
    seen = Counter()
    for event in svc.publisher.events:
        body = json.loads(event.to_entry("bus", "loyalty")["Detail"])
        jsonschema.Draft4Validator(schema(str(event.detail_type))).validate(body)
        for key in ("event_id", "period"):
            assert key in body
        if event.detail_type != "ReclassificationCompleted":
            assert {"before", "after", "ab_bucket"} <= set(body)
        seen[str(event.detail_type)] += 1
    assert set(seen) == {
        "CustomerSegmentChanged",
        "CustomerTierChanged",
        "PointsExpired",
        "CustomerOverdue",
        "ReclassificationCompleted",
    }
    bad = json.loads(svc.publisher.events[0].to_entry("bus", "loyalty")["Detail"])
    bad["ab_bucket"] = "7"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema(str(svc.publisher.events[0].detail_type))).validate(bad)


def test_an_ingest_upgrade_event_fits_the_tier_schema_too() -> None:
    from loyalty.events import tier_changed

    event = tier_changed("C1", "2026-03", "T9", "member", "silver", "upgrade", {"points_balance": 250})
    jsonschema.Draft4Validator(schema("CustomerTierChanged")).validate(event.body())


def test_tally_and_run_round_trip() -> None:
    run = Run.from_dict(prepare(FIXED, "2026-03-01T02:00:00Z", "x", 4)["run"])
    assert (run.period, run.as_of, run.total_segments) == ("2026-02", "2026-03-01", 4)
    assert Run.from_dict(run.to_dict()) == run
    # the scheduler's time is read in the programme zone: 23:30 UTC on 31 March is 1 April in Paris
    assert prepare(FIXED, "2026-03-31T23:30:00Z", "x", 1)["run"]["period"] == "2026-03"
    svc, _ = clean_run(archetype_profiles(SMALL))
    keys = svc.runs.keys("reclassification/2026-02/clean/classify/")
    tallies = [Tally.from_dict(svc.runs.get(k) or {}) for k in keys]
    assert Tally.from_dict(tallies[0].to_dict()) == tallies[0]
