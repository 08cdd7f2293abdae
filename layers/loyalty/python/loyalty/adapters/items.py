"""Items <-> domain objects: profiles and transactions as the pynamodb models store them, and a
scan's low-level items straight to profiles (no model per item in the monthly run's hot loop)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from loyalty.adapters.customer_form import MONTHS, RENAMED, pack_months, unpack_months, upgrade
from loyalty.adapters.customer_form import number as _number
from loyalty.adapters.models import CustomerItem, TransactionItem
from loyalty.domain.profile import CONTACT_CHANNELS, ConsentChange, Membership, Profile
from loyalty.ports import (
    StoredTransaction,
)

_PROFILE_FIELDS = (
    "customer_id", "version", "tier", "tier_since", "points_balance", "points_earned", "points_redeemed",
    "points_expired", "first_purchase_at", "last_purchase_at", "folded_purchase_days", "lifetime_spend",
    "lifetime_purchases", "segment", "favourite_category", "classified_period", "erased", "overdue_for",
    "points_adjusted", "expiry_warned_through",
)  # fmt: skip


def counts_from_item(raw: Any) -> dict[str, int]:
    """A {key: points} map (lots, pending) as pynamodb or a plain dict gives it."""
    data = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
    return {k: int(v) for k, v in data.items()}


def profile_to_item(profile: Profile, version: int) -> CustomerItem:
    values = {name: getattr(profile, name) for name in _PROFILE_FIELDS}
    values["version"] = version
    item = CustomerItem(**values)
    item.months = pack_months(profile.months) if profile.months else None  # type: ignore[assignment]
    member = member_to_item(profile.member)
    if member is not None:
        item.member = member  # type: ignore[assignment]
    item.lots = dict(profile.lots)  # type: ignore[assignment]
    item.pending = dict(profile.pending) or None  # type: ignore[assignment]
    return item


def profile_from_item(item: CustomerItem) -> Profile:
    values = {name: getattr(item, name) for name in _PROFILE_FIELDS}
    for name in ("version", "points_balance", "points_earned", "points_redeemed", "points_expired",
                 "folded_purchase_days", "lifetime_spend", "lifetime_purchases",
                 "points_adjusted"):  # fmt: skip
        values[name] = int(values[name] or 0)
    values["erased"] = bool(values["erased"])
    raw_member = item.member.as_dict() if hasattr(item.member, "as_dict") else item.member
    return Profile(
        months=unpack_months(item.months),
        lots=counts_from_item(item.lots),
        pending=counts_from_item(item.pending),
        member=member_from_item(raw_member),
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
    if txn.points_breakdown:  # absent without earning rules: no bytes for programmes without them
        item.points_breakdown = json.dumps(txn.points_breakdown, separators=(",", ":"))
    if txn.returned_categories:
        item.returned_categories = dict(txn.returned_categories)  # type: ignore[assignment]
    return item


def transaction_from_item(item: TransactionItem) -> StoredTransaction:
    values = {name: getattr(item, name) for name in _TXN_FIELDS}
    for name in ("amount", "returned", "points_rate", "points_earned"):
        values[name] = int(values[name] or 0)
    categories = (
        item.categories.as_dict() if hasattr(item.categories, "as_dict") else dict(item.categories or {})
    )
    response = item.response.as_dict() if hasattr(item.response, "as_dict") else dict(item.response or {})
    raw_returned = item.returned_categories
    returned = raw_returned.as_dict() if hasattr(raw_returned, "as_dict") else dict(raw_returned or {})
    return StoredTransaction(
        categories={k: int(v) for k, v in categories.items()},
        response=plain(response),
        points_breakdown=json.loads(item.points_breakdown) if item.points_breakdown else [],
        returned_categories={k: int(v) for k, v in returned.items()},
        **values,
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
    "customer_id", "tier", "tier_since", "first_purchase_at", "last_purchase_at", "segment",
    "favourite_category", "classified_period", "overdue_for", "expiry_warned_through",
)  # fmt: skip
# Profile field -> stored attribute name (customer_form: short names, except the kept ones).
_STORED = {name: RENAMED.get(name, name) for name in (*_INT_FIELDS, *_TEXT_FIELDS, "pending", "member")}


def _text(value: dict[str, Any] | None) -> str | None:
    return value.get("S") if value else None


def profile_from_raw(raw: dict[str, Any]) -> Profile:
    """A Profile straight from a scan's low-level item (the reclassification's hot loop: no pynamodb
    model per item), old form or new. Same result as profile_from_item(CustomerItem.from_raw_data(raw))."""
    raw = upgrade(raw)
    stored = _STORED
    values: dict[str, Any] = {name: _text(raw.get(stored[name])) for name in _TEXT_FIELDS}
    values.update({name: _number(raw.get(stored[name])) for name in _INT_FIELDS})
    erased = raw.get("erased")
    values["erased"] = bool(erased.get("BOOL")) if erased else False
    packed = raw.get(MONTHS)
    lots = {k: _number(v) for k, v in ((raw.get("lots") or {}).get("M") or {}).items()}
    pending = {k: _number(v) for k, v in ((raw.get(stored["pending"]) or {}).get("M") or {}).items()}
    member_raw = raw.get(stored["member"])
    member = member_from_item(_plain_raw(member_raw)) if member_raw else Membership()
    months = unpack_months(packed["B"]) if packed else {}
    return Profile(months=months, lots=lots, pending=pending, member=member, **values)


# ---------------------------------------------------------------------------------------------
# The membership map (issue 16), short keys to keep the item small:
# en enrolled, ea enrolled_at, es enrolled_store_id, ec enrolled_channel, eh enrolment_hash, st status,
# c consents {channel: bool}, h consent history [{t: at (Unix seconds), s: source, c: "ep" (the
# initials of the channels agreed: email, sms, push)}],
# pc preferred categories, mx max_contacts_per_month, li last_interaction_at,
# i interactions {month: n}, cm contacts_month, cs contacts_sent. Absent keys are the defaults.

_MEMBER_TEXT = {"ea": "enrolled_at", "es": "enrolled_store_id", "ec": "enrolled_channel",
                "eh": "enrolment_hash", "li": "last_interaction_at", "cm": "contacts_month"}  # fmt: skip


def member_to_item(member: Membership) -> dict[str, Any] | None:
    """The member map, or None for a card never enrolled nor changed (no attribute at all)."""
    if member == Membership():
        return None
    out: dict[str, Any] = {key: getattr(member, name) for key, name in _MEMBER_TEXT.items()}
    out = {k: v for k, v in out.items() if v is not None}
    if member.enrolled:
        out["en"] = True
    if member.status != "active":
        out["st"] = member.status
    if member.consents:
        out["c"] = {k: bool(v) for k, v in member.consents.items()}
    if member.consent_history:
        out["h"] = [
            {
                "t": _epoch(c.at),
                "s": c.source,
                "c": "".join(k[0] for k in CONTACT_CHANNELS if c.consents.get(k)),
            }
            for c in member.consent_history
        ]
    if member.categories:
        out["pc"] = list(member.categories)
    if member.max_contacts_per_month is not None:
        out["mx"] = member.max_contacts_per_month
    if member.interactions:
        out["i"] = dict(member.interactions)
    if member.contacts_sent:
        out["cs"] = member.contacts_sent
    return out


def member_from_item(data: Any) -> Membership:
    if not data:
        return Membership()
    data = plain(dict(data))
    history = tuple(
        ConsentChange(
            _instant(h["t"]), str(h["s"]), {k: k[0] in str(h.get("c") or "") for k in CONTACT_CHANNELS}
        )
        for h in data.get("h") or []
    )
    return Membership(
        enrolled=bool(data.get("en", False)),
        status=str(data.get("st", "active")),
        consents={k: bool(v) for k, v in (data.get("c") or {}).items()},
        consent_history=history,
        categories=tuple(str(c) for c in data.get("pc") or []),
        max_contacts_per_month=int(data["mx"]) if data.get("mx") is not None else None,
        interactions={m: int(n) for m, n in (data.get("i") or {}).items()},
        contacts_sent=int(data.get("cs", 0)),
        **{name: data.get(key) for key, name in _MEMBER_TEXT.items()},
    )


def _epoch(instant: str) -> int:
    # Unix seconds (6 bytes) rather than the 20-character text: 20 changes keep the item under 4 KB.
    return int(datetime.fromisoformat(instant.replace("Z", "+00:00")).timestamp())


def _instant(seconds: Any) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).isoformat().replace("+00:00", "Z")


def _plain_raw(value: dict[str, Any]) -> Any:
    """A low-level attribute value ({"M": ...}, {"N": "3"}...) as plain Python."""
    ((kind, inner),) = value.items()
    if kind == "M":
        return {k: _plain_raw(v) for k, v in inner.items()}
    if kind == "L":
        return [_plain_raw(v) for v in inner]
    if kind == "N":
        return _number(value)
    if kind == "NULL":
        return None
    return inner  # S, BOOL
