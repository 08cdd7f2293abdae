"""Ports: what the services need from AWS, as small protocols with in-memory fakes (fakes.py)
and real adapters (adapters/dynamodb.py, adapters/eventbridge.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from loyalty.domain.profile import Profile
from loyalty.events import DomainEvent


class VersionConflict(Exception):
    """The profile changed since it was read: read again and retry."""


class DuplicateTransaction(Exception):
    """A transaction with this id is already stored."""


class Throttled(Exception):
    """The store asked us to slow down (throttling or a transient transaction conflict)."""


@dataclass(frozen=True)
class StoredTransaction:
    transaction_id: str
    customer_id: str
    kind: str  # purchase | return
    occurred_at: str  # ISO 8601 with the offset it was sent with
    occurred_key: str  # UTC instant + "#" + id: the history sort key
    currency: str
    amount: int
    body_hash: str
    store_id: str | None = None
    channel: str | None = None
    returned: int = 0
    points_rate: int = 0
    points_earned: int = 0
    categories: dict[str, int] = field(default_factory=dict)
    original_transaction_id: str | None = None
    response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReturnedUpdate:
    """Move a purchase's `returned` from `expected` to `new`, only if nobody moved it since."""

    transaction_id: str
    expected: int
    new: int


@dataclass(frozen=True)
class HistoryPage:
    items: list[StoredTransaction]
    next_cursor: str | None


class CustomerStore(Protocol):
    def get(self, customer_id: str) -> Profile | None:
        """One strongly consistent GetItem."""
        ...


class TransactionStore(Protocol):
    def get(self, transaction_id: str) -> StoredTransaction | None: ...

    def get_with_profile(
        self, transaction_id: str, customer_id: str
    ) -> tuple[StoredTransaction | None, Profile | None]:
        """The original purchase and the profile in one read (for returns)."""
        ...

    def record(
        self,
        transaction: StoredTransaction,
        profile: Profile,
        expected_version: int | None,
        returned: ReturnedUpdate | None = None,
    ) -> None:
        """Atomically: store the transaction (only if new), update the original purchase's
        returned amount (only if unchanged) and write the profile (only at expected_version,
        None meaning the profile must not exist). Raises DuplicateTransaction or VersionConflict."""
        ...

    def history(self, customer_id: str, limit: int, cursor: str | None) -> HistoryPage: ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Publish all events, resending only failed entries; raises if some never get through."""
        ...


# ---------------------------------------------------------------------------------------------
# The monthly reclassification (loyalty.service.reclassify)


class CustomerScan(Protocol):
    """Streaming access to every customer for the monthly run, one parallel-scan segment at a time."""

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        """The profiles of one scan segment, a page at a time (never the whole segment in memory)."""
        ...

    def save_classification(self, profile: Profile, expected_version: int) -> None:
        """Write the classification fields (segment, rfm, favourite_category, classified_period, tier,
        tier_since, points_balance, points_expired) only if the stored version is still
        `expected_version`, bumping it. Raises VersionConflict (re-read and recompute) otherwise."""
        ...

    def get(self, customer_id: str) -> Profile | None:
        """One strongly consistent read (after a conflict)."""
        ...


class RunStore(Protocol):
    """Small JSON documents of one run (partial statistics and summaries per scan segment), so that
    what travels in the Step Functions state stays a few hundred bytes whatever the segment count."""

    def put(self, key: str, document: dict[str, Any]) -> None: ...

    def get(self, key: str) -> dict[str, Any] | None: ...

    def keys(self, prefix: str) -> list[str]:
        """The keys under a prefix, sorted."""
        ...
