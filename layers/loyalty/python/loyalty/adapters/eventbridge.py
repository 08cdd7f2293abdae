"""EventBridge publisher: PutEvents in batches of 10, resending only the entries that failed."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from loyalty.events import DomainEvent
from loyalty.ports import PublishFailed

BATCH_SIZE = 10  # PutEvents' limit per call


class PublishError(PublishFailed):
    def __init__(self, failed: list[dict[str, Any]]) -> None:
        codes = sorted({str(f.get("ErrorCode")) for f in failed})
        super().__init__(f"{len(failed)} event(s) not delivered after retries: {', '.join(codes)}")
        self.failed = failed


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
        entries = [e.to_entry(self.bus_name, self.source) for e in events]
        for start in range(0, len(entries), BATCH_SIZE):
            self._put_batch(entries[start : start + BATCH_SIZE])

    def _put_batch(self, pending: list[dict[str, Any]]) -> None:
        failed: list[dict[str, Any]] = []
        for attempt in range(self.max_attempts):
            if attempt:
                self.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
            self.calls += 1
            response = self.client.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                return
            # Results are positional: keep only the entries whose result carries an error.
            results = response["Entries"]
            failed = [r for r in results if r.get("ErrorCode")]
            pending = [
                entry for entry, result in zip(pending, results, strict=True) if result.get("ErrorCode")
            ]
        raise PublishError(failed)
