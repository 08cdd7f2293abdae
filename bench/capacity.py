"""DynamoDB capacity units of recorded botocore calls, computed from item sizes by the published rules.

moto answers ReturnConsumedCapacity with fixed numbers (0.5 or 1 per call, whatever the item size) and
the runtime's pynamodb calls do not request it, so the bench computes the units from the items each call
read or wrote (loyalty.adapters.item_size):

- GetItem, strongly consistent: 1 RCU per 4 KB of the item (1 even when there is no item).
- Query / Scan, eventually consistent: 0.5 RCU per 4 KB of the page's items summed, rounded up per page.
- TransactGetItems: 2 RCU per 4 KB per item; TransactWriteItems: 2 WCU per 1 KB per item written.
- PutItem / UpdateItem outside a transaction: 1 WCU per 1 KB.
- A table write also writes each global secondary index the item belongs to (ALL projection): 1 WCU per
  1 KB of the index entry (the item plus 100 bytes of overhead).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from loyalty.adapters.item_size import item_size

KB = 1024
INDEX_OVERHEAD = 100


@dataclass
class Capacity:
    rcu: float = 0.0
    wcu: float = 0.0
    calls: int = 0

    def __add__(self, other: Capacity) -> Capacity:
        return Capacity(self.rcu + other.rcu, self.wcu + other.wcu, self.calls + other.calls)

    def per(self, n: int) -> Capacity:
        return Capacity(self.rcu / n, self.wcu / n, self.calls / n)  # type: ignore[arg-type]

    def text(self) -> str:
        return f"{self.rcu:.2f} RCU + {self.wcu:.2f} WCU"


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


def _index_writes(item: dict[str, Any], indexed: dict[str, list[str]], table: str) -> int:
    """1 KB write units for each GSI whose key attributes the item carries (ALL projection)."""
    units = 0
    for keys in indexed.get(table, []):
        if all(k in item for k in keys.split(",")):
            units += _units(item_size(item) + INDEX_OVERHEAD, KB)
    return units


def capacity_of(
    calls: Iterable[tuple[str, dict[str, Any], dict[str, Any]]], indexed: dict[str, list[str]]
) -> Capacity:
    """`indexed`: table name -> the GSI key attribute sets ("customer_id,occurred_key")."""
    total = Capacity()
    for operation, params, response in calls:
        if operation == "GetItem":
            size = item_size(response.get("Item") or {})
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            total += Capacity(rcu=factor * _units(size, 4 * KB), calls=1)
        elif operation in ("Query", "Scan"):
            size = sum(item_size(i) for i in response.get("Items", []))
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            total += Capacity(rcu=factor * _units(size, 4 * KB), calls=1)
        elif operation == "TransactGetItems":
            rcu = sum(2 * _units(item_size(r.get("Item") or {}), 4 * KB) for r in response["Responses"])
            total += Capacity(rcu=rcu, calls=1)
        elif operation == "TransactWriteItems":
            wcu = 0
            for entry in params["TransactItems"]:
                if "Put" in entry:
                    item, table = entry["Put"]["Item"], entry["Put"]["TableName"]
                    wcu += 2 * _units(item_size(item), KB) + _index_writes(item, indexed, table)
                elif "Update" in entry or "Delete" in entry:
                    wcu += 2  # small items (a counter on a transaction item); exact size unknown here
                elif "ConditionCheck" in entry:
                    wcu += 2 * 1
            total += Capacity(wcu=wcu, calls=1)
        elif operation == "PutItem":
            item = params["Item"]
            total += Capacity(
                wcu=_units(item_size(item), KB) + _index_writes(item, indexed, params["TableName"]), calls=1
            )
        elif operation in ("UpdateItem", "DeleteItem"):
            total += Capacity(wcu=1, calls=1)
    return total


def gsi_keys() -> dict[str, list[str]]:
    """table name -> key attribute sets of its global indexes, from the pynamodb models."""
    from loyalty.adapters.models import MODELS, model_definition

    out: dict[str, list[str]] = {}
    for model in MODELS.values():
        definition = model_definition(model)
        out[model.Meta.table_name] = [
            ",".join(name for name, _, _ in index["key"]) for index in definition["global_indexes"].values()
        ]
    return out
