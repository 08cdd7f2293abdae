"""A fixed-size uniform sample of customers that merges across scan segments (pure).

Bottom-k sampling, the mergeable form of reservoir sampling: every customer gets a key from a hash of
their id, and a sample of size k keeps the k customers with the smallest keys. A hash is uniform
over ids, so the kept customers are a uniform sample of the ones offered; the union of two samples
cut back to the k smallest keys is exactly the sample of the union, so the merge of the segments'
samples does not depend on how the base was split or in which order the parts arrive, and a rerun
of the same period draws the same customers (the same fit, the same P(alive): a rerun changes
nothing). Memory per sample: k entries.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_SIZE = 10_000
_SALT = b"loyalty-bgnbd-sample:"


def sample_key(customer_id: str) -> int:
    return int.from_bytes(hashlib.sha256(_SALT + customer_id.encode()).digest()[:8], "big")


@dataclass
class Reservoir:
    """Up to `size` (key, item) pairs with the smallest keys; items are small tuples of numbers."""

    size: int = DEFAULT_SIZE
    _heap: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)  # (-key, item): a max-heap

    def offer(self, customer_id: str, item: Sequence[Any]) -> None:
        self._push(sample_key(customer_id), tuple(item))

    def _push(self, key: int, item: tuple[Any, ...]) -> None:
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, (-key, item))
        elif -self._heap[0][0] > key:
            heapq.heapreplace(self._heap, (-key, item))

    def __len__(self) -> int:
        return len(self._heap)

    def entries(self) -> list[tuple[int, tuple[Any, ...]]]:
        """(key, item) by ascending key: a fixed order, whatever the order of the offers."""
        return sorted((-k, item) for k, item in self._heap)

    def items(self) -> list[tuple[Any, ...]]:
        return [item for _, item in self.entries()]

    def merge(self, other: Reservoir) -> Reservoir:
        merged = Reservoir(min(self.size, other.size))
        for key, item in (*self.entries(), *other.entries()):
            merged._push(key, item)
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "entries": [[key, *item] for key, item in self.entries()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, size: int = DEFAULT_SIZE) -> Reservoir:
        data = data or {}
        reservoir = cls(int(data.get("size", size)))
        for key, *item in data.get("entries") or ():
            reservoir._push(int(key), tuple(item))
        return reservoir


def merge_reservoirs(parts: Iterable[Reservoir], size: int = DEFAULT_SIZE) -> Reservoir:
    total = Reservoir(size)
    for part in parts:
        total = total.merge(part)
    return total
