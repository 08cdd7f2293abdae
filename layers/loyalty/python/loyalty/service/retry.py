"""The optimistic retry every writer uses (ingest, redemptions, the importer): attempt numbers, with an
exponential backoff with jitter before each retry, so that writers racing on one customer spread out."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number `attempt` (1, 2, ...): 10 ms doubling up to 200 ms, +-50%."""
    return min(0.2, 0.005 * 2 ** min(attempt, 6)) * random.uniform(0.5, 1.5)


def attempts(
    max_attempts: int, sleep: Callable[[float], None], on_retry: Callable[[], None] = lambda: None
) -> Iterator[int]:
    """0 .. max_attempts-1; before every attempt but the first, `on_retry()` (a conflict counter) and
    a backoff. The caller `continue`s on a conflict and handles running out after the loop."""
    for attempt in range(max_attempts):
        if attempt:
            on_retry()
            sleep(backoff(attempt))
        yield attempt
