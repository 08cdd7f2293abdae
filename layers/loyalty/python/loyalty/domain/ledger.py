"""The points ledger (GET /v1/customers/{id}/points-history): one entry per movement of the stored
points total, written in the same TransactWriteItems as the movement itself, so the statement can
never drift from the balance. Pure: the entries are built from what the write already carries.

Order: an entry's `seq` is the profile version the write produced (zero-padded) and its index within
that write (a chunk of the importer holds many transactions), so it rises with every write of the
customer and sorts newest first as a string. `balance_after` is the stored total (`points_balance`:
spendable + pending, negative for a debt) right after the movement; for every entry
balance_after == previous entry's balance_after + points. `released` entries are not stored: a
release moves points from pending to spendable inside the same total (docs/points.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from loyalty.domain.profile import Profile

EARNED, RETURNED, RELEASED, REDEEMED, EXPIRED, ADJUSTED = (
    "earned",
    "returned",
    "released",
    "redeemed",
    "expired",
    "adjusted",
)
KINDS = (EARNED, RETURNED, RELEASED, REDEEMED, EXPIRED, ADJUSTED)
# What an entry refers to: the field named in the API's answer.
TRANSACTION, REDEMPTION, ADJUSTMENT, PERIOD = "transaction_id", "redemption_id", "adjustment_id", "period"
VERSION_DIGITS = 12
INDEX_DIGITS = 3  # a TransactWriteItems holds at most 100 items


@dataclass(frozen=True)
class LedgerEntry:
    customer_id: str
    seq: str  # seq_key(version after the write, index in the write)
    kind: str  # one of KINDS
    points: int  # signed: + into the total, - out of it
    balance_after: int
    at: str  # ISO 8601 instant of the movement (a transaction's occurred_at as sent)
    ref_type: str  # TRANSACTION | REDEMPTION (a redemption and its voucher's cancel) | ADJUSTMENT | PERIOD
    ref: str


def seq_key(version: int, index: int = 0) -> str:
    return f"{version:0{VERSION_DIGITS}d}#{index:0{INDEX_DIGITS}d}"


def entry(
    customer_id: str, version: int, kind: str, points: int, balance_after: int, at: str, ref_type: str,
    ref: str,
) -> LedgerEntry:  # fmt: skip
    """The one entry of a single-movement write (a redemption, a cancel, an adjustment)."""
    return LedgerEntry(customer_id, seq_key(version), kind, points, balance_after, at, ref_type, ref)


class _Txn(Protocol):  # what a stored transaction (ports.StoredTransaction) gives the ledger
    customer_id: str
    transaction_id: str
    kind: str
    occurred_at: str
    points_earned: int


class _Redemption(Protocol):  # ports.Redemption
    customer_id: str
    redemption_id: str
    points: int
    created_at: str


class _Voucher(Protocol):  # ports.Voucher
    customer_id: str
    redemption_id: str
    points: int


class _Adjustment(Protocol):  # ports.Adjustment
    adjustment_id: str
    created_at: str


def redemption_entry(redemption: _Redemption, version: int, total_after: int) -> LedgerEntry:
    return entry(
        redemption.customer_id, version, REDEEMED, -redemption.points, total_after, redemption.created_at,
        REDEMPTION, redemption.redemption_id,
    )  # fmt: skip


def cancel_entry(voucher: _Voucher, version: int, total_after: int, cancelled_at: str) -> LedgerEntry:
    """A cancelled voucher's points given back: a `redeemed` entry of +points, its redemption's id."""
    return entry(
        voucher.customer_id, version, REDEEMED, voucher.points, total_after, cancelled_at, REDEMPTION,
        voucher.redemption_id,
    )  # fmt: skip


def adjustment_entry(
    adjustment: _Adjustment, customer_id: str, points: int, version: int, total_after: int
) -> LedgerEntry:
    return entry(
        customer_id, version, ADJUSTED, points, total_after, adjustment.created_at, ADJUSTMENT,
        adjustment.adjustment_id,
    )  # fmt: skip


def transaction_entries(transactions: Sequence[_Txn], balance_after: int, version: int) -> list[LedgerEntry]:
    """The entries of one write of transactions (one, or an importer's chunk) that left the stored
    total at `balance_after` and the profile at `version`: each transaction moves the total by its
    points_earned (negative for a return), so the earlier entries' balances are counted back from the
    last. A transaction of 0 points (a blocked member's purchase) moves nothing and has no entry."""
    moving = [t for t in transactions if t.points_earned]
    entries: list[LedgerEntry] = []
    balance = balance_after
    for index in range(len(moving) - 1, -1, -1):
        t = moving[index]
        kind = EARNED if t.kind == "purchase" else RETURNED
        entries.append(
            LedgerEntry(
                t.customer_id,
                seq_key(version, index),
                kind,
                t.points_earned,
                balance,
                t.occurred_at,
                TRANSACTION,
                t.transaction_id,
            )
        )
        balance -= t.points_earned
    return entries[::-1]


def expiry_entry(
    customer_id: str, expired_before: int, expired_after: int, balance_after: int, version: int,
    period: str | None, at: str,
) -> LedgerEntry | None:  # fmt: skip
    """The monthly run's booking of expired lots (points_expired rose), or None when nothing expired."""
    taken = expired_after - expired_before
    if taken <= 0:
        return None
    return entry(customer_id, version, EXPIRED, -taken, balance_after, at, PERIOD, period or at[:7])


def expiry_of(before: Profile, after: Profile, version: int, at: str) -> LedgerEntry | None:
    """The expiry entry of a monthly run's classification write from `before` to `after`."""
    return expiry_entry(
        after.customer_id,
        before.points_expired,
        after.points_expired,
        after.points_balance,
        version,
        after.classified_period,
        at,
    )
