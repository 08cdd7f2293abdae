"""The transactions table with the customer's profile: reads, a chunk of one customer's transactions
in one TransactWriteItems at one expected version, and the history query."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import GetError, TransactGetError, TransactWriteError
from pynamodb.transactions import TransactGet, TransactWrite

from loyalty.adapters.cursors import decode_cursor, encode_cursor
from loyalty.adapters.dynamo_errors import (
    Labelled,
    raise_if_throttled,
    throttled,
)
from loyalty.adapters.items import (
    profile_from_item,
    profile_to_item,
    transaction_from_item,
    transaction_to_item,
)
from loyalty.adapters.ledger_store import ledger_item
from loyalty.adapters.models import CustomerItem, TransactionItem, batch_get
from loyalty.adapters.reward_store import write_rewards
from loyalty.domain.ledger import transaction_entries
from loyalty.domain.profile import Profile
from loyalty.ports import (
    ChunkWrite,
    DuplicateTransaction,
    HistoryPage,
    PurchaseRewards,
    ReturnedUpdate,
    StoredTransaction,
    Throttled,
    VersionConflict,
)


class DynamoTransactionStore:
    def _connection(self) -> Connection:
        return CustomerItem._get_connection().connection

    def get(self, transaction_id: str) -> StoredTransaction | None:
        try:
            return transaction_from_item(TransactionItem.get(transaction_id, consistent_read=True))
        except TransactionItem.DoesNotExist:
            return None
        except GetError as exc:
            raise_if_throttled(exc)
            raise

    def get_with_profile(
        self, transaction_id: str, customer_id: str
    ) -> tuple[StoredTransaction | None, Profile | None]:
        try:
            with TransactGet(connection=self._connection()) as tg:
                txn_future = tg.get(TransactionItem, transaction_id)
                profile_future = tg.get(CustomerItem, customer_id)
        except TransactGetError as exc:
            raise_if_throttled(exc)
            raise
        txn = _result_or_none(txn_future)
        profile = _result_or_none(profile_future)
        return (
            transaction_from_item(txn) if txn is not None else None,
            profile_from_item(profile) if profile is not None else None,
        )

    def get_many(self, transaction_ids: Iterable[str]) -> dict[str, StoredTransaction]:
        items = batch_get(TransactionItem, list(dict.fromkeys(transaction_ids)))
        return {item.transaction_id: transaction_from_item(item) for item in items}

    def record(
        self,
        transaction: StoredTransaction,
        profile: Profile,
        expected_version: int | None,
        returned: ReturnedUpdate | None = None,
        rewards: PurchaseRewards | None = None,
    ) -> None:
        self.record_chunk([transaction], profile, expected_version, [returned] if returned else [], rewards)

    def record_chunk(
        self,
        transactions: Sequence[StoredTransaction],
        profile: Profile,
        expected_version: int | None,
        returned: Sequence[ReturnedUpdate] = (),
        rewards: PurchaseRewards | None = None,
    ) -> None:
        self.record_chunks([ChunkWrite(transactions, profile, expected_version, returned, rewards)])

    def record_chunks(self, chunks: Sequence[ChunkWrite]) -> None:
        tx = Labelled(TransactWrite(connection=self._connection()))
        try:
            with tx.tw:
                for chunk in chunks:
                    _add_chunk(tx, chunk, prefix=f"{chunk.profile.customer_id}/" if len(chunks) > 1 else "")
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            for label, code in reasons.items():
                kind, _, name = label.rpartition("/")[2].partition(":")
                if kind == "transaction" and code == "ConditionalCheckFailed":
                    raise DuplicateTransaction(name) from exc
            if {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons.values()):
                failed = next((label for label in reasons if "/" in label), "")
                customer = failed.partition("/")[0] or chunks[0].profile.customer_id
                raise VersionConflict(customer) from exc
            if throttled(exc, list(reasons.values())):
                raise Throttled(str(exc)) from exc
            raise

    def history(self, customer_id: str, limit: int, cursor: str | None) -> HistoryPage:
        start = decode_cursor(cursor, customer_id) if cursor else None
        results = TransactionItem.by_customer.query(
            customer_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = [transaction_from_item(item) for item in results]
        return HistoryPage(items, encode_cursor(results.last_evaluated_key))


def _returned_categories(move: ReturnedUpdate) -> list[Any]:
    """SET the purchase's cumulative returns per category, when its earning rules need them."""
    if move.categories is None:
        return []
    return [TransactionItem.returned_categories.set(dict(move.categories))]


def _add_chunk(tx: Labelled, chunk: ChunkWrite, prefix: str) -> None:
    """One customer's items in the transaction: its transactions (only if new), the returned amounts it
    moves (only if unchanged), its profile (only at the expected version) and the ledger's entries,
    which therefore cannot drift from the balance. Labels carry `prefix` (the customer, when several
    customers share the transaction)."""
    version = chunk.expected_version
    profile_condition = (
        CustomerItem.customer_id.does_not_exist() if version is None else CustomerItem.version == version
    )
    for transaction in chunk.transactions:
        tx.save(
            f"{prefix}transaction:{transaction.transaction_id}",
            transaction_to_item(transaction),
            condition=TransactionItem.transaction_id.does_not_exist(),
        )
    for move in chunk.returned:
        tx.update(
            f"{prefix}returned:{move.transaction_id}",
            TransactionItem(transaction_id=move.transaction_id),
            actions=[TransactionItem.returned.set(move.new), *_returned_categories(move)],
            condition=(TransactionItem.returned == move.expected),
        )
    written = (version or 0) + 1
    tx.save(f"{prefix}profile", profile_to_item(chunk.profile, written), condition=profile_condition)
    for entry in transaction_entries(chunk.transactions, chunk.profile.points_balance, written):
        tx.save(f"{prefix}ledger:{entry.seq}", ledger_item(entry))
    if chunk.rewards is not None:
        write_rewards(tx, chunk.rewards)


def _result_or_none(future: Any) -> Any:
    try:
        return future.get()
    except (TransactionItem.DoesNotExist, CustomerItem.DoesNotExist):
        return None
