"""Recording a purchase or a return: one read, one TransactWriteItems, retried on conflict."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty.domain.earning import (
    Purchase,
    Return,
    ReturnExceedsPurchase,
    apply_purchase,
    apply_return,
    iso_utc,
)
from loyalty.domain.profile import new_profile
from loyalty.events import DomainEvent, tier_changed
from loyalty.money import AmountError, format_amount, parse_amount
from loyalty.ports import (
    CustomerStore,
    DuplicateTransaction,
    EventPublisher,
    ReturnedUpdate,
    StoredTransaction,
    Throttled,
    TransactionStore,
    VersionConflict,
    purchase_record,
)
from loyalty.programme import Programme

MAX_FUTURE_SKEW = timedelta(hours=24)  # tills with a wrong clock, not transactions from next week


class ApiError(Exception):
    """An error the API answers with its envelope: {"error": {"code", "message", "details"}}."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def field_error(name: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, "invalid_field", f"{name}: {message}", [{"field": name, "message": message}])


def all_of(errors: list[ApiError]) -> ApiError:
    """Several refusals of one request as one answer: every field in `details`; 400 if any is 400."""
    if len(errors) == 1:
        return errors[0]
    details = [detail for error in errors for detail in error.details or []]
    status = 400 if any(error.status == 400 for error in errors) else errors[0].status
    more = f" (and {len(details) - 1} more: see details)"
    return ApiError(status, "invalid_field", errors[0].message + more, details)


def erased_error() -> ApiError:
    return ApiError(
        409,
        "customer_erased",
        "customer_id: this customer is being erased; nothing was recorded",
        [{"field": "customer_id", "message": "is being erased"}],
    )


@dataclass(frozen=True)
class TransactionRequest:
    """A validated request body (the API layer has checked types and shapes)."""

    transaction_id: str
    customer_id: str
    store_id: str
    channel: str
    occurred_at: datetime
    currency: str
    amount: str
    lines: list[Mapping[str, Any]] = field(default_factory=list)
    original_transaction_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)  # the body as sent, for the retry hash

    @property
    def kind(self) -> str:
        return "return" if self.original_transaction_id else "purchase"


