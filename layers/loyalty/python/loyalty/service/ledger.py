"""GET /v1/customers/{id}/points-history: the points ledger (domain/ledger.py), newest first, one Query
a page, cursor-paginated like the transaction history (a cursor belongs to its customer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loyalty.domain.ledger import EARNED, LedgerEntry
from loyalty.domain.lots import release_day
from loyalty.errors import ApiError
from loyalty.ports import CustomerStore, LedgerStore
from loyalty.programme import Programme
from loyalty.service.points import page_of


def ledger_view(entry: LedgerEntry, programme: Programme) -> dict[str, Any]:
    """An entry as the API shows it: its reference under its own name (transaction_id, redemption_id,
    adjustment_id or period); an earned entry of a programme with a return window also says from which
    day its points are spendable (a release moves no points in or out of the total: docs/points.md)."""
    view: dict[str, Any] = {
        "kind": entry.kind,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "at": entry.at,
        entry.ref_type: entry.ref,
    }
    if entry.kind == EARNED and programme.pending_days:
        earned_on = datetime.fromisoformat(entry.at).astimezone(programme.zone).date()
        view["available_on"] = release_day(earned_on.isoformat(), programme).isoformat()
    return view


@dataclass
class LedgerService:
    customers: CustomerStore
    ledger: LedgerStore
    programme: Programme

    def history(self, customer_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        page = page_of(lambda: self.ledger.entries(customer_id, limit, cursor), limit)
        profile = self.customers.get(customer_id)
        if profile is None or profile.erased:  # an erased customer's ledger is gone, or going
            raise ApiError(404, "customer_not_found", f"customer_id: no customer {customer_id!r}")
        return {
            "items": [ledger_view(e, self.programme) for e in page.items],
            "next_cursor": page.next_cursor,
        }
