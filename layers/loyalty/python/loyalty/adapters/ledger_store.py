"""The points ledger table: the items the stores put inside their own TransactWriteItems (ledger_item),
the customer's statement newest first, and erasure's delete."""

from __future__ import annotations

from pynamodb.exceptions import QueryError
from pynamodb.transactions import TransactWrite

from loyalty.adapters.cursors import LEDGER_KEYS, decode_cursor, encode_cursor
from loyalty.adapters.dynamo_errors import raise_if_throttled
from loyalty.adapters.erasure_store import SWEEP_BATCH
from loyalty.adapters.models import LedgerItem
from loyalty.domain.ledger import LedgerEntry
from loyalty.ports import LedgerPage


def ledger_item(entry: LedgerEntry) -> LedgerItem:
    return LedgerItem(
        customer_id=entry.customer_id,
        seq=entry.seq,
        kind=entry.kind,
        points=entry.points,
        balance_after=entry.balance_after,
        at=entry.at,
        ref_type=entry.ref_type,
        ref=entry.ref,
    )


def ledger_entry(item: LedgerItem) -> LedgerEntry:
    return LedgerEntry(
        item.customer_id,
        item.seq,
        item.kind,
        int(item.points),
        int(item.balance_after),
        item.at,
        item.ref_type,
        item.ref,
    )


class DynamoLedgerStore:
    def entries(self, customer_id: str, limit: int, cursor: str | None) -> LedgerPage:
        start = decode_cursor(cursor, customer_id, LEDGER_KEYS) if cursor else None
        try:
            results = LedgerItem.query(
                customer_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
            )
            items = [ledger_entry(item) for item in results]
        except QueryError as exc:
            raise_if_throttled(exc)
            raise
        return LedgerPage(items, encode_cursor(results.last_evaluated_key))

    def delete_entries(self, customer_id: str) -> int:
        """Deletes 100 to a TransactWriteItems, as erasure's other sweeps: deleting a deleted item is no
        error, so a retried erasure repeats this harmlessly."""
        seqs = [item.seq for item in LedgerItem.query(customer_id, attributes_to_get=["customer_id", "seq"])]
        connection = LedgerItem._get_connection().connection
        for start in range(0, len(seqs), SWEEP_BATCH):
            with TransactWrite(connection=connection) as tw:
                for seq in seqs[start : start + SWEEP_BATCH]:
                    tw.delete(LedgerItem(customer_id=customer_id, seq=seq))
        return len(seqs)
