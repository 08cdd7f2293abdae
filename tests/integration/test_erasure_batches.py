"""Erasure of a long history in bounded calls (issue 10 item 7): 2,000 transactions are rewritten in
TransactWriteItems of 100, not one UpdateItem each, so the DELETE fits in API Gateway's 29 seconds."""

import pytest
from loyalty.adapters.erasure_store import DynamoErasureStore
from loyalty.adapters.items import transaction_to_item
from loyalty.adapters.models import TransactionItem
from loyalty.adapters.transaction_store import DynamoTransactionStore
from loyalty.domain.profile import new_profile
from loyalty.ports import StoredTransaction
from loyalty.service.erasure import ErasureService, erasure_token

HISTORY = 2_000


@pytest.fixture(autouse=True)
def item_level_rollback():
    """moto 5.2 deep-copies the whole table once per item of a TransactWriteItems (100 x 2,000 items
    per batch here: minutes); the local stack's item-level rollback keeps the same all-or-nothing."""
    from loyalty_tools.moto_fast import install

    install()


def _stored(transaction_id: str, customer_id: str) -> StoredTransaction:
    return StoredTransaction(
        transaction_id, customer_id, "purchase", "2026-03-01T10:00:00+01:00",
        f"2026-03-01T09:00:00Z#{transaction_id}", "EUR", 1000, "h",
        response={"customer_id": customer_id, "points_earned": 10},
    )  # fmt: skip


def test_2000_transactions_are_erased_in_21_transactions(aws_tables, api_calls):
    DynamoTransactionStore().record(_stored("T0", "CARD"), new_profile("CARD", "member"), None)
    with TransactionItem.batch_write() as batch:
        for n in range(1, HISTORY):
            batch.save(transaction_to_item(_stored(f"H{n:05d}", "CARD")))
    api_calls.clear()
    ErasureService(DynamoErasureStore(), "pepper").erase("CARD")
    writes = {op: n for op, n in api_calls.items() if op in ("UpdateItem", "TransactWriteItems", "PutItem")}
    # mark (1 UpdateItem), 20 batches of 100 transactions, the final move (1 TransactWriteItems)
    assert writes == {"UpdateItem": 1, "TransactWriteItems": HISTORY // 100 + 1}
    token = erasure_token("CARD", "pepper")
    assert sum(1 for _ in TransactionItem.by_customer.query(token)) == HISTORY
    assert sum(1 for _ in TransactionItem.by_customer.query("CARD")) == 0
