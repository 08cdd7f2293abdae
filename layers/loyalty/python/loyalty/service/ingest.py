"""POST /v1/transactions: one read, one TransactWriteItems, retried on conflict. The rules of a
transaction (validation, answer, stored record, content hash) are service/transactions.py's."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loyalty.domain.members import contactable
from loyalty.domain.profile import Profile
from loyalty.errors import ApiError, all_of, field_error
from loyalty.events import DomainEvent, tier_changed, with_contactable
from loyalty.ports import (
    CustomerStore,
    DuplicateTransaction,
    EventPublisher,
    Throttled,
    TransactionStore,
    VersionConflict,
)
from loyalty.programme import Programme
from loyalty.service.retry import attempts
from loyalty.service.transactions import (
    MAX_FUTURE_SKEW,
    Transaction,
    TransactionRequest,
    apply,
    body_hash,
    conflict_error,
    erased_error,
    same_content,
    tier_change_of,
    validate,
)

__all__ = [
    "MAX_FUTURE_SKEW",
    "ApiError",
    "IngestService",
    "TransactionRequest",
    "all_of",
    "erased_error",
    "field_error",
]  # fmt: skip  (the names other modules and tests import from here)


@dataclass
class IngestService:
    customers: CustomerStore
    transactions: TransactionStore
    publisher: EventPublisher
    programme: Programme
    max_attempts: int = 30
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    conflicts: int = 0  # optimistic retries taken, for tests and metrics

    def record(self, request: TransactionRequest) -> tuple[int, dict[str, Any]]:
        """Returns (status, body). Same transaction again -> the first answer; other body -> 409."""
        txn = validate(request, self.programme, self.now())
        for _ in attempts(self.max_attempts, self.sleep, self._conflict):
            try:
                answer, profile = self._try(txn)
            except (VersionConflict, Throttled):
                continue
            except DuplicateTransaction:
                return self._replay(txn)
            events = self._tier_events(request, answer, profile)
            if events:
                self.publisher.publish(events)
            return 201, answer
        raise ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")

    def _conflict(self) -> None:
        self.conflicts += 1

    def _try(self, txn: Transaction) -> tuple[dict[str, Any], Profile | None]:
        request = txn.request
        original = None
        if request.original_transaction_id is None:
            profile = self.customers.get(request.customer_id)
        else:
            original, profile = self.transactions.get_with_profile(
                request.original_transaction_id, request.customer_id
            )
        try:
            applied = apply(profile, txn, self.programme, original, self.now())
        except ApiError as error:
            # A retried transaction may look invalid now (its return already applied): replay it.
            if self.transactions.get(request.transaction_id) is not None:
                raise DuplicateTransaction(request.transaction_id) from error
            raise
        self.transactions.record(
            applied.stored, applied.profile, profile.version if profile else None, applied.returned
        )
        return applied.answer, profile

    def _replay(self, txn: Transaction) -> tuple[int, dict[str, Any]]:
        request = txn.request
        stored = self.transactions.get(request.transaction_id)
        if stored is None:  # vanished (erased): treat as a conflict rather than guess
            raise ApiError(409, "transaction_conflict", "transaction_id: already used")
        if not same_content(stored, txn, body_hash(request.raw)):
            raise conflict_error()
        answer = dict(stored.response)
        # At least once: an upgrade event lost to a crash after the write goes out on the retry.
        events = self._tier_events(request, answer, None)
        if events:
            self.publisher.publish(events)
        return 201, answer

    def _tier_events(
        self, request: TransactionRequest, answer: Mapping[str, Any], profile: Profile | None
    ) -> list[DomainEvent]:
        """The tier change this transaction made: an upgrade at a purchase, or the reversal of one at
        the return that undid it (the transaction is the cause, so a replay sends the same event)."""
        change = tier_change_of(answer)
        if change is None:
            return []
        before, after, direction = change
        if profile is None:  # a replay: the member's consents and status as they are now
            profile = self.customers.get(request.customer_id)
        reach = contactable(profile, self.programme.month_of(self.now()))
        return list(
            with_contactable(
                [
                    tier_changed(
                        request.customer_id,
                        self.programme.month_of(request.occurred_at),
                        request.transaction_id,
                        before,
                        after,
                        direction,
                        {"points_balance": answer["points_balance"]},
                    )
                ],
                reach,
            )
        )
