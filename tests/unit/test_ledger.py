"""The points ledger over the fakes (issue 14): what each use case books, the chain, the read service's
refusals, erasure, and the ledger item's size (what it adds to a write's capacity units)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from loyalty.adapters.item_size import item_size
from loyalty.adapters.ledger_store import ledger_item
from loyalty.api.schemas import ID_MAX
from loyalty.domain.ledger import LedgerEntry, seq_key, transaction_entries
from loyalty.errors import ApiError
from loyalty.fakes import (
    InMemoryAdjustments,
    InMemoryLedger,
    InMemoryRedemptions,
    InMemoryStore,
    RecordingPublisher,
    TransactionView,
)
from loyalty.ports import StoredTransaction
from loyalty.service.adjustments import AdjustmentRequest, AdjustmentService
from loyalty.service.erasure import ErasureService
from loyalty.service.ingest import IngestService
from loyalty.service.ledger import LedgerService
from loyalty.service.redemptions import RedemptionService

from tests.helpers import FIXED_NOW, default_programme, transaction_request

P = default_programme()


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    store = InMemoryStore()
    publisher = RecordingPublisher()
    reds = InMemoryRedemptions(store)
    kw = {"now": lambda: FIXED_NOW, "sleep": lambda s: None}
    return {
        "store": store,
        "reds": reds,
        "ingest": IngestService(store, TransactionView(store), publisher, P, **kw),
        "redemptions": RedemptionService(store, reds, publisher, P, **kw),
        "adjustments": AdjustmentService(store, InMemoryAdjustments(store), publisher, P, **kw),
        "ledger": LedgerService(store, InMemoryLedger(store), P),
    }


def buy(world, transaction_id: str, amount: str, **kw):  # type: ignore[no-untyped-def]
    when = FIXED_NOW - timedelta(hours=1)
    request = transaction_request(
        transaction_id=transaction_id, customer_id="C1", amount=amount, occurred_at=when.isoformat(), **kw
    )
    status, answer = world["ingest"].record(request)
    assert status == 201, answer
    return answer


def test_every_use_case_books_its_movement_and_the_chain_ends_at_the_stored_balance(world) -> None:  # type: ignore[no-untyped-def]
    buy(world, "T1", "700.00")
    buy(world, "T2", "40.00")
    _, redeemed = world["redemptions"].redeem("C1", "R1", 500)
    world["adjustments"].adjust(AdjustmentRequest("C1", "A1", -20, "correction"))
    world["redemptions"].cancel_voucher(redeemed["voucher"]["code"])
    returned = buy(world, "T3", "40.00", original_transaction_id="T2", type="return")
    # a replay books nothing twice
    world["adjustments"].adjust(AdjustmentRequest("C1", "A1", -20, "correction"))
    buy(world, "T3", "40.00", original_transaction_id="T2", type="return")

    items = world["ledger"].history("C1", 100, None)["items"]
    assert [(e["kind"], e["points"]) for e in items] == [
        ("returned", returned["points_earned"]),
        ("redeemed", 500),
        ("adjusted", -20),
        ("redeemed", -500),
        ("earned", items[4]["points"]),
        ("earned", 700),
    ]
    assert items[1]["redemption_id"] == items[3]["redemption_id"] == "R1"
    assert items[2]["adjustment_id"] == "A1" and items[0]["transaction_id"] == "T3"
    oldest = items[::-1]
    assert oldest[0]["balance_after"] == 700
    assert all(b["balance_after"] == a["balance_after"] + b["points"] for a, b in pairwise(oldest))
    assert items[0]["balance_after"] == world["store"].profiles["C1"].points_balance


def test_the_read_names_the_field_it_refuses_and_an_unknown_customer_is_404(world) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        buy(world, f"T{n}", "10.00")
    page = world["ledger"].history("C1", 2, None)
    assert len(page["items"]) == 2 and page["next_cursor"]
    for limit in (0, 101):
        with pytest.raises(ApiError) as error:
            world["ledger"].history("C1", limit, None)
        assert error.value.status == 400 and "limit" in error.value.message
    with pytest.raises(ApiError) as error:
        world["ledger"].history("C2", 2, page["next_cursor"])
    assert error.value.status == 400 and "cursor" in error.value.message
    with pytest.raises(ApiError) as error:
        world["ledger"].history("NOPE", 2, None)
    assert error.value.status == 404


def test_erasure_deletes_the_ledger(world) -> None:  # type: ignore[no-untyped-def]
    buy(world, "T1", "10.00")
    assert world["store"].ledger
    ledger = InMemoryLedger(world["store"])
    ErasureService(world["reds"], "pepper", now=lambda: FIXED_NOW, ledger=ledger).erase("C1")
    assert world["store"].ledger == {}


def test_a_chunk_counts_its_balances_back_from_the_last() -> None:
    def txn(tid: str, points: int, kind: str = "purchase") -> StoredTransaction:
        return StoredTransaction(tid, "C1", kind, "2026-01-01T10:00:00+01:00", "k", "EUR", 100, "h",
                                 points_earned=points)  # fmt: skip

    entries = transaction_entries([txn("A", 10), txn("B", 0), txn("C", -4, "return"), txn("D", 7)], 113, 9)
    assert [(e.ref, e.kind, e.points, e.balance_after, e.seq) for e in entries] == [
        ("A", "earned", 10, 110, seq_key(9, 0)),
        ("C", "returned", -4, 106, seq_key(9, 1)),
        ("D", "earned", 7, 113, seq_key(9, 2)),
    ]
    assert seq_key(10) > seq_key(9, 99)  # the order of writes, as strings


def test_the_largest_ledger_item_costs_one_write_unit_so_two_in_a_transaction() -> None:
    entry = LedgerEntry(
        "C" * ID_MAX, seq_key(10**11, 99), "returned", -10_000_000, -10_000_000,
        datetime(2026, 1, 1, tzinfo=UTC).isoformat(), "transaction_id", "T" * ID_MAX,
    )  # fmt: skip
    size = item_size(ledger_item(entry).serialize())
    assert size < 1024, size
