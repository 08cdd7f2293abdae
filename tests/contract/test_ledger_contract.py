"""The points ledger's contract (issue 14), against the fakes and the moto-backed adapters with the
same assertions: every points-changing write books its entries in the same write (and none when the
write is refused), the balance chain holds, pages run newest first, a cursor belongs to its customer,
and erasure deletes the entries."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from loyalty.errors import DuplicateRedemption, VersionConflict
from loyalty.ports import Adjustment

from tests.contract.test_ports_contract import profile, txn
from tests.contract.test_run_scan_redemption_erasure_contract import redemption_for, voucher


@dataclass
class Ports:
    customers: Any
    transactions: Any
    scan: Any
    redemptions: Any
    adjustments: Any
    ledger: Any


@pytest.fixture(params=["fake", "dynamodb"])
def ports(request) -> Ports:  # type: ignore[no-untyped-def]
    if request.param == "fake":
        from loyalty.fakes import (
            InMemoryAdjustments,
            InMemoryCustomerScan,
            InMemoryLedger,
            InMemoryRedemptions,
            InMemoryStore,
            TransactionView,
        )

        store = InMemoryStore()
        return Ports(
            store, TransactionView(store), InMemoryCustomerScan(store), InMemoryRedemptions(store),
            InMemoryAdjustments(store), InMemoryLedger(store),
        )  # fmt: skip
    request.getfixturevalue("aws_tables")
    from loyalty.adapters.adjustment_store import DynamoAdjustmentStore
    from loyalty.adapters.customer_store import DynamoCustomerScan, DynamoCustomerStore
    from loyalty.adapters.ledger_store import DynamoLedgerStore
    from loyalty.adapters.redemption_store import DynamoRedemptionStore
    from loyalty.adapters.transaction_store import DynamoTransactionStore

    return Ports(
        DynamoCustomerStore(), DynamoTransactionStore(), DynamoCustomerScan(consistent_read=True),
        DynamoRedemptionStore(), DynamoAdjustmentStore(), DynamoLedgerStore(),
    )  # fmt: skip


def all_entries(ports: Ports, customer: str = "C1", limit: int = 100) -> list[Any]:
    out, cursor = [], None
    while True:
        page = ports.ledger.entries(customer, limit, cursor)
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            return out


def test_every_points_write_books_its_entry_in_the_same_write_and_the_chain_holds(ports: Ports) -> None:
    # ingest: a purchase of 1000 points (version 1)
    ports.transactions.record(txn("T1", points_earned=1000), profile(balance=1000), None)
    # an importer chunk: a purchase of 10 and a return taking 300 back (version 2)
    back = txn("R1", minute=2, kind="return", points_earned=-300, original_transaction_id="T1")
    ports.transactions.record_chunk([txn("T2", minute=1), back], profile(balance=710), 1)
    # a redemption of 500 (version 3), refused first at a stale version: no entry
    v = voucher("V1")
    with pytest.raises(VersionConflict):
        ports.redemptions.redeem(redemption_for(v), v, 1, total_after=210)
    ports.redemptions.redeem(redemption_for(v), v, 2, total_after=210)
    with pytest.raises(DuplicateRedemption):
        ports.redemptions.redeem(redemption_for(v), voucher("V2"), 3, total_after=-290)
    # its voucher cancelled (version 4): the 500 points back
    ports.redemptions.cancel_voucher(v, "2026-03-03T10:00:00+00:00", 3, 710, total_after=710)
    # an adjustment of -10 (version 5)
    record = Adjustment("A1", "hash", "2026-03-04T10:00:00+00:00", {"adjustment_id": "A1"})
    ports.adjustments.adjust(record, "C1", -10, {}, 4, total_after=700)
    # the monthly run books 40 points as expired (version 6); a write without expiry books nothing
    before = ports.customers.get("C1")
    after = replace(before, points_balance=660, points_expired=40, classified_period="2026-03")
    ports.scan.save_classification(after, 5, before)
    ports.scan.save_classification(replace(after, segment="x"), 6, ports.customers.get("C1"))

    entries = all_entries(ports)
    assert [(e.kind, e.points, e.balance_after) for e in entries] == [
        ("expired", -40, 660),
        ("adjusted", -10, 700),
        ("redeemed", 500, 710),
        ("redeemed", -500, 210),
        ("returned", -300, 710),
        ("earned", 10, 1010),
        ("earned", 1000, 1000),
    ]
    assert [(e.ref_type, e.ref) for e in entries] == [
        ("period", "2026-03"), ("adjustment_id", "A1"), ("redemption_id", "R-V1"),
        ("redemption_id", "R-V1"), ("transaction_id", "R1"), ("transaction_id", "T2"),
        ("transaction_id", "T1"),
    ]  # fmt: skip
    assert entries[-1].at == "2026-03-01T10:00:00+00:00" and entries[1].at == "2026-03-04T10:00:00+00:00"
    older = [0, *[e.balance_after for e in reversed(entries)]]
    assert all(e.balance_after == older[i] + e.points for i, e in enumerate(reversed(entries)))
    assert ports.customers.get("C1").points_balance == entries[0].balance_after  # type: ignore[union-attr]


def test_pages_run_newest_first_a_cursor_belongs_to_its_customer_and_erasure_deletes(ports: Ports) -> None:
    ports.transactions.record(txn("T1"), profile(balance=10), None)
    for n in range(2, 6):
        ports.transactions.record(txn(f"T{n}", minute=n), profile(balance=10 * n), n - 1)
    ports.transactions.record(txn("U1", customer="C2"), profile("C2"), None)
    first = ports.ledger.entries("C1", 2, None)
    assert [e.ref for e in first.items] == ["T5", "T4"] and first.next_cursor
    second = ports.ledger.entries("C1", 2, first.next_cursor)
    assert [e.ref for e in second.items] == ["T3", "T2"]
    assert [e.ref for e in all_entries(ports, limit=2)] == ["T5", "T4", "T3", "T2", "T1"]
    with pytest.raises(ValueError, match="another customer"):
        ports.ledger.entries("C2", 2, first.next_cursor)
    with pytest.raises(ValueError):
        ports.ledger.entries("C1", 2, "not-a-cursor")
    assert ports.ledger.delete_entries("C1") == 5
    assert ports.ledger.entries("C1", 10, None).items == []
    assert [e.ref for e in ports.ledger.entries("C2", 10, None).items] == ["U1"]
    assert ports.ledger.delete_entries("C1") == 0


def test_a_transaction_of_no_points_moves_nothing_and_books_nothing(ports: Ports) -> None:
    ports.transactions.record(txn("T1", points_earned=0), profile(balance=0), None)
    assert ports.ledger.entries("C1", 10, None).items == []
