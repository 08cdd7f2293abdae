"""The read side: a customer's balance card (one GetItem) and their history (one Query a page)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from loyalty.domain.classify import period_scores
from loyalty.domain.lots import points_on
from loyalty.domain.profile import Profile
from loyalty.domain.tiers import progress
from loyalty.errors import ApiError, field_error
from loyalty.money import format_amount
from loyalty.ports import CustomerStore, StoredTransaction, TransactionStore
from loyalty.programme import Programme
from loyalty.service.members import member_fields
from loyalty.service.period_cuts import PeriodCuts

MAX_PAGE = 100
T = TypeVar("T")


def lifecycle_fields(profile: Profile, programme: Programme, now: datetime) -> dict[str, Any]:
    """What can be spent now, what is pending and when it is released, and the next expiry dates:
    derived from the lots and today's date (domain/lots.py), so no job has to release or expire."""
    view = points_on(profile, programme, now.astimezone(programme.zone).date())
    return {
        "points_balance": view.available,
        "points_pending": view.pending,
        "pending_release": [{"points": p, "available_on": on.isoformat()} for p, on in view.pending_release],
        "points_expiring": [{"points": p, "expires_on": on.isoformat()} for p, on in view.expiring()],
    }


def scores_fields(profile: Profile, programme: Programme, latest: PeriodCuts | None) -> dict[str, Any]:
    """RFM scores and BG/NBD figures of the last finished period, computed from the profile and that
    period's cuts (not stored on the profile); none before the customer's first classification."""
    if latest is None or profile.classified_period is None:
        return {"rfm": None, "classified_period": profile.classified_period, "p_alive": None,
                "expected_purchases_90d": None}  # fmt: skip
    period = period_scores(profile, programme, latest.cuts, latest.window)
    alive = period.liveness
    return {
        "rfm": period.scores.to_dict() if period.scores else None,
        "classified_period": latest.period,
        "p_alive": None if alive is None else str(alive.p_alive),
        "expected_purchases_90d": None if alive is None else str(alive.expected_purchases_90d),
    }


def customer_card(
    profile: Profile, programme: Programme, now: datetime, latest: PeriodCuts | None = None
) -> dict[str, Any]:
    month = programme.month_of(now)
    totals = profile.totals(month)
    tier_progress = progress(programme, profile, month)
    lifecycle = lifecycle_fields(profile, programme, now)
    return {
        "customer_id": profile.customer_id,
        "points_balance": lifecycle.pop("points_balance"),
        "tier": profile.tier,
        "tier_since": profile.tier_since,
        "next_tier": tier_progress.next_tier,
        "to_next_tier": tier_progress.missing or None,
        "segment": profile.segment,
        "favourite_category": profile.favourite_category,
        **scores_fields(profile, programme, latest),
        "currency": programme.currency,
        "spend_12m": format_amount(totals.spend, programme.currency),
        "visits_12m": totals.visits,
        "points_12m": totals.points,
        "first_purchase_at": profile.first_purchase_at,
        "last_purchase_at": profile.last_purchase_at,
        **member_fields(profile),
        **lifecycle,
    }


def history_entry(txn: StoredTransaction) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "transaction_id": txn.transaction_id,
        "type": txn.kind,
        "occurred_at": txn.occurred_at,
        "amount": format_amount(txn.amount, txn.currency),
        "currency": txn.currency,
        "points_earned": txn.points_earned,
        "store_id": txn.store_id,
        "channel": txn.channel,
    }
    if txn.kind == "purchase":
        entry["returned_amount"] = format_amount(txn.returned, txn.currency)
    if txn.original_transaction_id:
        entry["original_transaction_id"] = txn.original_transaction_id
    return entry


def page_of(fetch: Callable[[], T], limit: int) -> T:
    """One page of a cursor-paginated list: `limit` 1 to MAX_PAGE, and a cursor the store refuses
    (not one this API returned, or another customer's) a 400 naming `cursor`."""
    if not 1 <= limit <= MAX_PAGE:
        raise field_error("limit", f"must be between 1 and {MAX_PAGE}")
    try:
        return fetch()
    except ValueError as exc:
        raise field_error("cursor", str(exc)) from exc


@dataclass
class PointsService:
    customers: CustomerStore
    transactions: TransactionStore
    programme: Programme
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    # period_cuts.LatestCuts (cached per container), called with the profile's classified_period
    latest_cuts: Callable[[str | None], PeriodCuts | None] = lambda at_least: None

    def card(self, customer_id: str) -> dict[str, Any]:
        profile = self.customers.get(customer_id)
        if profile is None or profile.erased:
            raise ApiError(404, "customer_not_found", f"customer_id: no customer {customer_id!r}")
        return customer_card(profile, self.programme, self.now(), self.latest_cuts(profile.classified_period))

    def history(self, customer_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        page = page_of(lambda: self.transactions.history(customer_id, limit, cursor), limit)
        profile = self.customers.get(customer_id)
        # A profile being erased shows nothing of its history, whatever the sweep has reached.
        if (profile is None and not page.items and cursor is None) or (
            profile is not None and profile.erased
        ):
            raise ApiError(404, "customer_not_found", f"customer_id: no customer {customer_id!r}")
        return {"items": [history_entry(t) for t in page.items], "next_cursor": page.next_cursor}
