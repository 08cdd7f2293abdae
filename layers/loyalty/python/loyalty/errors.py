"""The refusals every layer may raise: the API's error envelope. Imports nothing of the package, so
domain, services, adapters and the API all import it downwards."""

from __future__ import annotations

from typing import Any


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
