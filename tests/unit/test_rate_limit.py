"""Issue 19, item 3: the monthly run paced by token buckets (write units, PutEvents requests) and
throttling that waits instead of failing the step. Time is a fake clock: every assertion counts."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from loyalty.adapters.eventbridge import EventBridgePublisher, PublishError
from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
from loyalty.ports import PublishFailed, Throttled
from loyalty.service.reclassify import ReclassifyService, run_steps
from loyalty.service.reclassify.rate_limit import (
    Backoff,
    PacedPublisher,
    PacedScan,
    TokenBucket,
    paced,
    write_units,
)

from tests.unit.test_classify import AS_OF, FIXED, SMALL, archetype_profiles


class FakeClock:
    """A clock that moves only when someone sleeps (thread-safe: the worker's threads share it)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps += 1
            self.now += seconds


def test_the_bucket_serves_its_rate_and_no_more() -> None:
    clock = FakeClock()
    bucket = TokenBucket(100, burst=10, clock=clock, sleep=clock.sleep)
    for _ in range(1_000):
        bucket.take(1)
    # 1,000 tokens from an empty bucket at 100/s: 10 s of the clock, and nothing early.
    assert clock.now == pytest.approx(10.0)
    assert bucket.taken == 1_000


def test_a_request_larger_than_the_burst_is_served_late_not_refused() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5, clock=clock, sleep=clock.sleep)  # burst 1
    bucket.take(10)  # 10 write units at 5 a second
    assert clock.now == pytest.approx(2.0)
    clock.now += 10  # idle: the bucket refills only up to its burst
    assert bucket.reserve(1) == 0.0
    assert bucket.reserve(1) == pytest.approx(0.2)


def test_write_units_charge_a_transaction_for_expired_lots() -> None:
    profile = next(iter(archetype_profiles(SMALL).values()))
    assert write_units(profile, profile) == 1
    from dataclasses import replace

    expired = replace(profile, points_expired=profile.points_expired + 100)
    assert write_units(expired, profile) == 4


