"""The customers table: the consistent read of a card (DynamoCustomerStore) and the monthly run's
parallel scan with conditional classification updates (DynamoCustomerScan)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import GetError, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from loyalty.adapters.dynamo_errors import THROTTLE_CODES, cancel_reasons, raise_if_throttled, throttled
from loyalty.adapters.items import profile_from_item, profile_from_raw, profile_to_item
from loyalty.adapters.ledger_store import ledger_item
from loyalty.adapters.models import CustomerItem, batch_get
from loyalty.domain.ledger import expiry_of
from loyalty.domain.profile import Profile
from loyalty.ports import (
    Throttled,
    VersionConflict,
)


class DynamoCustomerStore:
    def get(self, customer_id: str) -> Profile | None:
        try:
            item = CustomerItem.get(customer_id, consistent_read=True)
        except CustomerItem.DoesNotExist:
            return None
        except GetError as exc:
            raise_if_throttled(exc)
            raise
        return profile_from_item(item)

    def get_profiles(self, customer_ids: Iterable[str]) -> dict[str, Profile]:
        items = batch_get(CustomerItem, list(dict.fromkeys(customer_ids)))
        return {item.customer_id: profile_from_item(item) for item in items}


# ---------------------------------------------------------------------------------------------
# The monthly reclassification: a parallel-scan segment page by page, and a conditional put of each
# changed profile at the version scanned. A put, not an UpdateItem of the changed fields: DynamoDB bills
# both by the whole item's size, a put writes the item in its current form (customer_form.py: an old
# item is rewritten in the new one), and the version condition keeps every write of ingest, redemptions
# and members (each bumps the version: the run's put then conflicts, re-reads and recomputes).


class DynamoCustomerScan:
    """CustomerScan over the customers table. `page_size` None means DynamoDB's 1 MB pages;
    `consistent_read` for an export that must see every write acknowledged before it started."""

    def __init__(self, page_size: int | None = None, consistent_read: bool = False) -> None:
        self.page_size = page_size
        self.consistent_read = consistent_read
        self.store = DynamoCustomerStore()

    def scan_segment(self, segment: int, total_segments: int) -> Iterator[list[Profile]]:
        connection = CustomerItem._get_connection()
        start: dict[str, Any] | None = None
        while True:
            data = connection.scan(
                segment=segment,
                total_segments=total_segments,
                limit=self.page_size,
                exclusive_start_key=start,
                consistent_read=self.consistent_read or None,
            )
            yield [profile_from_raw(raw) for raw in data.get("Items", [])]
            start = data.get("LastEvaluatedKey")
            if not start:
                return

    def save_classification(
        self, profile: Profile, expected_version: int, before: Profile | None = None
    ) -> None:
        item = profile_to_item(profile, expected_version + 1)
        expiry = self.expiry_entry(profile, expected_version, before)
        if expiry is not None:  # lots expired: the put and the ledger's entry in one transaction
            self._save_with_entry(item, expected_version, ledger_item(expiry))
            return
        try:
            item.save(condition=CustomerItem.version == expected_version)
        except PutError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise VersionConflict(profile.customer_id) from exc
            if exc.cause_response_code in THROTTLE_CODES:
                raise Throttled(str(exc)) from exc
            raise

    @staticmethod
    def expiry_entry(profile: Profile, expected_version: int, before: Profile | None) -> Any:
        """The ledger entry a classification write carries (lots expired), else None."""
        if before is None:
            return None
        at = datetime.now(UTC).isoformat(timespec="seconds")
        return expiry_of(before, profile, expected_version + 1, at)

    def _save_with_entry(self, item: CustomerItem, expected_version: int, entry: Any) -> None:
        customer_id = item.customer_id
        try:
            with TransactWrite(connection=CustomerItem._get_connection().connection) as tw:
                tw.save(item, condition=CustomerItem.version == expected_version)
                tw.save(entry)
        except TransactWriteError as exc:
            reasons = cancel_reasons(exc)
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise VersionConflict(customer_id) from exc
            if throttled(exc, reasons):
                raise Throttled(str(exc)) from exc
            raise

    def get(self, customer_id: str) -> Profile | None:
        return self.store.get(customer_id)

    def approximate_count(self) -> int | None:
        """DescribeTable's ItemCount (refreshed by DynamoDB about every 6 hours), to size the fan-out."""
        try:
            return int(CustomerItem.describe_table().get("ItemCount", 0))
        except Exception:  # sizing is a hint: without it the run uses the default segment count
            return None
