"""The API functions as Lambda sees them: proxy events in, proxy responses out, over in-memory ports."""

import json

import pytest
from loyalty.api import deps
from loyalty.fakes import InMemoryStore, RecordingPublisher, TransactionView
from loyalty.service.ingest import IngestService
from loyalty.service.points import PointsService
from loyalty_tools.apigw import LocalContext, proxy_event
from loyalty_tools.gateway import load_handler

from tests.helpers import FIXED_NOW, default_programme, purchase_body, use_services, used_services


@pytest.fixture
def api():
    store = InMemoryStore()
    programme = default_programme()
    view = TransactionView(store)
    use_services(
        deps.Services(
            programme=programme,
            ingest=IngestService(store, view, RecordingPublisher(), programme, now=lambda: FIXED_NOW),
            points=PointsService(store, view, programme, now=lambda: FIXED_NOW),
        )
    )

    def call(method, path, body=None, raw=None, query=""):
        function = "ingest" if path == "/v1/transactions" else "points"
        parts = path.split("/")
        resource, params = path, None
        if len(parts) > 3 and parts[2] == "customers":
            params = {"customer_id": parts[3]}
            resource = "/v1/customers/{customer_id}" + (
                "/transactions" if path.endswith("/transactions") else ""
            )
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        event = proxy_event(method, path, resource, params, {"content-type": "application/json"}, query, data)
        result = load_handler(function)(event, LocalContext(function))
        return result["statusCode"], json.loads(result["body"])

    yield call
    use_services(None)


def test_post_then_get(api):
    status, body = api("POST", "/v1/transactions", purchase_body(amount="260.00"))
    assert status == 201 and body["tier"] == "silver" and body["points_balance"] == 260
    status, card = api("GET", "/v1/customers/C1")
    assert status == 200
    assert (card["points_balance"], card["tier"], card["next_tier"]) == (260, "silver", "gold")
    assert card["to_next_tier"] == {"spend": "340.00"}
    assert card["spend_12m"] == "260.00" and card["visits_12m"] == 1
    assert card["points_expiring"] == [{"points": 260, "expires_on": "2028-03-09"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**purchase_body(), "amount": 12.5}, "amount"),
        ({k: v for k, v in purchase_body().items() if k != "customer_id"}, "customer_id"),
        ({**purchase_body(), "channel": "fax"}, "channel"),
        ({**purchase_body(), "occurred_at": "2026-03-10T10:00:00"}, "occurred_at"),
        ({**purchase_body(), "colour": "red"}, "colour"),
        (
            {**purchase_body(), "lines": [{"sku": "a", "quantity": 0, "unit_price": "1.00"}]},
            "lines[0].quantity",
        ),
    ],
)
def test_malformed_bodies_get_400_naming_the_field(api, body, field):
    status, answer = api("POST", "/v1/transactions", body)
    assert status == 400
    assert answer["error"]["code"] == "invalid_field"
    assert answer["error"]["message"].startswith(f"{field}:")
    assert any(d["field"] == field for d in answer["error"]["details"])


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"', b"{"])
def test_non_objects_get_400(api, raw):
    status, answer = api("POST", "/v1/transactions", raw=raw)
    assert status == 400 and answer["error"]["code"] in ("invalid_json", "invalid_field")


def test_oversized_body_gets_413(api):
    status, answer = api("POST", "/v1/transactions", raw=b"{" + b" " * 70_000 + b"}")
    assert status == 413 and answer["error"]["code"] == "body_too_large"


def test_unknown_customer_is_404_with_envelope(api):
    status, answer = api("GET", "/v1/customers/NOBODY")
    assert status == 404 and answer["error"]["code"] == "customer_not_found"


def test_history_is_newest_first_and_paginated(api):
    for day in range(1, 8):
        api(
            "POST",
            "/v1/transactions",
            purchase_body(f"T{day}", occurred_at=f"2026-03-{day:02d}T10:00:00+01:00"),
        )
    seen, cursor = [], None
    while True:
        status, page = api(
            "GET", "/v1/customers/C1/transactions", query=f"limit=3{'&cursor=' + cursor if cursor else ''}"
        )
        assert status == 200
        seen += [item["transaction_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"T{d}" for d in range(7, 0, -1)]
    status, answer = api("GET", "/v1/customers/C1/transactions", query="limit=500")
    assert status == 400 and answer["error"]["message"].startswith("limit:")


def test_openapi_document_is_generated_from_the_routes():
    from loyalty.api.openapi import openapi_document
    from loyalty.api.routes import api_routes

    doc = openapi_document()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == {(r.method, r.path) for r in api_routes()}
    assert "TransactionIn" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"


def test_events_that_fail_after_the_write_answer_503_and_the_retry_delivers_them(api):
    from loyalty.ports import PublishFailed

    publisher = used_services().ingest.publisher
    delivered = []
    failures = iter([True, False])

    def flaky_publish(events):
        if next(failures):
            raise PublishFailed("bus unavailable")
        delivered.extend(events)

    publisher.publish = flaky_publish
    body = purchase_body(amount="300.00")
    status, answer = api("POST", "/v1/transactions", body)
    assert status == 503 and answer["error"]["code"] == "events_pending"
    status, answer = api("POST", "/v1/transactions", body)  # the client's retry
    assert status == 201 and answer["tier_upgrade"] == {"from": "member", "to": "silver"}
    assert [e.detail_type for e in delivered] == ["CustomerTierChanged"]
    assert api("GET", "/v1/customers/C1")[1]["points_balance"] == 300  # counted once