def body_hash(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
        amount, categories = self._validate(request)
        digest = body_hash(request.raw)
        for attempt in range(self.max_attempts):
            if attempt:
                self.conflicts += 1
                self.sleep(min(0.2, 0.005 * 2 ** min(attempt, 6)) * random.uniform(0.5, 1.5))
            try:
                if request.kind == "purchase":
                    answer, events = self._purchase(request, amount, categories, digest)
                else:
                    answer, events = self._return(request, amount, categories, digest)
            except (VersionConflict, Throttled):
                continue
            except DuplicateTransaction:
                return self._replay(request, digest)
            if events:
                self.publisher.publish(events)
            return 201, answer
        raise ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")

    # -- the two kinds -----------------------------------------------------------------------

    def _purchase(
        self, request: TransactionRequest, amount: int, categories: dict[str, int], digest: str
    ) -> tuple[dict[str, Any], list[DomainEvent]]:
        existing = self.customers.get(request.customer_id)
        if existing is not None and existing.erased:
            self._raise_unless_duplicate(request, erased_error())
        profile = existing or new_profile(request.customer_id, self.programme.base_tier.name)
        purchase = Purchase(
            request.transaction_id, request.customer_id, request.occurred_at, amount, categories
        )
        updated, outcome = apply_purchase(profile, purchase, self.programme)
        answer = self._answer(request, amount, outcome.points_earned, outcome.points_balance, updated.tier)
        if outcome.upgraded:
            answer["tier_upgrade"] = {"from": outcome.tier_before, "to": outcome.tier}
        stored = self._stored(request, amount, categories, digest, outcome.points_rate, outcome.points_earned)
        stored = _with_response(stored, answer)
        self.transactions.record(stored, updated, existing.version if existing else None)
        return answer, self._upgrade_events(request, answer)

    def _return(
        self, request: TransactionRequest, amount: int, categories: dict[str, int], digest: str
    ) -> tuple[dict[str, Any], list[DomainEvent]]:
        assert request.original_transaction_id is not None
        original, existing = self.transactions.get_with_profile(
            request.original_transaction_id, request.customer_id
        )
        problem = None
        if original is None or original.customer_id != request.customer_id:
            problem = field_error(
                "original_transaction_id", "no purchase with this id for this customer", 422
            )
        elif original.kind != "purchase":
            problem = field_error("original_transaction_id", "refers to a return, not a purchase", 422)
        elif original.currency != request.currency:
            problem = field_error(
                "currency", f"differs from the original purchase ({original.currency})", 422
            )
        elif datetime.fromisoformat(original.occurred_at) > request.occurred_at:
            problem = field_error(
                "occurred_at", f"is before the purchase it returns ({original.occurred_at})", 422
            )
        elif existing is not None and existing.erased:
            problem = erased_error()
        if problem is not None or existing is None or original is None:
            self._raise_unless_duplicate(
                request, problem or field_error("customer_id", "unknown customer", 404)
            )
            raise AssertionError("unreachable")
        record = purchase_record(original)
        ret = Return(
            request.transaction_id,
            request.customer_id,
            request.occurred_at,
            amount,
            original.transaction_id,
            categories if request.lines else {},
        )
        try:
            updated, new_record, outcome = apply_return(
                existing, ret, record, self.programme, _upgrade_of(original)
            )
        except ReturnExceedsPurchase as exc:
            left = format_amount(exc.remaining, request.currency)
            self._raise_unless_duplicate(
                request,
                ApiError(
                    422,
                    "return_exceeds_purchase",
                    f"amount: exceeds what is left of the original purchase ({left})",
                    [{"field": "amount", "message": f"at most {left} can still be returned"}],
                ),
            )
            raise AssertionError("unreachable") from exc
        answer = self._answer(request, amount, outcome.points_earned, outcome.points_balance, updated.tier)
        answer["original_transaction_id"] = original.transaction_id
        if outcome.tier != outcome.tier_before:
            answer["tier_downgrade"] = {"from": outcome.tier_before, "to": outcome.tier}
        stored = self._stored(
            request, amount, ret.categories, digest, outcome.points_rate, outcome.points_earned
        )
        self.transactions.record(
            _with_response(stored, answer),
            updated,
            existing.version,
            ReturnedUpdate(original.transaction_id, original.returned, new_record.returned),
        )
        return answer, self._upgrade_events(request, answer)

    # -- helpers -----------------------------------------------------------------------------

    def _raise_unless_duplicate(self, request: TransactionRequest, error: ApiError) -> None:
        """A retried transaction may look invalid now (its return already applied): replay it."""
        if self.transactions.get(request.transaction_id) is not None:
            raise DuplicateTransaction(request.transaction_id)
        raise error

    def _replay(self, request: TransactionRequest, digest: str) -> tuple[int, dict[str, Any]]:
        stored = self.transactions.get(request.transaction_id)
        if stored is None:  # vanished (erased): treat as a conflict rather than guess
            raise ApiError(409, "transaction_conflict", "transaction_id: already used")
        if stored.body_hash != digest:
            raise ApiError(
                409,
                "transaction_conflict",
                "transaction_id: already used for a different transaction",
                [{"field": "transaction_id", "message": "already used with other content"}],
            )
        answer = dict(stored.response)
        # At least once: an upgrade event lost to a crash after the write goes out on the retry.
        events = self._upgrade_events(request, answer)
        if events:
            self.publisher.publish(events)
        return 201, answer

    def _upgrade_events(self, request: TransactionRequest, answer: Mapping[str, Any]) -> list[DomainEvent]:
        """The tier change this transaction made: an upgrade at a purchase, or the reversal of one at
        the return that undid it (the transaction is the cause, so a replay sends the same event)."""
        for key, direction in (("tier_upgrade", "upgrade"), ("tier_downgrade", "downgrade")):
            change = answer.get(key)
            if change:
                return [
                    tier_changed(
                        request.customer_id,
                        self.programme.month_of(request.occurred_at),
                        request.transaction_id,
                        change["from"],
                        change["to"],
                        direction,
                        {"points_balance": answer["points_balance"]},
                    )
                ]
        return []

    def _answer(
        self, request: TransactionRequest, amount: int, points: int, balance: int, tier: str
    ) -> dict[str, Any]:
        return {
            "transaction_id": request.transaction_id,
            "customer_id": request.customer_id,
            "type": request.kind,
            "amount": format_amount(amount, request.currency),
            "currency": request.currency,
            "points_earned": points,
            "points_balance": balance,
            "tier": tier,
        }

    def _stored(
        self,
        request: TransactionRequest,
        amount: int,
        categories: Mapping[str, int],
        digest: str,
        rate: int,
        points: int,
    ) -> StoredTransaction:
        return StoredTransaction(
            transaction_id=request.transaction_id,
            customer_id=request.customer_id,
            kind=request.kind,
            occurred_at=request.occurred_at.isoformat(),
            occurred_key=f"{iso_utc(request.occurred_at)}#{request.transaction_id}",
            currency=request.currency,
            amount=amount,
            body_hash=digest,
            store_id=request.store_id,
            channel=request.channel,
            points_rate=rate,
            points_earned=points,
            categories=dict(categories),
            original_transaction_id=request.original_transaction_id,
        )

    def _validate(self, request: TransactionRequest) -> tuple[int, dict[str, int]]:
        """The business checks of a well-formed body, all at once: (amount, spend per category)."""
        problems: list[ApiError] = []
        when, now = request.occurred_at, self.now()
        if when.tzinfo is None or when.utcoffset() is None:
            problems.append(
                field_error("occurred_at", "needs a UTC offset, for example 2026-03-01T10:15:00+01:00")
            )
        elif when - now > MAX_FUTURE_SKEW:
            problems.append(field_error("occurred_at", "is more than 24 hours in the future", 422))
        elif now - when > timedelta(days=self.programme.max_age_days):
            problems.append(
                field_error(
                    "occurred_at",
                    f"is more than {self.programme.max_age_days} days ago (the programme's "
                    "earning.max_age_days); older history goes through `loyalty import`",
                    422,
                )
            )
        if request.currency != self.programme.currency:
            problems.append(field_error("currency", f"the programme runs in {self.programme.currency}", 422))
        if request.original_transaction_id == request.transaction_id:
            problems.append(
                field_error("original_transaction_id", "cannot be the return's own transaction_id", 422)
            )
        amount = 0
        try:
            amount = parse_amount(request.amount, request.currency)
        except AmountError as exc:
            problems.append(field_error("amount", str(exc)))
        prices: list[int] = []
        for index, line in enumerate(request.lines):
            try:
                prices.append(parse_amount(line["unit_price"], request.currency, allow_zero=True))
            except AmountError as exc:
                problems.append(field_error(f"lines[{index}].unit_price", str(exc)))
        if problems:
            raise all_of(problems)
        return amount, self._categories(request, prices, amount)

    def _categories(self, request: TransactionRequest, prices: list[int], amount: int) -> dict[str, int]:
        """Spend per category from the lines, scaled to the amount paid (discounts included)."""
        totals: dict[str, int] = {}
        for line, price in zip(request.lines, prices, strict=True):
            category = line.get("category") or "uncategorised"
            totals[category] = totals.get(category, 0) + price * int(line["quantity"])
        gross = sum(totals.values())
        if gross <= 0:
            return {}
        shares = {k: v * amount // gross for k, v in totals.items()}
        largest = max(totals, key=lambda k: (totals[k], k))
        shares[largest] += amount - sum(shares.values())
        return {k: v for k, v in shares.items() if v > 0}


def _upgrade_of(purchase: StoredTransaction) -> tuple[str, str] | None:
    """The (from, to) tier upgrade a stored purchase made, as its answer recorded it."""
    change = purchase.response.get("tier_upgrade")
    return (change["from"], change["to"]) if change else None


def _with_response(stored: StoredTransaction, answer: dict[str, Any]) -> StoredTransaction:
    return replace(stored, response=dict(answer))
