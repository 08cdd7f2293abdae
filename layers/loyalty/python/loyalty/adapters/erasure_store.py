"""Erasure (GDPR): mark, anonymise the customer's items in batches, and finish in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from loyalty.adapters.dynamo_errors import (
    Labelled,
    cancel_reasons,
    throttled,
)
from loyalty.adapters.items import (
    profile_from_item,
    profile_to_item,
)
from loyalty.adapters.models import CustomerItem, TransactionItem
from loyalty.domain.profile import Profile
from loyalty.ports import (
    ErasureRecord,
    ProfileKeyTaken,
    Throttled,
    VersionConflict,
)


class DynamoErasureStore:
    def _connection(self) -> Connection:
        return CustomerItem._get_connection().connection

    def mark_erased(self, customer_id: str) -> Profile | None:

        item = CustomerItem(customer_id=customer_id)
        try:
            item.update(
                actions=[CustomerItem.erased.set(True), CustomerItem.version.add(1)],
                condition=CustomerItem.customer_id.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return profile_from_item(item)

    def erasure(self, token: str) -> Any:
        from loyalty.adapters.models import ErasureItem

        try:
            item = ErasureItem.get(token, consistent_read=True)
        except ErasureItem.DoesNotExist:
            return None
        return ErasureRecord(item.token, item.erased_at, item.profile_key, int(item.erasures or 0))

    def anonymise_vouchers(self, customer_id: str, token: str) -> int:
        from loyalty.adapters.models import RedemptionItem, VoucherItem

        done = 0
        for chunk in _chunks(VoucherItem.by_customer.query(customer_id), SWEEP_BATCH // 2):
            updates = []
            for item in chunk:
                redemption = RedemptionItem(redemption_id=item.redemption_id)
                updates.append((redemption, [RedemptionItem.customer_id.set(token)],
                                RedemptionItem.customer_id == customer_id))  # fmt: skip
                updates.append(
                    (item, [VoucherItem.customer_id.set(token)], VoucherItem.customer_id == customer_id)
                )
            done += _update_all(self._connection(), updates) // 2
        return done

    def anonymise_transactions(self, customer_id: str, token: str) -> int:
        done = 0
        # Only what the rewrite needs: the key, and whether the stored answer names the customer.
        found = TransactionItem.by_customer.query(
            customer_id, attributes_to_get=["transaction_id", "customer_id", "response"]
        )
        for chunk in _chunks(found, SWEEP_BATCH):
            updates = []
            for item in chunk:
                response = (
                    item.response.as_dict()
                    if hasattr(item.response, "as_dict")
                    else dict(item.response or {})
                )
                actions = [
                    TransactionItem.customer_id.set(token),
                    # The body hash was taken over a body holding the customer id: drop it. A retry of the
                    # transaction now answers 409 rather than replaying an answer that named the customer.
                    TransactionItem.body_hash.set("erased"),
                ]
                if "customer_id" in response:
                    actions.append(TransactionItem.response["customer_id"].set(token))  # type: ignore[index]
                updates.append((item, actions, TransactionItem.customer_id == customer_id))
            done += _update_all(self._connection(), updates)
        return done

    def finish(self, profile: Profile, profile_key: str, token: str, erased_at: str) -> None:
        from dataclasses import replace

        from loyalty.adapters.models import ErasureItem

        anonymous = profile_to_item(replace(profile, customer_id=profile_key, erased=True), 1)
        tx = Labelled(TransactWrite(connection=self._connection()))
        try:
            with tx.tw:
                tx.save("anonymous", anonymous, condition=CustomerItem.customer_id.does_not_exist())
                tx.delete(
                    "profile",
                    CustomerItem(customer_id=profile.customer_id),
                    condition=(CustomerItem.version == profile.version) & (CustomerItem.erased == True),  # noqa: E712
                )
                tx.update(
                    "erasure",
                    ErasureItem(token=token),
                    actions=[
                        ErasureItem.erased_at.set(erased_at),
                        ErasureItem.profile_key.set(profile_key),
                        ErasureItem.erasures.add(1),
                    ],
                )
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            # The profile first: written to meanwhile (or gone), the whole erasure goes round again.
            if reasons.get("profile") in ("ConditionalCheckFailed", "TransactionConflict"):
                raise VersionConflict(profile.customer_id) from exc
            if reasons.get("anonymous") == "ConditionalCheckFailed":
                raise ProfileKeyTaken(profile_key) from exc
            if "TransactionConflict" in reasons.values():
                raise VersionConflict(profile.customer_id) from exc
            if throttled(exc, list(reasons.values())):
                raise Throttled(str(exc)) from exc
            raise


# Erasure rewrites a long history in TransactWriteItems of this many updates (DynamoDB's maximum), so
# 2,000 transactions are 20 calls, well inside API Gateway's 29 seconds, rather than 2,000.
SWEEP_BATCH = 100


def _chunks(items: Any, size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _update_all(connection: Connection, updates: list[tuple[Any, list[Any], Any]]) -> int:
    """Conditional UpdateItems in one transaction; if any condition fails (an item an earlier pass or a
    lagging index already handed over), the batch goes one by one. Returns how many were updated."""
    if not updates:
        return 0
    try:
        with TransactWrite(connection=connection) as tw:
            for item, actions, condition in updates:
                tw.update(item, actions=actions, condition=condition)
    except TransactWriteError as exc:
        reasons = cancel_reasons(exc)
        if throttled(exc, reasons):
            raise Throttled(str(exc)) from exc
        if not {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons):
            raise
        return sum(_update_if(item, actions, condition) for item, actions, condition in updates)
    return len(updates)


def _update_if(item: Any, actions: list[Any], condition: Any) -> int:
    """UpdateItem under a condition; 0 when the condition fails (already done by an earlier pass)."""

    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return 0
        raise
    return 1
