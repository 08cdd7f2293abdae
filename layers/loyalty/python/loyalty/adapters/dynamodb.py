"""DynamoDB adapters for the customer and transaction stores (pynamodb)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import GetError, TransactGetError, TransactWriteError, UpdateError
from pynamodb.transactions import TransactGet, TransactWrite

from loyalty.adapters.models import CustomerItem, TransactionItem
from loyalty.domain.profile import MonthStats, Profile
from loyalty.ports import (
    DuplicateTransaction,
    HistoryPage,
    ReturnedUpdate,
    StoredTransaction,
    Throttled,
    VersionConflict,
)

_PROFILE_FIELDS = (
    "customer_id", "version", "tier", "tier_since", "points_balance", "points_earned", "points_redeemed",
    "points_expired", "first_purchase_at", "last_purchase_at", "folded_purchase_days", "lifetime_spend",
    "lifetime_purchases", "segment", "rfm", "favourite_category", "classified_period", "erased",
)  # fmt: skip


def months_to_item(months: dict[str, MonthStats] | Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for month, stats in months.items():
        bucket: dict[str, Any] = {"s": stats.spend, "v": stats.visits, "p": stats.points, "d": stats.days}
        if stats.categories:
            bucket["c"] = dict(stats.categories)
        out[month] = bucket
    return out


def months_from_item(raw: Any) -> dict[str, MonthStats]:
    data = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
    return {
        month: MonthStats(
            spend=int(b.get("s", 0)),
            visits=int(b.get("v", 0)),
            points=int(b.get("p", 0)),
            days=int(b.get("d", 0)),
            categories={k: int(v) for k, v in (b.get("c") or {}).items()},
        )
        for month, b in data.items()
    }


def profile_to_item(profile: Profile, version: int) -> CustomerItem:
    values = {name: getattr(profile, name) for name in _PROFILE_FIELDS}
    values["version"] = version
    item = CustomerItem(**values)
    item.months = months_to_item(profile.months)  # type: ignore[assignment]
    return item


def profile_from_item(item: CustomerItem) -> Profile:
    values = {name: getattr(item, name) for name in _PROFILE_FIELDS}
    for name in ("version", "points_balance", "points_earned", "points_redeemed", "points_expired",
                 "folded_purchase_days", "lifetime_spend", "lifetime_purchases"):  # fmt: skip
        values[name] = int(values[name] or 0)
    values["erased"] = bool(values["erased"])
    return Profile(months=months_from_item(item.months), **values)


_TXN_FIELDS = (
    "transaction_id", "customer_id", "kind", "occurred_at", "occurred_key", "currency", "amount", "body_hash",
    "store_id", "channel", "returned", "points_rate", "points_earned", "original_transaction_id",
)  # fmt: skip


def transaction_to_item(txn: StoredTransaction) -> TransactionItem:
    item = TransactionItem(**{name: getattr(txn, name) for name in _TXN_FIELDS})
    item.categories = dict(txn.categories)  # type: ignore[assignment]
    item.response = dict(txn.response)  # type: ignore[assignment]
    return item


def transaction_from_item(item: TransactionItem) -> StoredTransaction:
    values = {name: getattr(item, name) for name in _TXN_FIELDS}
    for name in ("amount", "returned", "points_rate", "points_earned"):
        values[name] = int(values[name] or 0)
    categories = (
        item.categories.as_dict() if hasattr(item.categories, "as_dict") else dict(item.categories or {})
    )
    response = item.response.as_dict() if hasattr(item.response, "as_dict") else dict(item.response or {})
    return StoredTransaction(
        categories={k: int(v) for k, v in categories.items()}, response=_plain(response), **values
    )


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal or float; answers hold only ints."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if type(value).__name__ == "Decimal":
        return int(value) if value == int(value) else str(value)
    return value


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


_HISTORY_KEYS = ("customer_id", "occurred_key", "transaction_id")
_VOUCHER_KEYS = ("customer_id", "issued_key", "code")


def decode_cursor(
    cursor: str, customer_id: str | None = None, keys: tuple[str, ...] = _HISTORY_KEYS
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


_THROTTLE_CODES = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded")


def _raise_if_throttled(exc: GetError | TransactGetError) -> None:
    """A read the SDK could not get through for throttling: Throttled (retried, or a 503), not a 500."""
    if exc.cause_response_code in _THROTTLE_CODES:
        raise Throttled(str(exc)) from exc


class Labelled:
    """A TransactWrite whose items carry labels. DynamoDB gives a cancellation's reasons in request
    order, and pynamodb sends condition checks, then deletes, then puts, then updates, whatever the
    order they were added in: reasons are read by item (label), never by position."""

    ORDER = ("condition_check", "delete", "put", "update")

    def __init__(self, tw: TransactWrite) -> None:
        self.tw = tw
        self.labels: dict[str, list[str]] = {kind: [] for kind in self.ORDER}

    def save(self, label: str, model: Any, condition: Any = None) -> None:
        self.tw.save(model, condition=condition)
        self.labels["put"].append(label)

    def delete(self, label: str, model: Any, condition: Any = None) -> None:
        self.tw.delete(model, condition=condition)
        self.labels["delete"].append(label)

    def update(self, label: str, model: Any, actions: list[Any], condition: Any = None) -> None:
        self.tw.update(model, actions=actions, condition=condition)
        self.labels["update"].append(label)

    def reasons(self, exc: TransactWriteError) -> dict[str, str]:
        """{label: reason code} for the items that caused the cancellation."""
        order = [label for kind in self.ORDER for label in self.labels[kind]]
        codes = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
        return {label: code for label, code in zip(order, codes, strict=False) if code and code != "None"}


class DynamoCustomerStore:
    def get(self, customer_id: str) -> Profile | None:
        try:
            item = CustomerItem.get(customer_id, consistent_read=True)
        except CustomerItem.DoesNotExist:
            return None
        except GetError as exc:
            _raise_if_throttled(exc)
            raise
        return profile_from_item(item)


class DynamoTransactionStore:
    def _connection(self) -> Connection:
        return CustomerItem._get_connection().connection

    def get(self, transaction_id: str) -> StoredTransaction | None:
        try:
            return transaction_from_item(TransactionItem.get(transaction_id, consistent_read=True))
        except TransactionItem.DoesNotExist:
            return None
        except GetError as exc:
            _raise_if_throttled(exc)
            raise

    def get_with_profile(
        self, transaction_id: str, customer_id: str
    ) -> tuple[StoredTransaction | None, Profile | None]:
        try:
            with TransactGet(connection=self._connection()) as tg:
                txn_future = tg.get(TransactionItem, transaction_id)
                profile_future = tg.get(CustomerItem, customer_id)
        except TransactGetError as exc:
            _raise_if_throttled(exc)
            raise
        txn = _result_or_none(txn_future)
        profile = _result_or_none(profile_future)
        return (
            transaction_from_item(txn) if txn is not None else None,
            profile_from_item(profile) if profile is not None else None,
        )

    def get_many(self, transaction_ids: Iterable[str]) -> dict[str, StoredTransaction]:
        ids = list(dict.fromkeys(transaction_ids))
        out: dict[str, StoredTransaction] = {}
        for start in range(0, len(ids), 100):
            for item in TransactionItem.batch_get(ids[start : start + 100], consistent_read=True):
                out[item.transaction_id] = transaction_from_item(item)
        return out

    def record(
        self,
        transaction: StoredTransaction,
        profile: Profile,
        expected_version: int | None,
        returned: ReturnedUpdate | None = None,
    ) -> None:
        self.record_chunk([transaction], profile, expected_version, [returned] if returned else [])

    def record_chunk(
        self,
        transactions: Sequence[StoredTransaction],
        profile: Profile,
        expected_version: int | None,
        returned: Sequence[ReturnedUpdate] = (),
    ) -> None:
        profile_condition = (
            CustomerItem.customer_id.does_not_exist()
            if expected_version is None
            else CustomerItem.version == expected_version
        )
        tx = Labelled(TransactWrite(connection=self._connection()))
        try:
            with tx.tw:
                for transaction in transactions:
                    tx.save(
                        f"transaction:{transaction.transaction_id}",
                        transaction_to_item(transaction),
                        condition=TransactionItem.transaction_id.does_not_exist(),
                    )
                for move in returned:
                    tx.update(
                        f"returned:{move.transaction_id}",
                        TransactionItem(transaction_id=move.transaction_id),
                        actions=[TransactionItem.returned.set(move.new)],
                        condition=(TransactionItem.returned == move.expected),
                    )
                tx.save(
                    "profile",
                    profile_to_item(profile, (expected_version or 0) + 1),
                    condition=profile_condition,
                )
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            for label, code in reasons.items():
                if label.startswith("transaction:") and code == "ConditionalCheckFailed":
                    raise DuplicateTransaction(label.partition(":")[2]) from exc
            if {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons.values()):
                raise VersionConflict(profile.customer_id) from exc
            if _throttled(exc, list(reasons.values())):
                raise Throttled(str(exc)) from exc
            raise

    def history(self, customer_id: str, limit: int, cursor: str | None) -> HistoryPage:
        start = decode_cursor(cursor, customer_id) if cursor else None
        results = TransactionItem.by_customer.query(
            customer_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = [transaction_from_item(item) for item in results]
        return HistoryPage(items, encode_cursor(results.last_evaluated_key))


def _result_or_none(future: Any) -> Any:
    try:
        return future.get()
    except (TransactionItem.DoesNotExist, CustomerItem.DoesNotExist):
        return None


# ---------------------------------------------------------------------------------------------
# The monthly reclassification: a parallel-scan segment page by page, and conditional updates of the
# classification fields only (UpdateItem: the buckets are never rewritten, ingest's writes are kept).

_CLASSIFICATION_FIELDS = (
    "segment", "rfm", "favourite_category", "classified_period", "tier", "tier_since", "points_balance",
    "points_expired",
)  # fmt: skip


_INT_FIELDS = (
    "version", "points_balance", "points_earned", "points_redeemed", "points_expired", "folded_purchase_days",
    "lifetime_spend", "lifetime_purchases",
)  # fmt: skip
_TEXT_FIELDS = (
    "customer_id", "tier", "tier_since", "first_purchase_at", "last_purchase_at", "segment", "rfm",
    "favourite_category", "classified_period",
)  # fmt: skip


def _number(value: dict[str, Any] | None) -> int:
    if not value or "N" not in value:
        return 0
    text = value["N"]
    try:
        return int(text)
    except ValueError:  # "12.0", "1E+3": still a whole number in this table
        return int(Decimal(text))


def _text(value: dict[str, Any] | None) -> str | None:
    return value.get("S") if value else None


def profile_from_raw(raw: dict[str, Any]) -> Profile:
    """A Profile straight from a scan's low-level item (the reclassification's hot loop: no pynamodb
    model per item). Same result as profile_from_item(CustomerItem.from_raw_data(raw))."""
    values: dict[str, Any] = {name: _text(raw.get(name)) for name in _TEXT_FIELDS}
    values.update({name: _number(raw.get(name)) for name in _INT_FIELDS})
    erased = raw.get("erased")
    values["erased"] = bool(erased.get("BOOL")) if erased else False
    months: dict[str, MonthStats] = {}
    for month, wrapped in ((raw.get("months") or {}).get("M") or {}).items():
        bucket = wrapped.get("M") or {}
        categories = (bucket.get("c") or {}).get("M") or {}
        months[month] = MonthStats(
            spend=_number(bucket.get("s")),
            visits=_number(bucket.get("v")),
            points=_number(bucket.get("p")),
            days=_number(bucket.get("d")),
            categories={k: _number(v) for k, v in categories.items()},
        )
    return Profile(months=months, **values)


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
        actions = [CustomerItem.version.set(expected_version + 1)]
        for name in _CLASSIFICATION_FIELDS:
            attribute = getattr(CustomerItem, name)
            value = getattr(profile, name)
            if before is not None and getattr(before, name) == value:
                continue  # unchanged: not in the update expression
            actions.append(attribute.remove() if value is None else attribute.set(value))
        try:
            CustomerItem._get_connection().update_item(
                profile.customer_id,
                actions=actions,
                condition=CustomerItem.version == expected_version,
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                raise VersionConflict(profile.customer_id) from exc
            if exc.cause_response_code in ("ThrottlingException", "ProvisionedThroughputExceededException"):
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


# ---------------------------------------------------------------------------------------------
# Redemptions, vouchers and erasure


def _voucher_from_item(item: Any) -> Any:
    from loyalty.ports import Voucher

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
    )


def _voucher_to_item(voucher: Any) -> Any:
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
    )


def _cancel_reasons(exc: TransactWriteError) -> list[str | None]:
    return [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]


def _throttled(exc: Any, reasons: list[str | None]) -> bool:
    return exc.cause_response_code in ("ThrottlingException", "ProvisionedThroughputExceededException") or (
        "ThrottlingError" in reasons or "ProvisionedThroughputExceeded" in reasons
    )


class DynamoRedemptionStore:
    def _connection(self) -> Connection:
        return CustomerItem._get_connection().connection

    def get_redemption(self, redemption_id: str) -> Any:
        from loyalty.adapters.models import RedemptionItem
        from loyalty.ports import Redemption

        try:
            item = RedemptionItem.get(redemption_id, consistent_read=True)
        except RedemptionItem.DoesNotExist:
            return None
        response = item.response.as_dict() if hasattr(item.response, "as_dict") else dict(item.response or {})
        return Redemption(
            item.redemption_id, item.customer_id, int(item.points), item.created_at, item.voucher_code,
            _plain(response),
        )  # fmt: skip

    def redeem(self, redemption: Any, voucher: Any, expected_version: int) -> None:
        from loyalty.adapters.models import RedemptionItem, VoucherItem
        from loyalty.ports import DuplicateRedemption

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
            with TransactWrite(connection=self._connection()) as tw:
                tw.save(record, condition=RedemptionItem.redemption_id.does_not_exist())
                tw.update(
                    CustomerItem(customer_id=redemption.customer_id),
                    actions=[
                        CustomerItem.points_balance.add(-points),
                        CustomerItem.points_redeemed.add(points),
                        CustomerItem.version.add(1),
                    ],
                    condition=(CustomerItem.version == expected_version)
                    & (CustomerItem.points_balance >= points)
                    & (CustomerItem.erased == False),  # noqa: E712 (a DynamoDB condition, not a test)
                )
                tw.save(_voucher_to_item(voucher), condition=VoucherItem.code.does_not_exist())
        except TransactWriteError as exc:
            reasons = _cancel_reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise DuplicateRedemption(redemption.redemption_id) from exc
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise VersionConflict(redemption.customer_id) from exc
            if _throttled(exc, reasons):
                raise Throttled(str(exc)) from exc
            raise

    def vouchers(self, customer_id: str, limit: int, cursor: str | None) -> Any:
        from loyalty.adapters.models import VoucherItem
        from loyalty.ports import VoucherPage

        start = decode_cursor(cursor, customer_id, _VOUCHER_KEYS) if cursor else None
        results = VoucherItem.by_customer.query(
            customer_id, scan_index_forward=False, limit=limit, page_size=limit, last_evaluated_key=start
        )
        items = [_voucher_from_item(item) for item in results]
        return VoucherPage(items, encode_cursor(results.last_evaluated_key))

    def use_voucher(self, code: str, used_at: str, use_id: str | None = None) -> Any:
        from pynamodb.exceptions import UpdateError

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
            if exc.cause_response_code in ("TransactionConflictException", *_THROTTLE_CODES):
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
            _raise_if_throttled(exc)
            raise

    def cancel_voucher(
        self, voucher: Any, cancelled_at: str, expected_version: int, balance_after: int
    ) -> Any:
        from dataclasses import replace

        from loyalty.adapters.models import VoucherItem
        from loyalty.ports import VoucherNotUsable

        points = voucher.points
        try:
            with TransactWrite(connection=self._connection()) as tw:
                # The voucher and the points in one transaction: a cancel that loses to a use (or to
                # another cancel) gives nothing back, and one that wins gives the points back once.
                tw.update(
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
                tw.update(
                    CustomerItem(customer_id=voucher.customer_id),
                    actions=[
                        CustomerItem.points_balance.add(points),
                        CustomerItem.points_redeemed.add(-points),
                        CustomerItem.version.add(1),
                    ],
                    condition=(CustomerItem.version == expected_version) & (CustomerItem.erased == False),  # noqa: E712 (a DynamoDB condition, not a test)
                )
        except TransactWriteError as exc:
            reasons = _cancel_reasons(exc)
            if reasons and reasons[0] == "ConditionalCheckFailed":  # the caller re-reads the voucher
                raise VoucherNotUsable(voucher.code, None) from exc
            if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                raise VersionConflict(voucher.customer_id) from exc
            if _throttled(exc, reasons):
                raise Throttled(str(exc)) from exc
            raise
        return replace(
            voucher, status="cancelled", cancelled_at=cancelled_at, balance_after_cancel=balance_after
        )


class DynamoErasureStore:
    def _connection(self) -> Connection:
        return CustomerItem._get_connection().connection

    def mark_erased(self, customer_id: str) -> Profile | None:
        from pynamodb.exceptions import UpdateError

        item = CustomerItem(customer_id=customer_id)
        try:
            item.update(
                actions=[CustomerItem.erased.set(True), CustomerItem.version.add(1)],
                condition=CustomerItem.customer_id.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        return profile_from_item(item)

    def erasure(self, token: str) -> Any:
        from loyalty.adapters.models import ErasureItem
        from loyalty.ports import ErasureRecord

        try:
            item = ErasureItem.get(token, consistent_read=True)
        except ErasureItem.DoesNotExist:
            return None
        return ErasureRecord(item.token, item.erased_at, item.profile_key, int(item.erasures or 0))

    def anonymise_vouchers(self, customer_id: str, token: str) -> int:
        from loyalty.adapters.models import RedemptionItem, VoucherItem

        done = 0
        for chunk in _chunks(VoucherItem.by_customer.query(customer_id), SWEEP_BATCH // 2):
            updates = []
            for item in chunk:
                redemption = RedemptionItem(redemption_id=item.redemption_id)
                updates.append((redemption, [RedemptionItem.customer_id.set(token)],
                                RedemptionItem.customer_id == customer_id))  # fmt: skip
                updates.append(
                    (item, [VoucherItem.customer_id.set(token)], VoucherItem.customer_id == customer_id)
                )
            done += _update_all(self._connection(), updates) // 2
        return done

    def anonymise_transactions(self, customer_id: str, token: str) -> int:
        done = 0
        # Only what the rewrite needs: the key, and whether the stored answer names the customer.
        found = TransactionItem.by_customer.query(
            customer_id, attributes_to_get=["transaction_id", "customer_id", "response"]
        )
        for chunk in _chunks(found, SWEEP_BATCH):
            updates = []
            for item in chunk:
                response = (
                    item.response.as_dict()
                    if hasattr(item.response, "as_dict")
                    else dict(item.response or {})
                )
                actions = [
                    TransactionItem.customer_id.set(token),
                    # The body hash was taken over a body holding the customer id: drop it. A retry of the
                    # transaction now answers 409 rather than replaying an answer that named the customer.
                    TransactionItem.body_hash.set("erased"),
                ]
                if "customer_id" in response:
                    actions.append(TransactionItem.response["customer_id"].set(token))  # type: ignore[index]
                updates.append((item, actions, TransactionItem.customer_id == customer_id))
            done += _update_all(self._connection(), updates)
        return done

    def finish(self, profile: Profile, profile_key: str, token: str, erased_at: str) -> None:
        from dataclasses import replace

        from loyalty.adapters.models import ErasureItem
        from loyalty.ports import ProfileKeyTaken

        anonymous = profile_to_item(replace(profile, customer_id=profile_key, erased=True), 1)
        tx = Labelled(TransactWrite(connection=self._connection()))
        try:
            with tx.tw:
                tx.save("anonymous", anonymous, condition=CustomerItem.customer_id.does_not_exist())
                tx.delete(
                    "profile",
                    CustomerItem(customer_id=profile.customer_id),
                    condition=(CustomerItem.version == profile.version) & (CustomerItem.erased == True),  # noqa: E712
                )
                tx.update(
                    "erasure",
                    ErasureItem(token=token),
                    actions=[
                        ErasureItem.erased_at.set(erased_at),
                        ErasureItem.profile_key.set(profile_key),
                        ErasureItem.erasures.add(1),
                    ],
                )
        except TransactWriteError as exc:
            reasons = tx.reasons(exc)
            # The profile first: written to meanwhile (or gone), the whole erasure goes round again.
            if reasons.get("profile") in ("ConditionalCheckFailed", "TransactionConflict"):
                raise VersionConflict(profile.customer_id) from exc
            if reasons.get("anonymous") == "ConditionalCheckFailed":
                raise ProfileKeyTaken(profile_key) from exc
            if "TransactionConflict" in reasons.values():
                raise VersionConflict(profile.customer_id) from exc
            if _throttled(exc, list(reasons.values())):
                raise Throttled(str(exc)) from exc
            raise


# Erasure rewrites a long history in TransactWriteItems of this many updates (DynamoDB's maximum), so
# 2,000 transactions are 20 calls, well inside API Gateway's 29 seconds, rather than 2,000.
SWEEP_BATCH = 100


def _chunks(items: Any, size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _update_all(connection: Connection, updates: list[tuple[Any, list[Any], Any]]) -> int:
    """Conditional UpdateItems in one transaction; if any condition fails (an item an earlier pass or a
    lagging index already handed over), the batch goes one by one. Returns how many were updated."""
    if not updates:
        return 0
    try:
        with TransactWrite(connection=connection) as tw:
            for item, actions, condition in updates:
                tw.update(item, actions=actions, condition=condition)
    except TransactWriteError as exc:
        reasons = _cancel_reasons(exc)
        if _throttled(exc, reasons):
            raise Throttled(str(exc)) from exc
        if not {"ConditionalCheckFailed", "TransactionConflict"} & set(reasons):
            raise
        return sum(_update_if(item, actions, condition) for item, actions, condition in updates)
    return len(updates)


def _update_if(item: Any, actions: list[Any], condition: Any) -> int:
    """UpdateItem under a condition; 0 when the condition fails (already done by an earlier pass)."""
    from pynamodb.exceptions import UpdateError

    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return 0
        raise
    return 1
