"""The contract of the other ports (run store, customer scan, redemption store, erasure store), run
against the in-memory fakes and the moto-backed adapters with the same assertions: the fakes the
service tests trust must refuse what the adapters refuse, and answer what they answer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest
from loyalty.errors import DuplicateRedemption, ProfileKeyTaken, VersionConflict, VoucherNotUsable
from loyalty.ports import Redemption, Voucher

from tests.contract.test_ports_contract import profile, txn


@dataclass
class Ports:
    customers: Any
    transactions: Any
    scan: Any
    redemptions: Any
    erasure: Any


@pytest.fixture(params=["fake", "dynamodb"])
def ports(request) -> Ports:  # type: ignore[no-untyped-def]
    if request.param == "fake":
        from loyalty.fakes import InMemoryCustomerScan, InMemoryRedemptions, InMemoryStore, TransactionView

        store = InMemoryStore()
        both = InMemoryRedemptions(store)
        return Ports(store, TransactionView(store), InMemoryCustomerScan(store, page_size=2), both, both)
    request.getfixturevalue("aws_tables")
    from loyalty.adapters.customer_store import DynamoCustomerScan, DynamoCustomerStore
    from loyalty.adapters.erasure_store import DynamoErasureStore
    from loyalty.adapters.redemption_store import DynamoRedemptionStore
    from loyalty.adapters.transaction_store import DynamoTransactionStore

    return Ports(
        DynamoCustomerStore(),
        DynamoTransactionStore(),
        DynamoCustomerScan(page_size=2, consistent_read=True),
        DynamoRedemptionStore(),
        DynamoErasureStore(),
    )


@pytest.fixture(params=["fake", "s3"])
def run_store(request) -> Any:  # type: ignore[no-untyped-def]
    if request.param == "fake":
        from loyalty.fakes import InMemoryRunStore

        return InMemoryRunStore()
    settings = request.getfixturevalue("aws_tables")
    import boto3
    from loyalty.adapters.runstore import S3RunStore

    bucket = settings.run_bucket or "contract-runs"
    s3 = boto3.client("s3")
    region = s3.meta.region_name
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
    return S3RunStore(bucket)


def with_card(ports: Ports, customer: str = "C1", balance: int = 1000, transaction_id: str = "") -> None:
    """A new profile (version 1) holding `balance` points, stored the way ingest stores it."""
    first = txn(transaction_id or f"T-{customer}", customer=customer)
    ports.transactions.record(first, profile(customer, balance), None)


def voucher(code: str = "V1", customer: str = "C1", minute: int = 0, **kw: Any) -> Voucher:
    values: dict[str, Any] = dict(
        code=code, customer_id=customer, redemption_id=f"R-{code}", points=500, value=500, currency="EUR",
        issued_at=f"2026-03-02T10:{minute:02d}:00+00:00", expires_on="2026-06-30",
        expires_at="2026-06-30T22:00:00+00:00",
    )  # fmt: skip
    values.update(kw)
    return Voucher(**values)


def redemption_for(v: Voucher) -> Redemption:
    return Redemption(v.redemption_id, v.customer_id, v.points, v.issued_at, v.code, {"points": v.points})


# --- run store -----------------------------------------------------------------------------


def test_run_documents_read_back_as_json_and_list_sorted_by_prefix(run_store: Any) -> None:
    assert run_store.get("run/2026-03/none") is None
    run_store.put("run/2026-03/part-2", {"n": 2, "nested": {"a": [1, 2]}})
    run_store.put("run/2026-03/part-1", {"n": 1})
    run_store.put("other/x", {"n": 0})
    assert run_store.get("run/2026-03/part-2") == {"n": 2, "nested": {"a": [1, 2]}}
    assert run_store.keys("run/2026-03/") == ["run/2026-03/part-1", "run/2026-03/part-2"]
    run_store.put("run/2026-03/part-1", {"n": 10})  # a retried step overwrites its own document
    assert run_store.get("run/2026-03/part-1") == {"n": 10}


# --- customer scan -------------------------------------------------------------------------


def test_every_profile_is_in_exactly_one_segment_in_pages_of_the_set_size(ports: Ports) -> None:
    for n in range(7):
        with_card(ports, f"C{n}")
    seen: list[str] = []
    for segment in range(3):
        for page in ports.scan.scan_segment(segment, 3):
            assert 1 <= len(page) <= 2
            seen.extend(p.customer_id for p in page)
    assert sorted(seen) == [f"C{n}" for n in range(7)]


def test_a_classification_lands_only_at_the_version_it_was_computed_from(ports: Ports) -> None:
    with_card(ports)
    read = ports.scan.get("C1")
    classified = replace(read, segment="Champions", classified_period="2026-03")
    with pytest.raises(VersionConflict):
        ports.scan.save_classification(classified, read.version + 1, read)
    assert ports.scan.get("C1").segment == read.segment
    ports.scan.save_classification(classified, read.version, read)
    saved = ports.scan.get("C1")
    assert saved.segment == "Champions" and saved.classified_period == "2026-03"
    assert saved.version == read.version + 1
    with pytest.raises(VersionConflict):  # the same write again is stale now
        ports.scan.save_classification(classified, read.version, read)
    assert ports.scan.get("NOPE") is None


# --- redemptions and vouchers --------------------------------------------------------------


def test_a_redemption_takes_its_points_and_stores_its_voucher_or_writes_nothing(ports: Ports) -> None:
    with_card(ports, balance=1000)
    v = voucher()
    with pytest.raises(VersionConflict):  # stale version
        ports.redemptions.redeem(redemption_for(v), v, 2)
    with pytest.raises(VersionConflict):  # more than the balance
        big = replace(v, points=1500)
        ports.redemptions.redeem(redemption_for(big), big, 1)
    assert ports.redemptions.get_redemption(v.redemption_id) is None
    assert ports.redemptions.get_voucher("V1") is None
    ports.redemptions.redeem(redemption_for(v), v, 1)
    card = ports.customers.get("C1")
    assert (card.points_balance, card.points_redeemed, card.version) == (500, 500, 2)
    assert ports.redemptions.get_redemption(v.redemption_id) == redemption_for(v)
    assert ports.redemptions.get_voucher("V1") == v
    with pytest.raises(DuplicateRedemption):
        ports.redemptions.redeem(redemption_for(v), replace(v, code="V2"), 2)
    with pytest.raises(VersionConflict):  # a code already issued: the service retries with a new one
        other = replace(v, redemption_id="R-other")
        ports.redemptions.redeem(redemption_for(other), other, 2)
    assert ports.customers.get("C1").points_balance == 500


def test_vouchers_page_newest_first_and_refuse_a_foreign_cursor(ports: Ports) -> None:
    with_card(ports, balance=2000)
    for n in range(3):
        v = voucher(f"V{n}", minute=n)
        ports.redemptions.redeem(redemption_for(v), v, 1 + n)
    first = ports.redemptions.vouchers("C1", 2, None)
    assert [v.code for v in first.items] == ["V2", "V1"] and first.next_cursor
    rest = ports.redemptions.vouchers("C1", 2, first.next_cursor)
    assert [v.code for v in rest.items] == ["V0"] and rest.next_cursor is None
    assert ports.redemptions.vouchers("C2", 2, None).items == []
    with pytest.raises(ValueError):
        ports.redemptions.vouchers("C1", 2, "not-a-cursor")


def test_a_voucher_is_used_once_before_it_expires(ports: Ports) -> None:
    with_card(ports)
    v = voucher()
    ports.redemptions.redeem(redemption_for(v), v, 1)
    with pytest.raises(VoucherNotUsable) as unknown:
        ports.redemptions.use_voucher("NOPE", "2026-03-03T10:00:00+00:00")
    assert unknown.value.voucher is None
    with pytest.raises(VoucherNotUsable) as late:
        ports.redemptions.use_voucher("V1", "2026-07-01T10:00:00+00:00")
    assert late.value.voucher == v
    used = ports.redemptions.use_voucher("V1", "2026-03-03T10:00:00+00:00", "till-use-1")
    assert (used.status, used.used_at, used.use_id) == ("used", "2026-03-03T10:00:00+00:00", "till-use-1")
    assert ports.redemptions.get_voucher("V1") == used
    with pytest.raises(VoucherNotUsable) as again:
        ports.redemptions.use_voucher("V1", "2026-03-04T10:00:00+00:00", "till-use-2")
    assert again.value.voucher == used


def test_a_cancel_gives_the_points_back_once_and_only_for_an_issued_voucher(ports: Ports) -> None:
    with_card(ports, balance=1000)
    v = voucher()
    ports.redemptions.redeem(redemption_for(v), v, 1)
    at = "2026-03-03T10:00:00+00:00"
    with pytest.raises(VersionConflict):
        ports.redemptions.cancel_voucher(v, at, 1, 1000)
    assert ports.redemptions.get_voucher("V1").status == "issued"
    cancelled = ports.redemptions.cancel_voucher(v, at, 2, 1000)
    assert (cancelled.status, cancelled.cancelled_at, cancelled.balance_after_cancel) == (
        "cancelled",
        at,
        1000,
    )
    card = ports.customers.get("C1")
    assert (card.points_balance, card.points_redeemed, card.version) == (1000, 0, 3)
    with pytest.raises(VoucherNotUsable):  # the caller re-reads to know why
        ports.redemptions.cancel_voucher(v, at, 3, 1500)
    assert ports.redemptions.get_voucher("V1") == cancelled
    assert ports.customers.get("C1").points_balance == 1000


# --- erasure -------------------------------------------------------------------------------


def test_erasure_marks_moves_the_history_and_finishes_under_a_new_key(ports: Ports) -> None:
    assert ports.erasure.mark_erased("NOPE") is None
    with_card(ports)
    v = voucher()
    ports.redemptions.redeem(redemption_for(v), v, 1)
    marked = ports.erasure.mark_erased("C1")
    assert marked.erased and marked.version == 3
    with pytest.raises(VersionConflict):  # an erased card takes no more redemptions
        w = voucher("V2")
        ports.redemptions.redeem(redemption_for(w), w, 3)
    assert ports.erasure.anonymise_vouchers("C1", "tok") == 1
    assert ports.redemptions.get_voucher("V1").customer_id == "tok"
    assert ports.redemptions.get_redemption(v.redemption_id).customer_id == "tok"
    assert ports.erasure.anonymise_transactions("C1", "tok") == 1
    moved = ports.transactions.get("T-C1")
    assert moved.customer_id == "tok" and moved.response.get("customer_id", "tok") == "tok"
    assert ports.transactions.history("C1", 10, None).items == []
    with pytest.raises(VersionConflict):  # not at the version read
        ports.erasure.finish(replace(marked, version=2), "anon-1", "tok", "2026-03-05T10:00:00+00:00")
    ports.erasure.finish(marked, "anon-1", "tok", "2026-03-05T10:00:00+00:00")
    assert ports.customers.get("C1") is None
    kept = ports.customers.get("anon-1")
    assert kept is not None and kept.erased and kept.points_balance == marked.points_balance
    record = ports.erasure.erasure("tok")
    assert (record.profile_key, record.erasures, record.erased_at) == (
        "anon-1",
        1,
        "2026-03-05T10:00:00+00:00",
    )
    # The card number reused and erased again: the same anonymous key is refused, nothing changes.
    with_card(ports, transaction_id="T-C1-again")
    again = ports.erasure.mark_erased("C1")
    with pytest.raises(ProfileKeyTaken):
        ports.erasure.finish(again, "anon-1", "tok", "2026-03-06T10:00:00+00:00")
    assert ports.customers.get("C1") is not None and ports.erasure.erasure("tok").erasures == 1
