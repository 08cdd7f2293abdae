"""Back-office adjustments: the record (only if its id is new) and the profile's points in one
TransactWriteItems."""

from __future__ import annotations

from collections.abc import Mapping

from pynamodb.connection import Connection
from pynamodb.exceptions import GetError, TransactWriteError
from pynamodb.transactions import TransactWrite

from loyalty.adapters.dynamo_errors import cancel_reasons, raise_if_throttled, throttled
from loyalty.adapters.items import plain
from loyalty.adapters.ledger_store import ledger_item
from loyalty.adapters.models import AdjustmentItem, CustomerItem
from loyalty.domain.ledger import adjustment_entry
from loyalty.ports import Adjustment, DuplicateAdjustment, Throttled, VersionConflict


class DynamoAdjustmentStore:
    def _connection(self) -> Connection:
        return CustomerItem._get_connection().connection

    def get_adjustment(self, adjustment_id: str) -> Adjustment | None:
        try:
            item = AdjustmentItem.get(adjustment_id, consistent_read=True)
        except AdjustmentItem.DoesNotExist:
            return None
        except GetError as exc:
            raise_if_throttled(exc)
            raise
        response = item.response.as_dict() if hasattr(item.response, "as_dict") else dict(item.response or {})
        return Adjustment(item.adjustment_id, item.content_hash, item.created_at, plain(response))

    def adjust(
        self,
        adjustment: Adjustment,
        customer_id: str,
        points: int,
        lots: Mapping[str, int],
        expected_version: int,
        total_after: int | None = None,
    ) -> None:
        record = AdjustmentItem(
            adjustment_id=adjustment.adjustment_id,
            content_hash=adjustment.content_hash,
            created_at=adjustment.created_at,
        )
        record.response = dict(adjustment.response)  # type: ignore[assignment]
        try:
            with TransactWrite(connection=self._connection()) as tw:
                tw.save(record, condition=AdjustmentItem.adjustment_id.does_not_exist())
                if total_after is not None:  # the ledger's entry, after the record (its reason stays [0])
                    version = expected_version + 1
                    entry = adjustment_entry(adjustment, customer_id, points, version, total_after)
                    tw.save(ledger_item(entry))
                tw.update(
                    CustomerItem(customer_id=customer_id),
                    actions=[
                        CustomerItem.points_balance.add(points),
                        CustomerItem.points_adjusted.add(points),
                        CustomerItem.lots.set(dict(lots)),
                        CustomerItem.version.add(1),
                    ],
                    condition=(CustomerItem.version == expected_version) & (CustomerItem.erased == False),  # noqa: E712 (a DynamoDB condition, not a test)
                )
        except TransactWriteError as exc:
            reasons = cancel_reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise DuplicateAdjustment(adjustment.adjustment_id) from exc
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise VersionConflict(customer_id) from exc
            if throttled(exc, reasons):
                raise Throttled(str(exc)) from exc
            raise
