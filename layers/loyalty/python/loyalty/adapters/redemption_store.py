"""Redemptions and vouchers: the redemption with its points and voucher in one transaction, the
voucher list, a till's use and a back-office cancel."""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import GetError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from loyalty.adapters.cursors import VOUCHER_KEYS, decode_cursor, encode_cursor
from loyalty.adapters.dynamo_errors import (
    THROTTLE_CODES,
    Labelled,
    raise_if_throttled,
    throttled,
)
from loyalty.adapters.items import (
    plain,
)
from loyalty.adapters.ledger_store import ledger_item
from loyalty.adapters.models import CustomerItem
from loyalty.domain.ledger import cancel_entry, redemption_entry
from loyalty.ports import (
    DuplicateRedemption,
    Redemption,
    Throttled,
    VersionConflict,
    Voucher,
    VoucherNotUsable,
    VoucherPage,
)


def _voucher_from_item(item: Any) -> Any:

    return Voucher(
        code=item.code,
        customer_id=item.customer_id,
        redemption_id=item.redemption_id,
        points=int(item.points),
        value=int(item.value),
        currency=item.currency,
        issued_at=item.issued_at,
        expires_on=item.expires_on,
        expires_at=item.expires_at,
        status=item.status,
        used_at=item.used_at,
        use_id=item.use_id,
        cancelled_at=item.cancelled_at,
        balance_after_cancel=None if item.balance_after_cancel is None else int(item.balance_after_cancel),
        kind=item.kind or "value",
        percent=None if item.percent is None else int(item.percent),
        cause=item.cause or "redemption",
    )


def voucher_to_item(voucher: Any) -> Any:
    from loyalty.adapters.models import VoucherItem

    return VoucherItem(
        code=voucher.code,
        customer_id=voucher.customer_id,
        issued_key=voucher.issued_key,
        redemption_id=voucher.redemption_id,
        points=voucher.points,
        value=voucher.value,
        currency=voucher.currency,
        issued_at=voucher.issued_at,
        expires_on=voucher.expires_on,
        expires_at=voucher.expires_at,
        status=voucher.status,
        used_at=voucher.used_at,
        # only what differs from a redemption's voucher is written (no bytes added to those)
        kind=None if voucher.kind == "value" else voucher.kind,
        percent=voucher.percent,
        cause=None if voucher.cause == "redemption" else voucher.cause,
    )


def _lots_set(lots: Any) -> list[Any]:
    """SET lots to the points' new spread (domain/lots.py), when the caller moved them."""
    return [] if lots is None else [CustomerItem.lots.set(dict(lots))]


