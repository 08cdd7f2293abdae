"""DynamoDB's refusals translated once: the throttling codes (one list), the cancellation reasons
of a TransactWriteItems read by item label, never by position."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import GetError, TransactGetError, TransactWriteError
from pynamodb.transactions import TransactWrite

from loyalty.ports import (
    Throttled,
)

# The one list: a call's error codes, and the per-item reasons of a cancelled TransactWriteItems.
THROTTLE_CODES = ("ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded")
THROTTLE_REASONS = ("ThrottlingError", "ProvisionedThroughputExceeded")


def raise_if_throttled(exc: GetError | TransactGetError) -> None:
    """A read the SDK could not get through for throttling: Throttled (retried, or a 503), not a 500."""
    if exc.cause_response_code in THROTTLE_CODES:
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


def cancel_reasons(exc: TransactWriteError) -> list[str | None]:
    return [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]


def throttled(exc: Any, reasons: list[str | None]) -> bool:
    return exc.cause_response_code in THROTTLE_CODES or bool(set(reasons) & set(THROTTLE_REASONS))
