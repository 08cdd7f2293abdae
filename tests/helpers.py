"""Builders shared by the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loyalty.programme import Programme, load_programme

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PROGRAMME = REPO / "programmes" / "default.json"
SEPHORA_PROGRAMME = REPO / "programmes" / "sephora-style.yaml"


def default_programme() -> Programme:
    return load_programme(DEFAULT_PROGRAMME)


def sephora_programme() -> Programme:
    return load_programme(SEPHORA_PROGRAMME)


def purchase_body(
    transaction_id: str = "T1",
    customer_id: str = "C1",
    amount: str = "10.00",
    occurred_at: str = "2026-03-10T10:00:00+01:00",
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "transaction_id": transaction_id,
        "customer_id": customer_id,
        "store_id": "S1",
        "channel": "store",
        "occurred_at": occurred_at,
        "currency": "EUR",
        "amount": amount,
    }
    body.update(extra)
    return body


FIXED_NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def transaction_request(**kw: Any):  # type: ignore[no-untyped-def]
    """A validated TransactionRequest, as the API layer hands it to the ingest service."""
    from loyalty.service.ingest import TransactionRequest

    body = purchase_body(**kw)
    return TransactionRequest(
        transaction_id=body["transaction_id"],
        customer_id=body["customer_id"],
        store_id=body["store_id"],
        channel=body["channel"],
        occurred_at=datetime.fromisoformat(body["occurred_at"]),
        currency=body["currency"],
        amount=body["amount"],
        lines=body.get("lines") or [],
        original_transaction_id=body.get("original_transaction_id"),
        raw=body,
        referral_code=body.get("referral_code"),
    )


def use_services(services: Any) -> None:
    """The API functions' services for a test (None: the real wiring again), through Powertools'
    dependency_overrides on each API function's resolver, as loaded by the local gateway."""
    from loyalty.api import deps
    from loyalty.api.routes import FUNCTION_ROUTERS
    from loyalty_tools.gateway import load_handler

    for function in FUNCTION_ROUTERS:
        overrides = load_handler(function).resolver.dependency_overrides
        if services is None:
            overrides.pop(deps.services, None)
        else:
            overrides[deps.services] = lambda: services


def used_services() -> Any:
    """The services use_services() gave the API functions."""
    from loyalty.api import deps
    from loyalty_tools.gateway import load_handler

    return load_handler("ingest").resolver.dependency_overrides[deps.services]()