class DynamoRedemptionStore:
    def _connection(self) -> Connection:
        return CustomerItem._get_connection().connection

    def get_redemption(self, redemption_id: str) -> Any:
        from loyalty.adapters.models import RedemptionItem

        try:
            item = RedemptionItem.get(redemption_id, consistent_read=True)
        except RedemptionItem.DoesNotExist:
            return None
        response = item.response.as_dict() if hasattr(item.response, "as_dict") else dict(item.response or {})
        return Redemption(
            item.redemption_id, item.customer_id, int(item.points), item.created_at, item.voucher_code,
            plain(response),
        )  # fmt: skip

    def redeem(
        self,
        redemption: Any,
        voucher: Any,
        expected_version: int,
        lots: Any = None,
        total_after: int | None = None,
        more_vouchers: Any = (),
    ) -> None:
        from loyalty.adapters.models import RedemptionItem, VoucherItem

        record = RedemptionItem(
            redemption_id=redemption.redemption_id,
            customer_id=redemption.customer_id,
            points=redemption.points,
            created_at=redemption.created_at,
            voucher_code=redemption.voucher_code,
        )
        record.response = dict(redemption.response)  # type: ignore[assignment]
        points = redemption.points
        try:
            tx = Labelled(TransactWrite(connection=self._connection()))
            with tx.tw:
                tx.save("redemption", record, condition=RedemptionItem.redemption_id.does_not_exist())
                tx.update(
                    "profile",
                    CustomerItem(customer_id=redemption.customer_id),
                    actions=[
                        CustomerItem.points_balance.add(-points),
                        CustomerItem.points_redeemed.add(points),
                        CustomerItem.version.add(1),
                        *_lots_set(lots),
                    ],
                    condition=(CustomerItem.version == expected_version)
                    & (CustomerItem.points_balance >= points)
                    & (CustomerItem.erased == False),  # noqa: E712 (a DynamoDB condition, not a test)
                )
                tx.save("voucher", voucher_to_item(voucher), condition=VoucherItem.code.does_not_exist())
                for index, more in enumerate(more_vouchers):  # the season's other blocks
                    tx.save(
                        f"voucher:{index}", voucher_to_item(more), condition=VoucherItem.code.does_not_exist()
                    )
                if total_after is not None:  # the ledger's entry, in the same transaction (no condition)
                    entry = redemption_entry(redemption, expected_version + 1, total_after)
                    tx.save("ledger", ledger_item(entry))
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            if reasons.get("redemption") == "ConditionalCheckFailed":
                raise DuplicateRedemption(redemption.redemption_id) from exc
            codes = list(reasons.values())
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                raise VersionConflict(redemption.customer_id) from exc
            if throttled(exc, codes):
                raise Throttled(str(exc)) from exc
            raise

    def vouchers(self, customer_id: str, limit: int, cursor: str | None) -> Any:
        from loyalty.adapters.models import VoucherItem

        start = decode_cursor(cursor, customer_id, VOUCHER_KEYS) if cursor else None
        results = VoucherItem.by_customer.query(
            customer_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = [_voucher_from_item(item) for item in results]
        return VoucherPage(items, encode_cursor(results.last_evaluated_key))

    def use_voucher(self, code: str, used_at: str, use_id: str | None = None) -> Any:

        from loyalty.adapters.models import VoucherItem
        from loyalty.ports import VoucherNotUsable

        item = VoucherItem(code=code)
        actions = [VoucherItem.status.set("used"), VoucherItem.used_at.set(used_at)]
        if use_id is not None:
            actions.append(VoucherItem.use_id.set(use_id))
        try:
            item.update(
                actions=actions,
                condition=(VoucherItem.status == "issued") & (VoucherItem.expires_at > used_at),
            )
        except UpdateError as exc:
            if exc.cause_response_code in ("TransactionConflictException", *THROTTLE_CODES):
                # A cancel's transaction holds the voucher right now: retry, one of the two wins.
                raise Throttled(str(exc)) from exc
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            current = self.get_voucher(code)
            raise VoucherNotUsable(code, current) from exc
        return _voucher_from_item(item)

    def get_voucher(self, code: str) -> Any:
        from loyalty.adapters.models import VoucherItem

        try:
            return _voucher_from_item(VoucherItem.get(code, consistent_read=True))
        except VoucherItem.DoesNotExist:
            return None
        except GetError as exc:
            raise_if_throttled(exc)
            raise

    def cancel_voucher(
        self,
        voucher: Any,
        cancelled_at: str,
        expected_version: int,
        balance_after: int,
        lots: Any = None,
        total_after: int | None = None,
    ) -> Any:
        from dataclasses import replace

        from loyalty.adapters.models import VoucherItem

        points = voucher.points
        try:
            tx = Labelled(TransactWrite(connection=self._connection()))
            with tx.tw:
                # The voucher and the points in one transaction: a cancel that loses to a use (or to
                # another cancel) gives nothing back, and one that wins gives the points back once.
                tx.update(
                    "voucher",
                    VoucherItem(code=voucher.code),
                    actions=[
                        VoucherItem.status.set("cancelled"),
                        VoucherItem.cancelled_at.set(cancelled_at),
                        VoucherItem.balance_after_cancel.set(balance_after),
                    ],
                    condition=(VoucherItem.status == "issued")
                    & (VoucherItem.expires_at > cancelled_at)
                    & (VoucherItem.customer_id == voucher.customer_id),
                )
                tx.update(
                    "profile",
                    CustomerItem(customer_id=voucher.customer_id),
                    actions=[
                        CustomerItem.points_balance.add(points),
                        CustomerItem.points_redeemed.add(-points),
                        CustomerItem.version.add(1),
                        *_lots_set(lots),
                    ],
                    condition=(CustomerItem.version == expected_version) & (CustomerItem.erased == False),  # noqa: E712 (a DynamoDB condition, not a test)
                )
                if total_after is not None:  # the points given back, in the ledger (no condition)
                    given = cancel_entry(voucher, expected_version + 1, total_after, cancelled_at)
                    tx.save("ledger", ledger_item(given))
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)  # by item: pynamodb sends the ledger's put before the updates
            if reasons.get("voucher") == "ConditionalCheckFailed":  # the caller re-reads the voucher
                raise VoucherNotUsable(voucher.code, None) from exc
            codes = list(reasons.values())
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                raise VersionConflict(voucher.customer_id) from exc
            if throttled(exc, codes):
                raise Throttled(str(exc)) from exc
            raise
        return replace(
            voucher, status="cancelled", cancelled_at=cancelled_at, balance_after_cancel=balance_after
        )
