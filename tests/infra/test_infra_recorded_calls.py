"""The real handlers under moto: every AWS call they make is recorded, attributed to the adapter method
that made it, and checked against loyalty.adapters.permissions. So the IAM grants in the template
(which come from that declaration) are what the code really needs: no more, no less."""

from __future__ import annotations

import contextvars
import functools
import importlib
import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock

import botocore.client
import pytest
from loyalty.adapters.permissions import ADAPTER_CALLS, ADAPTER_MODULES, FUNCTION_USES, accesses_of
from loyalty.settings import INGEST, POINTS, Settings

from infra import ROOT

_real_call = botocore.client.BaseClient._make_api_call
_current = contextvars.ContextVar("adapter_method", default=None)
_TRANSACT = {"Get": "GetItem", "Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
             "ConditionCheck": "ConditionCheckItem"}  # fmt: skip


def _accesses(operation: str, params: dict, resource_of: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """IAM (action, settings field, index) an API call needs."""
    if operation == "PutEvents":
        return [("events:PutEvents", resource_of[e["EventBusName"]], None) for e in params["Entries"]]
    if operation in ("TransactGetItems", "TransactWriteItems"):
        out = []
        for item in params["TransactItems"]:
            ((kind, body),) = item.items()
            out.append((f"dynamodb:{_TRANSACT[kind]}", resource_of[body["TableName"]], None))
        return out
    return [(f"dynamodb:{operation}", resource_of[params["TableName"]], params.get("IndexName"))]


@pytest.fixture
def recorded(monkeypatch) -> Iterator[list]:
    from loyalty.adapters.models import MODELS, bind_models
    from loyalty.api import deps
    from loyalty.settings import get_settings
    from moto import mock_aws

    settings = Settings()
    resource_of = {getattr(settings, field): field for field in MODELS} | {
        settings.event_bus_name: "event_bus_name"
    }
    calls: list = []

    def recording(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        for access in _accesses(operation_name, api_params, resource_of):
            calls.append((_current.get(), *access))
        return _real_call(self, operation_name, api_params)

    for method in ADAPTER_CALLS:
        cls_name, name = method.split(".")
        cls = getattr(importlib.import_module(ADAPTER_MODULES[cls_name]), cls_name)

        def wrap(fn, method=method):  # type: ignore[no-untyped-def]
            @functools.wraps(fn)
            def inner(*args, **kwargs):  # type: ignore[no-untyped-def]
                token = _current.set(_current.get() or method)
                try:
                    return fn(*args, **kwargs)
                finally:
                    _current.reset(token)

            return inner

        monkeypatch.setattr(cls, name, wrap(getattr(cls, name)))

    with mock_aws():
        import boto3

        bind_models(settings)
        for model in MODELS.values():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
        boto3.client("events").create_event_bus(Name=settings.event_bus_name)
        get_settings.cache_clear()
        deps._aws_services.cache_clear()
        deps.use_services(None)
        with mock.patch.object(botocore.client.BaseClient, "_make_api_call", recording):
            yield calls
        deps._aws_services.cache_clear()


def _handler(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"handler_{name}", ROOT / "functions" / name / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.handler


def _event(method: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {"requestId": "req-1", "stage": "prod", "httpMethod": method, "path": path},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


_CONTEXT = SimpleNamespace(
    function_name="f", memory_limit_in_mb=512, invoked_function_arn="arn:aws:lambda:eu-west-1:1:function:f",
    aws_request_id="req-1",
)  # fmt: skip


def _purchase(transaction_id: str, amount: str, **extra) -> dict:  # type: ignore[no-untyped-def]
    occurred = (datetime.now(UTC) - timedelta(days=1)).isoformat(timespec="seconds")
    return {"transaction_id": transaction_id, "customer_id": "C1", "store_id": "S1", "channel": "store",
            "occurred_at": occurred, "currency": "EUR", "amount": amount, **extra}  # fmt: skip


def test_handlers_make_exactly_the_declared_calls(recorded):
    ingest, points = _handler(INGEST), _handler(POINTS)
    big = _purchase("T1", "700.00")  # crosses the top tier: publishes CustomerTierChanged
    answers = [
        ingest(_event("POST", "/v1/transactions", big), _CONTEXT),
        ingest(_event("POST", "/v1/transactions", big), _CONTEXT),  # a retry: replayed
        ingest(
            _event("POST", "/v1/transactions", _purchase("R1", "100.00", original_transaction_id="T1")),
            _CONTEXT,
        ),
    ]
    assert [a["statusCode"] for a in answers] == [201, 201, 201], answers
    ingest_calls = list(recorded)
    recorded.clear()
    for path in ("/v1/customers/C1", "/v1/customers/C1/transactions"):
        answer = points(_event("GET", path), _CONTEXT)
        assert answer["statusCode"] == 200, answer
    points_calls = list(recorded)

    for function, calls in ((INGEST, ingest_calls), (POINTS, points_calls)):
        assert all(method is not None for method, *_ in calls), (
            f"{function}: an AWS call outside the adapters"
        )
        used = {method for method, *_ in calls}
        assert used == set(FUNCTION_USES[function]), f"{function}: FUNCTION_USES differs from what it calls"
        for method in used:
            made = {(action, resource, index) for m, action, resource, index in calls if m == method}
            declared = {
                (action, access.resource, access.index)
                for access in accesses_of([method])
                for action in access.actions
            }
            assert made == declared, method
