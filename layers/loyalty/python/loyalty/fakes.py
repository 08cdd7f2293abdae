"""In-memory fakes of the ports, with the same atomicity and conditions as the real adapters."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

from loyalty.domain.profile import Profile
from loyalty.events import DomainEvent
from loyalty.ports import (
    DuplicateTransaction,
    HistoryPage,
    ReturnedUpdate,
    StoredTransaction,
    VersionConflict,
)


class InMemoryStore:
    """Customer store and transaction store in one, so `record` can be atomic."""

    def __init__(self) -> None:
        self.profiles: dict[str, Profile] = {}
        self.transactions: dict[str, StoredTransaction] = {}
        self.lock = threading.Lock()
        self.calls: list[str] = []

    # CustomerStore
    def get(self, customer_id: str) -> Profile | None:
        self.calls.append("GetItem")
        return self.profiles.get(customer_id)

    # TransactionStore
    def get_transaction(self, transaction_id: str) -> StoredTransaction | None:
        self.calls.append("GetItem")
        return self.transactions.get(transaction_id)

    def get_with_profile(
        self, transaction_id: str, customer_id: str
    ) -> tuple[StoredTransaction | None, Profile | None]:
        self.calls.append("TransactGetItems")
        return self.transactions.get(transaction_id), self.profiles.get(customer_id)

    def record(
        self,
        transaction: StoredTransaction,
        profile: Profile,
        expected_version: int | None,
        returned: ReturnedUpdate | None = None,
    ) -> None:
        self.calls.append("TransactWriteItems")
        with self.lock:
            if transaction.transaction_id in self.transactions:
                raise DuplicateTransaction(transaction.transaction_id)
            current = self.profiles.get(profile.customer_id)
            if (current is None) != (expected_version is None) or (
                current is not None and current.version != expected_version
            ):
                raise VersionConflict(profile.customer_id)
            if returned is not None:
                original = self.transactions.get(returned.transaction_id)
                if original is None or original.returned != returned.expected:
                    raise VersionConflict(returned.transaction_id)
                self.transactions[returned.transaction_id] = replace(original, returned=returned.new)
            self.transactions[transaction.transaction_id] = transaction
            self.profiles[profile.customer_id] = replace(profile, version=(expected_version or 0) + 1)

    def history(self, customer_id: str, limit: int, cursor: str | None) -> HistoryPage:
        self.calls.append("Query")
        items = sorted(
            (t for t in self.transactions.values() if t.customer_id == customer_id),
            key=lambda t: t.occurred_key,
            reverse=True,
        )
        if cursor:
            after = base64.urlsafe_b64decode(cursor.encode()).decode()
            items = [t for t in items if t.occurred_key < after]
        page = items[:limit]
        more = len(items) > limit
        next_cursor = base64.urlsafe_b64encode(page[-1].occurred_key.encode()).decode() if more else None
        return HistoryPage(page, next_cursor)


class TransactionView:
    """Adapts InMemoryStore to the TransactionStore protocol (its `get` reads transactions)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def get(self, transaction_id: str) -> StoredTransaction | None:
        return self.store.get_transaction(transaction_id)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.store, name)


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)


# ---------------------------------------------------------------------------------------------
# The monthly reclassification


def scan_segment_of(customer_id: str, total_segments: int) -> int:
    """Where a parallel scan finds a key in the fake (DynamoDB spreads keys by their hash too)."""
    digest = hashlib.sha256(customer_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % total_segments


class InMemoryCustomerScan:
    """The CustomerScan port over an InMemoryStore (shared with ingest, so both can race)."""

    def __init__(self, store: InMemoryStore, page_size: int = 100) -> None:
        self.store = store
        self.page_size = page_size
        self.writes = 0

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        with self.store.lock:
            ids = sorted(
                (c for c in self.store.profiles if scan_segment_of(c, total_segments) == segment),
                key=lambda c: (hashlib.sha256(c.encode()).digest(), c),
            )
        for start in range(0, len(ids), self.page_size):
            self.store.calls.append("Scan")
            page = [self.store.profiles.get(c) for c in ids[start : start + self.page_size]]
            yield [p for p in page if p is not None]

    def save_classification(self, profile: Profile, expected_version: int) -> None:
        self.store.calls.append("UpdateItem")
        with self.store.lock:
            current = self.store.profiles.get(profile.customer_id)
            if current is None or current.version != expected_version:
                raise VersionConflict(profile.customer_id)
            self.store.profiles[profile.customer_id] = replace(profile, version=expected_version + 1)
            self.writes += 1

    def get(self, customer_id: str) -> Profile | None:
        return self.store.get(customer_id)


class InMemoryRunStore:
    def __init__(self) -> None:
        self.documents: dict[str, dict] = {}

    def put(self, key: str, document: dict) -> None:
        self.documents[key] = json.loads(json.dumps(document))  # what S3 would give back

    def get(self, key: str) -> dict | None:
        document = self.documents.get(key)
        return None if document is None else json.loads(json.dumps(document))

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.documents if k.startswith(prefix))
