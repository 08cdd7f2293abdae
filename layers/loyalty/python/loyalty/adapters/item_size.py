"""DynamoDB item size, by the published rules, from an item's attribute-value form."""

from __future__ import annotations

from typing import Any


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: v}) for v in inner)
    raise ValueError(kind)


def item_size(attributes: dict[str, dict[str, Any]]) -> int:
    """Bytes DynamoDB counts for an item: names plus values (1 RCU reads up to 4 KB)."""
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())
