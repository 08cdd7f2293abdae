"""One contract for the customer and transaction stores, run against the in-memory fakes and the
moto-backed DynamoDB adapters with the same assertions, so the fakes the unit tests trust cannot drift
from the adapters the Lambdas run."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from loyalty.domain.profile import new_profile
from loyalty.errors import DuplicateTransaction, VersionConflict
from loyalty.ports import ChunkWrite, ReturnedUpdate, StoredTransaction


@dataclass
class Stores:
    customers: Any
    transactions: Any


@pytest.fixture(params=["fake", "dynamodb"])
def stores(request) -> Stores:  # type: ignore[no-untyped-def]
    if request.param == "fake":
        from loyalty.fakes import InMemoryStore, TransactionView

        store = InMemoryStore()
        return Stores(store, TransactionView(store))
    request.getfixturevalue("aws_tables")
    from loyalty.adapters.customer_store import DynamoCustomerStore
    from loyalty.adapters.transaction_store import DynamoTransactionStore

    return Stores(DynamoCustomerStore(), DynamoTransactionStore())


def txn(transaction_id: str, customer: str = "C1", minute: int = 0, **kw: Any) -> StoredTransaction:
    at = f"2026-03-01T10:{minute:02d}:00+00:00"
    values: dict[str, Any] = dict(
        transaction_id=transaction_id, customer_id=customer, kind="purchase", occurred_at=at,
        occurred_key=f"2026-03-01T10:{minute:02d}:00Z#{transaction_id}", currency="EUR", amount=1000,
        body_hash="h", store_id="S1", channel="store", points_rate=1, points_earned=10,
        categories={"mode": 1000}, response={"transaction_id": transaction_id, "points_balance": 10},
    )  # fmt: skip
    values.update(kw)
    return StoredTransaction(**values)


def profile(customer: str = "C1", balance: int = 10):  # type: ignore[no-untyped-def]
    return replace(new_profile(customer, "base"), points_balance=balance)


def test_a_recorded_transaction_reads_back_with_its_profile(stores: Stores) -> None:
    assert stores.customers.get("C1") is None and stores.transactions.get("T1") is None
    stores.transactions.record(txn("T1"), profile(), None)
    assert stores.transactions.get("T1") == txn("T1")
    card = stores.customers.get("C1")
    assert card is not None and card.version == 1 and card.points_balance == 10
    original, card = stores.transactions.get_with_profile("T1", "C1")
    assert original == txn("T1") and card is not None and card.version == 1
    assert stores.transactions.get_with_profile("NOPE", "C2") == (None, None)


def test_a_duplicate_id_or_a_stale_version_writes_nothing(stores: Stores) -> None:
    stores.transactions.record(txn("T1"), profile(), None)
    with pytest.raises(DuplicateTransaction):
        stores.transactions.record(txn("T1", amount=5), profile(balance=99), 1)
    with pytest.raises(VersionConflict):  # the profile must not exist yet
        stores.transactions.record(txn("T2"), profile(balance=99), None)
    with pytest.raises(VersionConflict):  # stale version
        stores.transactions.record(txn("T3"), profile(balance=99), 7)
    assert stores.transactions.get("T2") is None and stores.transactions.get("T3") is None
    assert stores.customers.get("C1").points_balance == 10  # type: ignore[union-attr]
    assert stores.transactions.get("T1").amount == 1000  # type: ignore[union-attr]


def test_a_chunk_is_all_or_nothing_and_moves_returned_amounts_conditionally(stores: Stores) -> None:
    stores.transactions.record(txn("T1"), profile(), None)
    back = txn("R1", minute=1, kind="return", amount=300, original_transaction_id="T1")
    chunk = [txn("T2", minute=2), back]
    with pytest.raises(VersionConflict):  # T1's returned is 0, not 100: nothing of the chunk lands
        stores.transactions.record_chunk(chunk, profile(balance=50), 1, [ReturnedUpdate("T1", 100, 300)])
    with pytest.raises(DuplicateTransaction):  # T1 is stored: nothing of the chunk lands
        stores.transactions.record_chunk([txn("T2", minute=2), txn("T1")], profile(balance=50), 1)
    assert stores.transactions.get_many(["T2", "R1"]) == {}
    stores.transactions.record_chunk(chunk, profile(balance=50), 1, [ReturnedUpdate("T1", 0, 300)])
    found = stores.transactions.get_many(["T1", "T2", "R1", "NOPE", "T1"])
    assert sorted(found) == ["R1", "T1", "T2"] and found["T1"].returned == 300
    assert stores.customers.get("C1").version == 2  # type: ignore[union-attr]


def test_chunks_of_several_customers_land_together_or_not_at_all(stores: Stores) -> None:
    """record_chunks (the importer's writes across customers) and get_profiles (its BatchGetItem)."""
    stores.transactions.record(txn("T1"), profile(), None)
    c2 = ChunkWrite([txn("A1", customer="C2")], profile("C2", balance=20), None)
    stale = ChunkWrite([txn("T2", minute=1)], profile(balance=30), 7)  # C1 is at version 1
    with pytest.raises(VersionConflict):
        stores.transactions.record_chunks([c2, stale])
    assert stores.transactions.get_many(["A1", "T2"]) == {} and stores.customers.get("C2") is None
    with pytest.raises(DuplicateTransaction):
        stores.transactions.record_chunks([c2, ChunkWrite([txn("T1")], profile(balance=30), 1)])
    assert stores.customers.get_profiles(["C2"]) == {}
    c3 = ChunkWrite([txn("B1", customer="C3"), txn("B2", customer="C3", minute=1)], profile("C3", 40), None)
    stores.transactions.record_chunks([c2, ChunkWrite([txn("T2", minute=1)], profile(balance=30), 1), c3])
    found = stores.customers.get_profiles(["C1", "C2", "C3", "NOPE", "C2"])
    assert {c: (p.points_balance, p.version) for c, p in found.items()} == {
        "C1": (30, 2),
        "C2": (20, 1),
        "C3": (40, 1),
    }
    assert sorted(stores.transactions.get_many(["A1", "B1", "B2", "T2"])) == ["A1", "B1", "B2", "T2"]


def test_history_pages_newest_first_and_a_cursor_belongs_to_its_customer(stores: Stores) -> None:
    stores.transactions.record_chunk([txn(f"T{n}", minute=n) for n in range(5)], profile(), None)
    stores.transactions.record(txn("X1", customer="C2"), profile("C2"), None)
    first = stores.transactions.history("C1", 2, None)
    assert [t.transaction_id for t in first.items] == ["T4", "T3"] and first.next_cursor
    second = stores.transactions.history("C1", 2, first.next_cursor)
    assert [t.transaction_id for t in second.items] == ["T2", "T1"]
    with pytest.raises(ValueError, match="another customer"):
        stores.transactions.history("C2", 2, first.next_cursor)
    with pytest.raises(ValueError):
        stores.transactions.history("C1", 2, "not-a-cursor")
    rest = stores.transactions.history("C1", 10, second.next_cursor)
    assert [t.transaction_id for t in rest.items] == ["T0"]


# ---------------------------------------------------------------------------------------------
# Members (issue 16): the profile at its version with its membership, interactions with the profile


@pytest.fixture(params=["fake", "dynamodb"])
def member_stores(request):  # type: ignore[no-untyped-def]
    if request.param == "fake":
        from loyalty.fakes import InMemoryCustomerScan, InMemoryMembers, InMemoryStore

        store = InMemoryStore()
        return store, InMemoryMembers(store), InMemoryCustomerScan(store)
    request.getfixturevalue("aws_tables")
    from loyalty.adapters.customer_store import DynamoCustomerScan, DynamoCustomerStore
    from loyalty.adapters.member_store import DynamoMemberStore

    return DynamoCustomerStore(), DynamoMemberStore(), DynamoCustomerScan()


def member_profile(customer: str = "M1"):  # type: ignore[no-untyped-def]
    from loyalty.domain.profile import ConsentChange, Membership

    member = Membership(
        enrolled=True, enrolled_at="2026-03-01T10:00:00Z", enrolled_store_id="S1", enrolled_channel="store",
        enrolment_hash="h" * 32, status="blocked", consents={"email": True, "sms": False, "push": False},
        consent_history=(ConsentChange("2026-03-01T10:00:00Z", "store", {"email": True, "sms": False,
                                                                           "push": False}),),
        categories=("skincare",), max_contacts_per_month=3, last_interaction_at="2026-03-02T10:00:00Z",
        interactions={"2026-03": 2}, contacts_month="2026-03", contacts_sent=1,
    )  # fmt: skip
    return replace(profile(customer), member=member)


def interaction(interaction_id: str, customer: str = "M1"):  # type: ignore[no-untyped-def]
    from loyalty.ports import StoredInteraction

    at = "2026-03-02T10:00:00Z"
    return StoredInteraction(interaction_id, customer, "review", at, f"{at}#{interaction_id}", "app", "h")


def test_a_member_reads_back_whole_from_the_card_and_the_scan(member_stores) -> None:  # type: ignore[no-untyped-def]
    customers, members, scan = member_stores
    members.save_profile(member_profile(), None)
    card = customers.get("M1")
    assert card is not None and card.version == 1
    assert card.member == member_profile().member
    (scanned,) = [p for page in scan.scan_segment(0, 1) for p in page]
    assert scanned.member == member_profile().member
    with pytest.raises(VersionConflict):
        members.save_profile(member_profile(), None)  # must not exist yet
    with pytest.raises(VersionConflict):
        members.save_profile(member_profile(), 7)
    members.save_profile(replace(member_profile(), points_balance=5), 1)
    assert customers.get("M1").points_balance == 5  # type: ignore[union-attr]


def test_an_interaction_is_stored_once_with_its_profile_and_erasure_deletes_them(member_stores) -> None:  # type: ignore[no-untyped-def]
    from loyalty.errors import DuplicateInteraction

    customers, members, _ = member_stores
    members.save_profile(member_profile(), None)
    members.record_interaction(interaction("I1"), member_profile(), 1)
    assert members.get_interaction("I1") == interaction("I1")
    with pytest.raises(DuplicateInteraction):
        members.record_interaction(interaction("I1"), member_profile(), 2)
    with pytest.raises(VersionConflict):
        members.record_interaction(interaction("I2"), member_profile(), 1)
    assert members.get_interaction("I2") is None and customers.get("M1").version == 2  # type: ignore[union-attr]
    members.record_interaction(interaction("I2"), member_profile(), 2)
    assert members.delete_interactions("M1") == 2
    assert members.get_interaction("I1") is None and members.get_interaction("I2") is None
    assert members.delete_interactions("M1") == 0


# -- adjustments (issue 14): the record and the profile's points, atomically ----------------------


@pytest.fixture(params=["fake", "dynamodb"])
def adjustment_stores(request) -> tuple[Any, Any]:  # type: ignore[no-untyped-def]
    if request.param == "fake":
        from loyalty.fakes import InMemoryAdjustments, InMemoryStore, TransactionView

        store = InMemoryStore()
        return TransactionView(store), InMemoryAdjustments(store)
    request.getfixturevalue("aws_tables")
    from loyalty.adapters.adjustment_store import DynamoAdjustmentStore
    from loyalty.adapters.transaction_store import DynamoTransactionStore

    return DynamoTransactionStore(), DynamoAdjustmentStore()


def test_an_adjustment_moves_the_points_once_and_only_at_the_version_read(adjustment_stores) -> None:  # type: ignore[no-untyped-def]
    from loyalty.errors import DuplicateAdjustment
    from loyalty.ports import Adjustment

    transactions, adjustments = adjustment_stores
    transactions.record(txn("T1"), replace(profile(), lots={"2026-03": 10}), None)
    record = Adjustment("A1", "hash", "2026-03-02T10:00:00Z", {"adjustment_id": "A1", "points_balance": 60})
    assert adjustments.get_adjustment("A1") is None
    with pytest.raises(VersionConflict):
        adjustments.adjust(record, "C1", 50, {"2026-03": 60}, 7)
    assert adjustments.get_adjustment("A1") is None
    adjustments.adjust(record, "C1", 50, {"2026-03": 60}, 1)
    assert adjustments.get_adjustment("A1") == record
    with pytest.raises(DuplicateAdjustment):
        adjustments.adjust(record, "C1", 50, {"2026-03": 110}, 2)
    _, card = transactions.get_with_profile("T1", "C1")
    assert card is not None and (card.points_balance, card.points_adjusted, card.version) == (60, 50, 2)
    assert dict(card.lots) == {"2026-03": 60}
