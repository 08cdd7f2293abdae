"""The CSV importer's rules without AWS: parsing and rejects, stable derived ids, the same domain
outcome as the API's rules, chunks within the TransactWriteItems limit, idempotence."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime

import pytest
from loyalty.domain.earning import Purchase, apply_purchase
from loyalty.domain.profile import new_profile
from loyalty.fakes import InMemoryStore, TransactionView
from loyalty.ports import VersionConflict
from loyalty.programme import load_programme
from loyalty.settings import Settings
from loyalty_tools.importer import (
    MAX_OPS,
    Columns,
    Reject,
    Row,
    RowParser,
    import_batch,
    import_customer,
    plan_customer,
)

PROGRAMME = load_programme(Settings().programme_file)
NOW = datetime(2026, 1, 15, tzinfo=UTC)


def parser(**kw) -> RowParser:
    return RowParser(Columns(), PROGRAMME, now=lambda: NOW, **kw)


def row(p: RowParser, line: int, **values: str):
    base = {"customer_id": "C1", "occurred_at": "2025-06-01T10:00:00+02:00", "amount": "12.50"}
    return p.parse(line, {**base, **values})


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"customer_id": ""}, "customer_id: missing"),
        ({"customer_id": "bad id"}, "not a valid id"),
        ({"occurred_at": "yesterday"}, "does not match"),
        ({"occurred_at": "2026-03-01T10:00:00+01:00"}, "in the future"),
        ({"amount": "12.505"}, "decimal places"),
        ({"amount": "-3.00"}, "return without original_transaction_id"),
        ({"type": "refund"}, "return without"),
        ({"type": "gift"}, "neither a purchase nor a return"),
        ({"channel": "phone"}, "not one of store, web, app"),
    ],
)
def test_bad_rows_are_rejected_with_a_reason(values: dict[str, str], reason: str) -> None:
    with pytest.raises(Reject, match=reason):
        row(parser(), 2, **values)


def test_naive_dates_are_programme_local_time_and_formats_are_honoured() -> None:
    r = row(
        parser(date_format="%d/%m/%Y %H:%M", decimal_comma=True),
        2,
        occurred_at="01/07/2025 09:30",
        amount="1.234,50",
    )
    assert r.occurred_at.utcoffset().total_seconds() == 7200  # Paris summer time
    assert r.amount == 123450


def test_derived_ids_do_not_depend_on_row_order_and_identical_rows_stay_distinct() -> None:
    lines = [{"amount": "5.00"}, {"amount": "7.00"}, {"amount": "5.00"}]
    first = parser()
    ids = [row(first, n, **v).transaction_id for n, v in enumerate(lines)]
    second = parser()
    reordered = [row(second, n, **v).transaction_id for n, v in enumerate(reversed(lines))]
    assert len(set(ids)) == 3
    assert sorted(ids) == sorted(reordered)
    assert row(parser(), 9, amount="5.00").transaction_id == ids[0]


def test_planned_outcome_equals_the_api_rules_applied_one_by_one() -> None:
    p = parser()
    rows = [
        row(p, n, occurred_at=f"2025-{m:02d}-10T12:00:00+01:00", amount="90.00")
        for n, m in enumerate(range(1, 8))
    ]
    chunks, rejected, present = plan_customer(None, list(reversed(rows)), PROGRAMME, {}, lambda _: None)
    assert not rejected and present == 0 and len(chunks) == 1
    profile = new_profile("C1", PROGRAMME.base_tier.name)
    for r in rows:
        profile, _ = apply_purchase(
            profile, Purchase(r.transaction_id, "C1", r.occurred_at, r.amount, {}), PROGRAMME
        )
    assert chunks[0].profile == profile
    assert profile.tier == "gold" and profile.points_balance == 90 * 3 + 180 * 4


def test_returns_in_the_file_take_points_back_and_update_their_purchase() -> None:
    p = parser()
    buy = row(p, 2, transaction_id="T1", amount="40.00")
    back = row(p, 3, transaction_id="T2", amount="-15.00", original_transaction_id="T1",
               occurred_at="2025-06-03T10:00:00+02:00")  # fmt: skip
    too_much = row(p, 4, transaction_id="T3", amount="-30.00", original_transaction_id="T1",
                   occurred_at="2025-06-04T10:00:00+02:00")  # fmt: skip
    orphan = row(p, 5, transaction_id="T4", amount="-1.00", original_transaction_id="NOPE")
    chunks, rejected, _ = plan_customer(None, [back, too_much, buy, orphan], PROGRAMME, {}, lambda _: None)
    assert {r.transaction_id: reason.split(" (")[0] for r, reason in rejected} == {
        "T3": "amount: exceeds what is left of the original purchase",
        "T4": "original_transaction_id: no purchase with this id for this customer",
    }
    stored = {t.transaction_id: t for t in chunks[0].transactions}
    assert stored["T1"].returned == 1500
    assert chunks[0].profile.points_balance == 40 - 15


def test_chunks_stay_within_the_transaction_limit() -> None:
    p = parser()
    rows = [
        row(p, n, amount="1.00", occurred_at=f"2025-05-{1 + n % 28:02d}T10:{n % 60:02d}:00+02:00")
        for n in range(250)
    ]
    chunks, _, _ = plan_customer(None, rows, PROGRAMME, {}, lambda _: None)
    assert sum(len(c.transactions) for c in chunks) == 250
    # each transaction brings its ledger entry (domain/ledger.py) into the same TransactWriteItems
    assert all(2 * len(c.transactions) + len(c.returned) <= MAX_OPS - 1 for c in chunks)
    assert chunks[-1].profile.lifetime_purchases == 250


class FakeStore(InMemoryStore):
    """Profiles and transactions in memory, with the conditions of the real write (the ports' fake)."""

    @property
    def view(self) -> TransactionView:
        return TransactionView(self)


def test_importing_twice_changes_nothing_and_a_partial_import_resumes() -> None:
    p = parser()
    rows = [
        row(p, n, amount=f"{n + 1}.00", occurred_at=f"2025-04-{1 + n // 6:02d}T10:{n % 60:02d}:00+02:00")
        for n in range(150)
    ]
    store = FakeStore()
    assert import_customer(rows, PROGRAMME, store, store.view)[:2] == (150, 0)
    snapshot = dict(store.profiles)
    assert import_customer(rows, PROGRAMME, store, store.view)[:2] == (0, 150)
    assert store.profiles == snapshot

    partial = FakeStore()
    import_customer(rows[:40], PROGRAMME, partial, partial.view)
    imported, present, rejected = import_customer(rows, PROGRAMME, partial, partial.view)
    assert (imported, present, rejected) == (110, 40, [])
    assert partial.profiles["C1"].points_balance == store.profiles["C1"].points_balance


def purchase_log(p: RowParser, customers: int, per_customer: int = 3) -> list[list[Row]]:
    return [
        [
            row(p, c * per_customer + k, customer_id=f"C{c:04d}", transaction_id=f"T{c:04d}-{k}",
                occurred_at=f"2025-0{4 + k}-{1 + c % 28:02d}T10:00:00+02:00")
            for k in range(per_customer)
        ]
        for c in range(customers)
    ]  # fmt: skip


def test_a_batch_reads_and_writes_across_customers_in_few_calls() -> None:
    """Issue 19 item 6: 250 customers x 3 purchases in one BatchGetItem per 100 customers and one
    TransactWriteItems per 14 customers (7 items each), the same profiles as one customer at a time."""
    p = parser()
    groups = purchase_log(p, 250)
    one_by_one = FakeStore()
    for rows in groups:
        import_customer(rows, PROGRAMME, one_by_one, one_by_one.view)
    store = FakeStore()
    batches = [groups[i : i + 100] for i in range(0, 250, 100)]
    outcomes = [o for batch in batches for o in import_batch(batch, PROGRAMME, store, store.view)]
    assert [o[:2] for o in outcomes] == [(3, 0)] * 250
    calls = Counter(store.calls)
    assert calls["BatchGetItem"] == 3 and calls["GetItem"] == 0  # new customers: no row lookups
    per_pack = MAX_OPS // 7  # 3 transactions, their 3 ledger entries, the profile
    assert calls["TransactWriteItems"] == 2 * math.ceil(100 / per_pack) + math.ceil(50 / per_pack) == 20
    assert store.profiles == one_by_one.profiles
    assert store.transactions == one_by_one.transactions and store.ledger == one_by_one.ledger
    # Again: every row already present, nothing written.
    again = import_batch(groups[:100], PROGRAMME, store, store.view)
    assert [o[:2] for o in again] == [(0, 3)] * 100 and Counter(store.calls)["TransactWriteItems"] == 20


def test_a_failed_pack_falls_back_to_one_customer_at_a_time_and_counts_once() -> None:
    p = parser()
    groups = purchase_log(p, 30)
    store = FakeStore()
    import_customer(groups[5][:1], PROGRAMME, store, store.view)  # C0005's first row is already stored
    real = store.record_chunks
    packs: list[int] = []

    def racing(chunks):  # type: ignore[no-untyped-def]
        packs.append(len(chunks))
        if len(packs) == 1:  # ingest wrote a customer of the first pack meanwhile
            raise VersionConflict("C0003")
        return real(chunks)

    store.record_chunks = racing  # type: ignore[method-assign]
    outcomes = import_batch(groups, PROGRAMME, store, store.view)
    assert outcomes[5][:2] == (2, 1)
    assert sum(o[0] for o in outcomes) == 89 and sum(o[1] for o in outcomes) == 1
    assert all(len(store.profiles[f"C{c:04d}"].months) for c in range(30))
    assert len(store.transactions) == 90