class ThrottlingScan(InMemoryCustomerScan):
    """DynamoDB throttling the first two attempts of every third write (nothing written then)."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__(store, page_size=7)
        self.attempts: Counter[str] = Counter()
        self.throttled = 0
        self._lock = threading.Lock()

    def save_classification(self, profile: Any, expected_version: int, before: Any = None) -> None:
        with self._lock:
            self.attempts[profile.customer_id] += 1
            ordinal = len(self.attempts)
            attempt = self.attempts[profile.customer_id]
        if ordinal % 3 == 0 and attempt <= 2:
            self.throttled += 1
            raise Throttled(f"ProvisionedThroughputExceededException: {profile.customer_id}")
        super().save_classification(profile, expected_version, before)


class ThrottlingPublisher(RecordingPublisher):
    """EventBridge accepting every other publish only in part: the first entry delivered, the rest
    failed with ThrottlingException (as PutEvents' FailedEntryCount answers)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self._lock = threading.Lock()

    def publish(self, events: Any) -> None:
        with self._lock:
            self.calls += 1
            throttle = self.calls % 2 == 1 and len(events) > 1
            self.events.extend(events[:1] if throttle else events)
        if throttle:
            failed = [{"ErrorCode": "ThrottlingException"}] * (len(events) - 1)
            raise PublishError(failed, list(events[1:]))


def test_the_publisher_pays_one_token_per_put_events_request_not_per_entry() -> None:
    # The PutEvents quota counts requests ("the maximum number of requests per second for PutEvents
    # API"), each of up to 10 entries: 25 events are 3 requests, 10 are 1.
    from loyalty.events import DetailType, DomainEvent, event_id

    clock = FakeClock()
    bucket = TokenBucket(1_000, clock=clock, sleep=clock.sleep)
    inner = RecordingPublisher()
    publisher = PacedPublisher(inner, bucket, Backoff(sleep=clock.sleep))
    events = [
        DomainEvent(DetailType.CUSTOMER_SEGMENT_CHANGED, event_id(f"C{i}", "2026-03", "segment"), {"i": i})
        for i in range(25)
    ]
    publisher.publish(events)
    publisher.publish(events[:10])
    assert bucket.taken == 3 + 1
    assert len(inner.events) == 35


@pytest.mark.parametrize("threads", [1, 4])
def test_under_throttling_the_run_completes_and_every_profile_is_written_once(threads: int) -> None:
    reference = InMemoryStore()
    reference.profiles.update(archetype_profiles(SMALL))
    expected_publisher = RecordingPublisher()
    plain = ReclassifyService(InMemoryCustomerScan(reference), expected_publisher, FIXED, InMemoryRunStore())
    expected = run_steps(plain, AS_OF, "plain", total_segments=2)["summary"]

    store = InMemoryStore()
    store.profiles.update(archetype_profiles(SMALL))
    scan, events = ThrottlingScan(store), ThrottlingPublisher()
    clock = FakeClock()
    paced_scan, paced_publisher = paced(scan, events, 50, 20, sleep=clock.sleep, clock=clock)
    svc = ReclassifyService(paced_scan, paced_publisher, FIXED, InMemoryRunStore(), threads=threads)
    summary = run_steps(svc, AS_OF, "throttled", total_segments=2)["summary"]

    assert scan.throttled > 0 and paced_scan.backoff.throttles == scan.throttled
    assert paced_publisher.backoff.throttles > 0
    # Every changed profile written exactly once, the same profiles as an unthrottled run.
    assert scan.writes == expected["changed"] > 0
    assert store.profiles == reference.profiles
    # Every event delivered exactly once (throttled entries resent, delivered ones not).
    ids = Counter(e.event_id for e in events.events)
    assert set(ids.values()) == {1}
    assert set(ids) == {e.event_id for e in expected_publisher.events}
    assert summary["changed"] == expected["changed"]


def test_the_write_rate_never_exceeds_the_bucket() -> None:
    """Checkout's share: over every window of the fake clock the run's writes stay within its rate."""
    store = InMemoryStore()
    store.profiles.update(archetype_profiles(SMALL))
    clock = FakeClock()
    times: list[float] = []

    class Timed(InMemoryCustomerScan):
        def save_classification(self, profile: Any, expected_version: int, before: Any = None) -> None:
            times.append(clock.now)
            super().save_classification(profile, expected_version, before)

    rate = 10.0
    paced_scan = PacedScan(Timed(store), TokenBucket(rate, clock=clock, sleep=clock.sleep), Backoff())
    svc = ReclassifyService(paced_scan, RecordingPublisher(), FIXED, InMemoryRunStore(), threads=1)
    run_steps(svc, AS_OF, "timed", total_segments=1)
    assert len(times) > 2 * rate  # long enough to see the rate
    burst = paced_scan.units.burst  # type: ignore[union-attr]
    for start in times:
        window = [t for t in times if start <= t < start + 1.0]
        assert len(window) <= rate + burst


def test_throttling_past_the_patience_fails_with_the_throttle() -> None:
    class Always(InMemoryCustomerScan):
        def save_classification(self, *args: Any, **kwargs: Any) -> None:
            raise Throttled("always")

    clock = FakeClock()
    store = InMemoryStore()
    profile = next(iter(archetype_profiles(SMALL).values()))
    store.profiles[profile.customer_id] = profile
    scan = PacedScan(Always(store), None, Backoff(sleep=clock.sleep, patience=60))
    with pytest.raises(Throttled):
        scan.save_classification(profile, profile.version, profile)
    assert 55 <= clock.now <= 60  # it waited its patience, then the step's own retry takes over


def test_a_failure_that_is_not_throttling_is_not_retried() -> None:
    class Broken(RecordingPublisher):
        def publish(self, events: Any) -> None:
            raise PublishError([{"ErrorCode": "InternalFailure"}], list(events))

    publisher = PacedPublisher(Broken(), None, Backoff(sleep=lambda s: None))
    with pytest.raises(PublishFailed):
        publisher.publish(["e"])
    assert publisher.backoff.throttles == 0


class FakeEvents:
    """PutEvents answering from a script: each call's list of error codes (None: accepted)."""

    def __init__(self, script: list[Any]) -> None:
        self.script, self.requests = script, []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests.append([e["Detail"] for e in Entries])
        step = self.script.pop(0) if self.script else [None] * len(Entries)
        if isinstance(step, Exception):
            raise step
        entries = [{"ErrorCode": code} if code else {"EventId": "x"} for code in step]
        return {"FailedEntryCount": sum(1 for c in step if c), "Entries": entries}


def test_the_adapter_reports_throttled_entries_as_undelivered_and_the_paced_publisher_resends_them() -> None:
    from botocore.exceptions import ClientError
    from loyalty.events import DetailType, DomainEvent, event_id

    events = [
        DomainEvent(DetailType.CUSTOMER_SEGMENT_CHANGED, event_id(f"C{n}", "2026-03", "segment"), {"n": n})
        for n in range(12)
    ]
    throttle = "ThrottlingException"
    client_throttle = ClientError({"Error": {"Code": throttle, "Message": "slow down"}}, "PutEvents")
    # Batch 1 (10 entries): entries 2 and 5 throttled on both of the adapter's 2 attempts; batch 2
    # (entries 10, 11) is then never tried by that publish.
    script: list[Any] = [[None, None, throttle, None, None, throttle, None, None, None, None], [throttle] * 2]
    client = FakeEvents(list(script))
    adapter = EventBridgePublisher("bus", "loyalty", client=client, max_attempts=2, sleep=lambda s: None)
    with pytest.raises(PublishError) as raised:
        adapter.publish(events)
    assert raised.value.throttled
    assert raised.value.undelivered == [events[i] for i in (2, 5, 10, 11)]

    # Paced: the same answers, then the resend of the 4 throttled as a call (ClientError), then accepted.
    client.script, client.requests = [*script, client_throttle], []
    publisher = PacedPublisher(adapter, None, Backoff(sleep=lambda s: None))
    publisher.publish(events)
    # Request 3 was refused as a call (nothing delivered; the adapter's own next attempt), 4 accepted.
    assert [len(r) for r in client.requests] == [10, 2, 4, 4]
    accepted = [client.requests[0][i] for i in (0, 1, 3, 4, 6, 7, 8, 9)] + client.requests[3]
    assert sorted(accepted) == sorted(e.to_entry("bus", "loyalty")["Detail"] for e in events)
    assert publisher.backoff.throttles == 1
