"""The pagination cursor: DynamoDB's LastEvaluatedKey as an opaque string, accepted back only in the
shape this API issued and for the customer it was issued for."""

from __future__ import annotations

import base64
import json
from typing import Any


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


HISTORY_KEYS = ("customer_id", "occurred_key", "transaction_id")
VOUCHER_KEYS = ("customer_id", "issued_key", "code")
LEDGER_KEYS = ("customer_id", "seq")


def decode_cursor(
    cursor: str, customer_id: str | None = None, keys: tuple[str, ...] = HISTORY_KEYS
) -> dict[str, Any]:
    """A cursor this API returned for this customer, else ValueError (a 400): DynamoDB is only ever
    handed a start key of the index's own shape (string keys, this customer), never a forged one."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise ValueError("is not a cursor this API returned") from exc
    if (
        not isinstance(key, dict)
        or sorted(key) != sorted(keys)
        or not all(isinstance(v, dict) and list(v) == ["S"] and isinstance(v["S"], str) for v in key.values())
        or not all(0 < len(v["S"]) <= 1024 for v in key.values())
    ):
        raise ValueError("is not a cursor this API returned")
    if customer_id is not None and key["customer_id"]["S"] != customer_id:
        raise ValueError("belongs to another customer")
    return key
