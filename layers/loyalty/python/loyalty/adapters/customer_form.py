"""The customer item's stored form (issue 19: one write unit, 1 KB, for a year of weekly shopping).

Two things keep the item small:
- short attribute names (CustomerItem's attr_name=...), except for the hash key and the attributes that
  other writers change in place with UpdateItem (version, points_balance, points_redeemed,
  points_adjusted, lots, erased: redemptions, adjustments, erasure). Those keep their names, so an
  UpdateItem on an item still in the old form and one in the new form change the same attribute;
- the month buckets packed into one binary attribute (`mb`, below) instead of a map of maps whose
  category names repeat every month.

Old items (long names, `months` a map) are read as they are: `upgrade` turns their attribute values
into the new form before decoding (pynamodb reads through CustomerItem._container_deserialize, the
scan through items.profile_from_raw), and every writer puts the whole item in the new form, so an old
item is rewritten in the new form the next time it is written; no migration run. The old `rfm`,
`p_alive` and `expected_purchases_90d` are dropped: the monthly run no longer stores them (they are
computed from the profile and the period's cuts, domain/classify.card_scores).

Packed months (`mb`), version 1: varints (LEB128), signed values zigzag-encoded:
    1, n_categories, n_categories x (utf-8 length, name), n_months,
    n_months x (month delta, spend, visits, points, day bitmask, n, n x (category index, spend))
where the first month delta is the month's index (year x 12 + month - 1) and the next ones the gap to
the previous month (months sorted).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from loyalty.domain.dates import month_index
from loyalty.domain.profile import MonthStats

FORMAT = 1

# Old attribute name -> new one, for the attributes that changed name (the others kept theirs).
RENAMED: dict[str, str] = {
    "tier": "t", "tier_since": "ts", "points_earned": "pe", "points_expired": "px",
    "first_purchase_at": "fp", "last_purchase_at": "lp", "folded_purchase_days": "fd",
    "lifetime_spend": "ls", "lifetime_purchases": "lc", "segment": "sg", "favourite_category": "fc",
    "classified_period": "cp", "overdue_for": "od", "member": "mm", "pending": "pd",
    "expiry_warned_through": "ew",
}  # fmt: skip
DROPPED = ("rfm", "p_alive", "expected_purchases_90d", "months")  # months: packed into mb
MONTHS = "mb"


def _varint(value: int, out: bytearray) -> None:
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(value: int, out: bytearray) -> None:
    _varint(value * 2 if value >= 0 else -value * 2 - 1, out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def zigzag(self) -> int:
        value = self.varint()
        return value >> 1 if not value & 1 else -(value >> 1) - 1

    def text(self) -> str:
        length = self.varint()
        start, self.at = self.at, self.at + length
        return self.data[start : self.at].decode()


def pack_months(months: Mapping[str, MonthStats]) -> bytes:
    names = sorted({name for stats in months.values() for name in stats.categories})
    index = {name: i for i, name in enumerate(names)}
    out = bytearray([FORMAT])
    _varint(len(names), out)
    for name in names:
        encoded = name.encode()
        _varint(len(encoded), out)
        out += encoded
    _varint(len(months), out)
    previous = 0
    for month in sorted(months):
        stats, current = months[month], month_index(month)
        _varint(current - previous, out)
        previous = current
        for value in (stats.spend, stats.visits, stats.points):
            _zigzag(value, out)
        _varint(stats.days, out)
        _varint(len(stats.categories), out)
        for name, cents in stats.categories.items():
            _varint(index[name], out)
            _zigzag(cents, out)
    return bytes(out)


def unpack_months(data: bytes | None) -> dict[str, MonthStats]:
    if not data:
        return {}
    reader = _Reader(bytes(data))
    if reader.varint() != FORMAT:
        raise ValueError(f"customer item: unknown packed months format {data[0]}")
    names = [reader.text() for _ in range(reader.varint())]
    months: dict[str, MonthStats] = {}
    current = 0
    for _ in range(reader.varint()):
        current += reader.varint()
        spend, visits, points = reader.zigzag(), reader.zigzag(), reader.zigzag()
        days = reader.varint()
        categories = {names[reader.varint()]: reader.zigzag() for _ in range(reader.varint())}
        year, month0 = divmod(current, 12)
        months[f"{year:04d}-{month0 + 1:02d}"] = MonthStats(spend, visits, points, days, categories)
    return months


def number(value: dict[str, Any] | None) -> int:
    if not value or "N" not in value:
        return 0
    try:
        return int(value["N"])
    except ValueError:  # "12.0", "1E+3": still a whole number in this table
        return int(Decimal(value["N"]))


def legacy_months(value: dict[str, Any]) -> dict[str, MonthStats]:
    """The old `months` map ({"2026-03": {"s", "v", "p", "d", "c": {category: spend}}}), low-level form."""
    months: dict[str, MonthStats] = {}
    for month, wrapped in (value.get("M") or {}).items():
        bucket = wrapped.get("M") or {}
        categories = (bucket.get("c") or {}).get("M") or {}
        months[month] = MonthStats(
            spend=number(bucket.get("s")),
            visits=number(bucket.get("v")),
            points=number(bucket.get("p")),
            days=number(bucket.get("d")),
            categories={k: number(v) for k, v in categories.items()},
        )
    return months


def is_legacy(raw: Mapping[str, Any]) -> bool:
    return "tier" in raw or "months" in raw


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """An item's low-level attribute values in the new form (the same dict when already new)."""
    if not is_legacy(raw):
        return raw
    new = {RENAMED.get(name, name): value for name, value in raw.items() if name not in DROPPED}
    for short in RENAMED.values():  # a new-form value written beside an old one wins
        if short in raw:
            new[short] = raw[short]
    if "months" in raw and MONTHS not in raw:
        new[MONTHS] = {"B": pack_months(legacy_months(raw["months"]))}
    return new
