"""The monthly run against the account's quotas: a token bucket per worker for the customers table's
write units and one for PutEvents requests (the quota counts requests, each of up to 10 entries;
the rates are a share of the quotas, set by CDK: docs/deploy.md), and throttling that waits instead
of failing the step.

Both wrappers are ports around ports (CustomerScan, EventPublisher), so the worker does not know they
are there and the fakes can stand behind them in tests. Time is injected (`clock`, `sleep`): a fake
clock makes every test count, never time.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from loyalty.domain.profile import Profile
from loyalty.ports import CustomerScan, EventPublisher, PublishFailed, Throttled, put_events_requests

# An UpdateItem of a customer item within the 1 KB budget (issue 19, item 2) is one write unit; a write
# that books expired lots is a TransactWriteItems of that update and a ledger entry: 2 x (1 + 1).
UPDATE_UNITS = 1
TRANSACTION_UNITS = 4


def write_units(profile: Profile, before: Profile | None) -> int:
    """Write units one classification write asks of the table (what the bucket charges for it)."""
    expired = before is not None and profile.points_expired != before.points_expired
    return TRANSACTION_UNITS if expired else UPDATE_UNITS


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up (starting empty, so that a fleet of workers
    starting together does not burst together). A caller reserves what it needs and sleeps until the
    bucket has produced it: a request larger than the burst (10 write units at 5 a second) is
    served, late. Thread-safe: the worker's threads share one bucket."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be above 0, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst) if burst is not None else max(1.0, self.rate / 10)  # 100 ms of rate
        self.clock, self.sleep = clock, sleep
        self._tokens = 0.0
        self._updated = clock()
        self._lock = threading.Lock()
        self.taken = 0.0
        self.waited = 0.0

    def reserve(self, amount: float) -> float:
        """Take `amount` tokens (going into debt if needed); the seconds to wait before using them."""
        with self._lock:
            now = self.clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= amount
            self.taken += amount
            return max(0.0, -self._tokens / self.rate)

    def take(self, amount: float) -> None:
        delay = self.reserve(amount)
        if delay > 0:
            self.waited += delay
            self.sleep(delay)


@dataclass
class Backoff:
    """Waits after a throttled call: 50 ms doubling to `cap` seconds, full jitter. `patience` is the
    total wait before giving up (then the step's own retry in Step Functions takes over): long
    enough to outlast any throttling the buckets leave, short of Lambda's 15 minutes."""

    sleep: Callable[[float], None] = time.sleep
    cap: float = 5.0
    patience: float = 300.0
    jitter: Callable[[], float] = random.random
    waited: float = 0.0
    throttles: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wait(self, attempt: int, error: Exception) -> None:
        """Called after throttled attempt number `attempt` (0, 1, ...); re-raises past the patience."""
        delay = min(self.cap, 0.05 * 2**attempt) * (0.5 + self.jitter() / 2)
        with self._lock:
            self.throttles += 1
            if self.waited + delay > self.patience:
                raise error
            self.waited += delay
        self.sleep(delay)


def throttled_events(exc: Exception) -> Sequence[Any] | None:
    """The events a publisher could not deliver because EventBridge throttled them (None: it failed
    for another reason, which fails the step as before)."""
    if isinstance(exc, Throttled):
        return getattr(exc, "undelivered", None)
    if isinstance(exc, PublishFailed) and getattr(exc, "throttled", False):
        return getattr(exc, "undelivered", None)
    return None


class PacedPublisher:
    """An EventPublisher that takes one token per PutEvents request before each publish (the inner
    publisher sends batches of PUT_EVENTS_MAX_ENTRIES: `put_events_requests`) and, when EventBridge
    throttles (PutEvents itself, or entries failed with a throttling code), waits and resends only
    what was not delivered."""

    def __init__(self, inner: EventPublisher, requests: TokenBucket | None, backoff: Backoff) -> None:
        self.inner, self.requests, self.backoff = inner, requests, backoff

    def publish(self, events: Sequence[Any]) -> None:
        pending = list(events)
        attempt = 0
        while pending:
            if self.requests is not None:
                self.requests.take(put_events_requests(len(pending)))
            try:
                self.inner.publish(pending)
                return
            except (Throttled, PublishFailed) as exc:
                undelivered = throttled_events(exc)
                if undelivered is None:
                    raise
                self.backoff.wait(attempt, exc)
                pending = list(undelivered)
                attempt += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class PacedScan:
    """A CustomerScan whose classification writes take their write units from the bucket first and,
    when DynamoDB throttles one anyway (Throttled: nothing was written), wait and write again. Reads
    (the scan, the re-read after a conflict) are the scan's own; a throttled re-read waits too."""

    def __init__(
        self,
        inner: CustomerScan,
        units: TokenBucket | None,
        backoff: Backoff,
        units_of: Callable[[Profile, Profile | None], int] = write_units,
    ) -> None:
        self.inner, self.units, self.backoff, self.units_of = inner, units, backoff, units_of

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        return self.inner.scan_segment(segment, total_segments)

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        attempt = 0
        while True:
            if self.units is not None:
                self.units.take(self.units_of(profile, before))
            try:
                self.inner.save_classification(profile, expected_version, before)
                return
            except Throttled as exc:
                self.backoff.wait(attempt, exc)
                attempt += 1

    def get(self, customer_id: str) -> Profile | None:
        attempt = 0
        while True:
            try:
                return self.inner.get(customer_id)
            except Throttled as exc:
                self.backoff.wait(attempt, exc)
                attempt += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def paced(
    store: CustomerScan,
    publisher: EventPublisher,
    write_units_per_second: float | None,
    put_events_per_second: float | None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[PacedScan, PacedPublisher]:
    """The ports of one worker, paced at these rates (None or 0: no bucket, throttling still waits)."""

    def bucket(rate: float | None) -> TokenBucket | None:
        return TokenBucket(rate, clock=clock, sleep=sleep) if rate else None

    return (
        PacedScan(store, bucket(write_units_per_second), Backoff(sleep=sleep)),
        PacedPublisher(publisher, bucket(put_events_per_second), Backoff(sleep=sleep)),
    )
