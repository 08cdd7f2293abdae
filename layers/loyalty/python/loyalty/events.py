"""Event names and models: the contract with marketing tools on the EventBridge bus.

Every event carries a deterministic `event_id` (customer + period + kind) so that consumers can
drop duplicates: we publish at least once, and a rerun publishes the same ids again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DetailType(StrEnum):
    CUSTOMER_SEGMENT_CHANGED = "CustomerSegmentChanged"
    CUSTOMER_TIER_CHANGED = "CustomerTierChanged"
    POINTS_EXPIRED = "PointsExpired"
    VOUCHER_ISSUED = "VoucherIssued"
    RECLASSIFICATION_COMPLETED = "ReclassificationCompleted"


SCHEMA_VERSION = "1"


def event_id(*parts: str) -> str:
    """A stable id from its parts, e.g. event_id(customer_id, period, kind)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def ab_bucket(customer_id: str, salt: str = "loyalty-ab") -> int:
    """A stable A/B bucket 0-99 per customer, the same in every event and export."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


@dataclass(frozen=True)
class DomainEvent:
    detail_type: DetailType
    event_id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "schema_version": SCHEMA_VERSION, **self.detail}

    def to_entry(self, bus_name: str, source: str) -> dict[str, Any]:
        return {
            "EventBusName": bus_name,
            "Source": source,
            "DetailType": str(self.detail_type),
            "Detail": json.dumps(self.body(), separators=(",", ":"), sort_keys=True),
        }


def tier_changed(
    customer_id: str,
    period: str,
    cause: str,
    before: str,
    after: str,
    direction: str,
    extra: dict[str, Any] | None = None,
) -> DomainEvent:
    """`cause` is part of the id: the transaction id for an upgrade at a purchase, or the
    monthly run's period for a change made by the reclassification."""
    return DomainEvent(
        DetailType.CUSTOMER_TIER_CHANGED,
        event_id(customer_id, period, "tier", cause),
        {
            "customer_id": customer_id,
            "period": period,
            "before": {"tier": before},
            "after": {"tier": after},
            "direction": direction,
            "cause": cause,
            "ab_bucket": ab_bucket(customer_id),
            **(extra or {}),
        },
    )
