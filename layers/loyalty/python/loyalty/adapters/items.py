"""Items <-> domain objects: profiles and transactions as the pynamodb models store them, and a
scan's low-level items straight to profiles (no model per item in the monthly run's hot loop)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from loyalty.adapters.models import CustomerItem, TransactionItem
from loyalty.domain.profile import MonthStats, Profile
from loyalty.ports import (
    StoredTransaction,
)

_PROFILE_FIELDS = (
    "customer_id", "version", "tier", "tier_since", "points_balance", "points_earned", "points_redeemed",
    "points_expired", "first_purchase_at", "last_purchase_at", "folded_purchase_days", "lifetime_spend",
    "lifetime_purchases", "segment", "rfm", "favourite_category", "classified_period", "erased",
    "p_alive", "expected_purchases_90d", "overdue_for", "points_adjusted", "expiry_warned_through",
)  # fmt: skip


def counts_from_item(raw: Any) -> dict[str, int]:
    """A {key: points} map (lots, pending) as pynamodb or a plain dict gives it."""
    data = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
    return {k: int(v) for k, v in data.items()}


def months_to_item(months: dict[str, MonthStats] | Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for month, stats in months.items():
        bucket: dict[str, Any] = {"s": stats.spend, "v": stats.visits, "p": stats.points, "d": stats.days}
        if stats.categories:
            bucket["c"] = dict(stats.categories)
        out[month] = bucket
    return out


def months_from_item(raw: Any) -> dict[str, MonthStats]:
    data = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
    return {
        month: MonthStats(
            spend=int(b.get("s", 0)),
            visits=int(b.get("v", 0)),
            points=int(b.get("p", 0)),
            days=int(b.get("d", 0)),
            categories={k: int(v) for k, v in (b.get("c") or {}).items()},
        )
        for month, b in data.items()
    }


def profile_to_item(profile: Profile, version: int) -> CustomerItem:
    values = {name: getattr(profile, name) for name in _PROFILE_FIELDS}
    values["version"] = version
    item = CustomerItem(**values)
    item.months = months_to_item(profile.months)  # type: ignore[assignment]
    item.lots = dict(profile.lots)  # type: ignore[assignment]
    item.pending = dict(profile.pending)  # type: ignore[assignment]
    return item


def profile_from_item(item: CustomerItem) -> Profile:
    values = {name: getattr(item, name) for name in _PROFILE_FIELDS}
    for name in ("version", "points_balance", "points_earned", "points_redeemed", "points_expired",
                 "folded_purchase_days", "lifetime_spend", "lifetime_purchases",
                 "points_adjusted"):  # fmt: skip
        values[name] = int(values[name] or 0)
    values["erased"] = bool(values["erased"])
    return Profile(
        months=months_from_item(item.months),
        lots=counts_from_item(item.lots),
        pending=counts_from_item(item.pending),
        **values,
    )


_TXN_FIELDS = (
    "transaction_id", "customer_id", "kind", "occurred_at", "occurred_key", "currency", "amount", "body_hash",
    "store_id", "channel", "returned", "points_rate", "points_earned", "original_transaction_id",
)  # fmt: skip


def transaction_to_item(txn: StoredTransaction) -> TransactionItem:
    item = TransactionItem(**{name: getattr(txn, name) for name in _TXN_FIELDS})
    item.categories = dict(txn.categories)  # type: ignore[assignment]
    item.response = dict(txn.response)  # type: ignore[assignment]
    return item


def transaction_from_item(item: TransactionItem) -> StoredTransaction:
    values = {name: getattr(item, name) for name in _TXN_FIELDS}
    for name in ("amount", "returned", "points_rate", "points_earned"):
        values[name] = int(values[name] or 0)
    categories = (
        item.categories.as_dict() if hasattr(item.categories, "as_dict") else dict(item.categories or {})
    )
    response = item.response.as_dict() if hasattr(item.response, "as_dict") else dict(item.response or {})
    return StoredTransaction(
        categories={k: int(v) for k, v in categories.items()}, response=plain(response), **values
    )


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal or float; answers hold only ints."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if type(value).__name__ == "Decimal":
        return int(value) if value == int(value) else str(value)
    return value


_INT_FIELDS = (
    "version", "points_balance", "points_earned", "points_redeemed", "points_expired", "folded_purchase_days",
    "lifetime_spend", "lifetime_purchases", "points_adjusted",
)  # fmt: skip
_TEXT_FIELDS = (
    "customer_id", "tier", "tier_since", "first_purchase_at", "last_purchase_at", "segment", "rfm",
    "favourite_category", "classified_period", "p_alive", "expected_purchases_90d", "overdue_for",
    "expiry_warned_through",
)  # fmt: skip


def _number(value: dict[str, Any] | None) -> int:
    if not value or "N" not in value:
        return 0
    text = value["N"]
    try:
        return int(text)
    except ValueError:  # "12.0", "1E+3": still a whole number in this table
        return int(Decimal(text))


def _text(value: dict[str, Any] | None) -> str | None:
    return value.get("S") if value else None


def profile_from_raw(raw: dict[str, Any]) -> Profile:
    """A Profile straight from a scan's low-level item (the reclassification's hot loop: no pynamodb
    model per item). Same result as profile_from_item(CustomerItem.from_raw_data(raw))."""
    values: dict[str, Any] = {name: _text(raw.get(name)) for name in _TEXT_FIELDS}
    values.update({name: _number(raw.get(name)) for name in _INT_FIELDS})
    erased = raw.get("erased")
    values["erased"] = bool(erased.get("BOOL")) if erased else False
    months: dict[str, MonthStats] = {}
    for month, wrapped in ((raw.get("months") or {}).get("M") or {}).items():
        bucket = wrapped.get("M") or {}
        categories = (bucket.get("c") or {}).get("M") or {}
        months[month] = MonthStats(
            spend=_number(bucket.get("s")),
            visits=_number(bucket.get("v")),
            points=_number(bucket.get("p")),
            days=_number(bucket.get("d")),
            categories={k: _number(v) for k, v in categories.items()},
        )
    lots = {k: _number(v) for k, v in ((raw.get("lots") or {}).get("M") or {}).items()}
    pending = {k: _number(v) for k, v in ((raw.get("pending") or {}).get("M") or {}).items()}
    return Profile(months=months, lots=lots, pending=pending, **values)
