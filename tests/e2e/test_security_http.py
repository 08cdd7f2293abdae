"""Over HTTP against the local stack: every route refuses a missing or wrong API key (403) before any
handler runs, and a body above LOYALTY_MAX_BODY_BYTES (64 KiB) is refused with 413."""

import json

import pytest
import requests
from loyalty.api.routes import Route, api_routes

ROUTES = api_routes()
LIMIT = 64 * 1024


def concrete(route: Route) -> str:
    return route.path.replace("{customer_id}", "C-sec-1").replace("{code}", "ABCD-EFGH-JKMN-PQRS")


def send(stack, route: Route, headers: dict[str, str], body: bytes | None = None) -> requests.Response:
    return stack.session.request(
        route.method, stack.api_url + concrete(route), data=body, headers=headers, timeout=60
    )


def test_every_route_is_covered():
    assert {(r.method, r.path) for r in ROUTES} >= {
        ("POST", "/v1/transactions"),
        ("GET", "/v1/customers/{customer_id}"),
        ("GET", "/v1/customers/{customer_id}/transactions"),
    }


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
@pytest.mark.parametrize(
    "key", [None, "", "wrong-key", "e2e-key "], ids=["missing", "empty", "wrong", "padded"]
)
def test_a_missing_or_wrong_api_key_is_403(stack, route, key):
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["x-api-key"] = key
    body = b'{"transaction_id": "T-sec"}' if route.method in ("POST", "PUT", "PATCH") else None
    response = send(stack, route, headers, body)
    assert response.status_code == 403, (route, response.text)
    assert "C-sec-1" not in response.text


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_the_right_key_gets_past_the_gateway(stack, route):
    key = stack.admin_api_key if route.audience == "back_office" else stack.api_key
    response = send(stack, route, {"x-api-key": key, "content-type": "application/json"}, b"{}")
    assert response.status_code != 403 and response.status_code < 500, (route, response.text)


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.audience == "back_office"], ids=lambda r: f"{r.method} {r.path}"
)
def test_the_store_key_is_403_on_every_back_office_route(stack, route):
    response = send(stack, route, {"x-api-key": stack.api_key, "content-type": "application/json"}, b"{}")
    assert response.status_code == 403, (route, response.text)
    assert response.json()["error"]["code"] == "back_office_only"


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.method in ("POST", "PUT", "PATCH")], ids=lambda r: f"{r.method} {r.path}"
)
def test_a_body_above_the_limit_is_413(stack, route):
    headers = {"x-api-key": stack.api_key, "content-type": "application/json"}
    big = json.dumps({"transaction_id": "T-big", "pad": "x" * LIMIT}).encode()
    response = send(stack, route, headers, big)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "body_too_large"
