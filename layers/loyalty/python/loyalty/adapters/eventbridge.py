"""EventBridge publisher: PutEvents in batches of 10, resending only the entries that failed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from loyalty.events import DomainEvent
from loyalty.ports import PUT_EVENTS_MAX_ENTRIES, PublishFailed

BATCH_SIZE = PUT_EVENTS_MAX_ENTRIES
# EventBridge asking us to slow down: PutEvents' own error, or an entry's ErrorCode (PutEventsResultEntry).
THROTTLE_CODES = ("ThrottlingException",)


class PublishError(PublishFailed):
    """`undelivered`: the events not accepted (of the failed batch and the batches after it);
    `throttled`: every failure was EventBridge asking us to slow down (a paced publisher waits and
    resends `undelivered`, loyalty.service.reclassify.rate_limit)."""

    def __init__(self, failed: list[dict[str, Any]], undelivered: list[DomainEvent] | None = None) -> None:
        codes = sorted({str(f.get("ErrorCode")) for f in failed})
        super().__init__(f"{len(failed)} event(s) not delivered after retries: {', '.join(codes)}")
        self.failed = failed
        self.undelivered = undelivered or []
        self.throttled = bool(codes) and set(codes) <= set(THROTTLE_CODES)


class EventBridgePublisher:
    def __init__(
        self,
        bus_name: str,
        source: str,
        client: Any = None,
        max_attempts: int = 6,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bus_name = bus_name
        self.source = source
        self._client = client
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.calls = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # created on first publish: most API calls publish nothing

            self._client = boto3.client("events")
        return self._client

    def publish(self, events: Sequence[DomainEvent]) -> None:
        events = list(events)
        for start in range(0, len(events), BATCH_SIZE):
            batch = events[start : start + BATCH_SIZE]
            try:
                self._put_batch(batch)
            except PublishError as exc:
                exc.undelivered += events[start + BATCH_SIZE :]
                raise

    def _put_batch(self, batch: list[DomainEvent]) -> None:
        pending = [(event, event.to_entry(self.bus_name, self.source)) for event in batch]
        failed: list[dict[str, Any]] = []
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
            self.calls += 1
            response = self._put(pending)
            if not response.get("FailedEntryCount"):
                return
            # Results are positional: keep only the entries whose result carries an error.
            results = response["Entries"]
            failed = [r for r in results if r.get("ErrorCode")]
            pending = [sent for sent, result in zip(pending, results, strict=True) if result.get("ErrorCode")]
        raise PublishError(failed, [event for event, _ in pending])

    def _put(self, pending: list[tuple[DomainEvent, dict[str, Any]]]) -> dict[str, Any]:
        """One PutEvents; the call itself throttled past the SDK's retries reads as every entry
        failed with the throttling code (so the retry above, and a paced publisher, handle it)."""
        from botocore.exceptions import ClientError

        try:
            return self.client.put_events(Entries=[entry for _, entry in pending])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in THROTTLE_CODES:
                raise
            return {"FailedEntryCount": len(pending), "Entries": [{"ErrorCode": code}] * len(pending)}
