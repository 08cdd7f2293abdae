"""The local run's classification writes, grouped across customers (issue 19, item 6).

The classify worker writes each changed customer with its own conditional PutItem, from WORKER_THREADS
threads per segment. Against the local moto server each request costs more in HTTP, botocore and
moto's dispatch than in the write itself (py-spy of both processes during bench/local_stack.py: of the
CLI's CPU, a PutItem's botocore round trip was about two thirds of a customer's; of the server's, the
request's handling four fifths of a PutItem). GroupedSaves lets the writes that the pool's threads have
in flight at the same moment go out together, as one TransactWriteItems of at most 100 puts, each
with the condition it had alone (the version scanned). Only for the local stack: on DynamoDB a
transactional write costs twice the write units, and the AWS path keeps its PutItems.

Same outcome per customer as the PutItem: written, or VersionConflict when its version moved; a put
whose condition held is retried without the ones that failed (DynamoDB cancels the whole
transaction); anything else (a throttle, an item refused) goes back to each customer's own PutItem,
which raises what it raises. A write that moves expired points (a put plus a ledger entry in one
transaction already) keeps the adapter's own path.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from loyalty.adapters.customer_store import DynamoCustomerScan
from loyalty.adapters.dynamo_errors import cancel_reasons
from loyalty.adapters.items import profile_to_item
from loyalty.adapters.models import CustomerItem
from loyalty.domain.profile import Profile
from loyalty.ports import VersionConflict
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

GROUP_MAX = 100  # TransactWriteItems' limit on items
CONFLICT = "ConditionalCheckFailed"
NOT_FAILED = (None, "None")  # the reason DynamoDB (and moto) give the items that did not fail


@dataclass
class _Pending:
    profile: Profile
    expected_version: int
    before: Profile | None
    item: Any
    settled: bool = False
    error: BaseException | None = None


class GroupedSaves:
    """DynamoCustomerScan whose save_classification joins the saves other threads have waiting.

    Group commit: a thread queues its write, then takes the flush lock; whoever holds it sends
    everything queued (up to GROUP_MAX) and settles each write; a thread whose write was settled by
    another returns (or raises) with that outcome. Nothing waits for a timer: a write alone goes out
    alone, and a group is as large as the number of threads that queued while the last one was out.
    """

    def __init__(self, inner: DynamoCustomerScan) -> None:
        self.inner = inner
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.requests = 0  # TransactWriteItems and PutItems sent for queued writes (the tests count)

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        if self.inner.expiry_entry(profile, expected_version, before) is not None:  # its own transaction
            self.inner.save_classification(profile, expected_version, before)
            return
        pending = _Pending(profile, expected_version, before, profile_to_item(profile, expected_version + 1))
        with self._queue_lock:
            self._queue.append(pending)
        while not pending.settled:
            with self._flush_lock:
                if pending.settled:
                    break
                with self._queue_lock:
                    group, self._queue = self._queue[:GROUP_MAX], self._queue[GROUP_MAX:]
                self._flush(group)
        if pending.error is not None:
            raise pending.error

    def _flush(self, group: list[_Pending]) -> None:
        while len(group) > 1:
            self.requests += 1
            try:
                with TransactWrite(connection=CustomerItem._get_connection().connection) as tw:
                    for p in group:
                        tw.save(p.item, condition=CustomerItem.version == p.expected_version)
            except TransactWriteError as exc:
                reasons = cancel_reasons(exc)
                if len(reasons) != len(group) or not all(r == CONFLICT or r in NOT_FAILED for r in reasons):
                    break  # not (only) conditions: each write on its own, below
                for p, reason in zip(group, reasons, strict=True):
                    if reason == CONFLICT:
                        p.error, p.settled = VersionConflict(p.profile.customer_id), True
                group = [p for p in group if not p.settled]
                continue
            for p in group:
                p.settled = True
            return
        for p in group:
            self.requests += 1
            try:
                self.inner.save_classification(p.profile, p.expected_version, p.before)
            except Exception as exc:  # handed to the thread whose write it is
                p.error = exc
            p.settled = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
