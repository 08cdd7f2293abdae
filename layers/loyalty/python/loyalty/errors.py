"""The refusals every layer may raise: the API's error envelope (ApiError) and the ports' exceptions
(what an adapter raises for a condition that failed). Imports nothing of the package at run time, so
domain, services, adapters and the API all import it downwards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loyalty.ports import Voucher


class ApiError(Exception):
    """An error the API answers with its envelope: {"error": {"code", "message", "details"}}."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def field_error(name: str, message: str, status: int = 400) -> ApiError:
    return ApiError(status, "invalid_field", f"{name}: {message}", [{"field": name, "message": message}])


def all_of(errors: list[ApiError]) -> ApiError:
    """Several refusals of one request as one answer: every field in `details`; 400 if any is 400."""
    if len(errors) == 1:
        return errors[0]
    details = [detail for error in errors for detail in error.details or []]
    status = 400 if any(error.status == 400 for error in errors) else errors[0].status
    more = f" (and {len(details) - 1} more: see details)"
    return ApiError(status, "invalid_field", errors[0].message + more, details)


# ---------------------------------------------------------------------------------------------
# The ports' exceptions (loyalty.ports): raised by the adapters and the fakes alike


class VersionConflict(Exception):
    """The profile changed since it was read: read again and retry."""


class DuplicateTransaction(Exception):
    """A transaction with this id is already stored."""


class PublishFailed(RuntimeError):
    """Some events could not be published after retries. Raised after the write they follow
    committed: the caller retries the same request, which replays the answer and republishes."""


class Throttled(Exception):
    """The store asked us to slow down (throttling or a transient transaction conflict)."""


class DuplicateRedemption(Exception):
    """A redemption with this id is already stored."""


class DuplicateAdjustment(Exception):
    """An adjustment with this id is already stored."""


class VoucherNotUsable(Exception):
    """The conditional use failed: `voucher` is what is stored now (None: no such code)."""

    def __init__(self, code: str, voucher: Voucher | None) -> None:
        super().__init__(code)
        self.voucher = voucher


class ProfileKeyTaken(Exception):
    """The anonymous profile's key is already used (the card was erased before, reused, erased again)."""


class DuplicateInteraction(Exception):
    """An interaction with this id is already stored."""


class RunAlreadyStarted(Exception):
    """A run (a Step Functions execution) of this name was started before: its first start stands."""
