"""Service wiring for the Lambdas: built once per container, on first use; tests can replace it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from loyalty.programme import Programme, load_programme
from loyalty.settings import get_settings


@dataclass
class Services:
    programme: Programme
    ingest: Any
    points: Any
    extra: dict[str, Any]


_override: Services | None = None


def use_services(services: Services | None) -> None:
    """Tests and the local tools inject fakes or other wiring here."""
    global _override
    _override = services


@lru_cache(maxsize=1)
def programme() -> Programme:
    return load_programme(get_settings().programme_file)


@lru_cache(maxsize=1)
def _aws_services() -> Services:
    from loyalty.adapters.dynamodb import DynamoCustomerStore, DynamoTransactionStore
    from loyalty.adapters.eventbridge import EventBridgePublisher
    from loyalty.adapters.models import bind_models
    from loyalty.service.ingest import IngestService
    from loyalty.service.points import PointsService

    settings = get_settings()
    bind_models(settings)
    customers, transactions = DynamoCustomerStore(), DynamoTransactionStore()
    publisher = EventBridgePublisher(settings.event_bus_name, settings.event_source)
    prog = programme()
    return Services(
        programme=prog,
        ingest=IngestService(customers, transactions, publisher, prog),
        points=PointsService(customers, transactions, prog),
        extra={"customers": customers, "transactions": transactions, "publisher": publisher},
    )


def services() -> Services:
    return _override or _aws_services()
