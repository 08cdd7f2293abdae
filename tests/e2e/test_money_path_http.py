"""Issue "Money path", done-when, over plain HTTP against the local stack."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import requests

from tests.helpers import purchase_body


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_purchase_posted_twice_counts_once(stack):
    customer, txn = new_id("C"), new_id("T")
    body = purchase_body(txn, customer, amount="42.50")
    first = stack.call("POST", "/v1/transactions", body)
    second = stack.call("POST", "/v1/transactions", body)
    assert first[0] == second[0] == 201 and first[1] == second[1]
    status, card = stack.call("GET", f"/v1/customers/{customer}")
    assert status == 200 and card["points_balance"] == 42
    assert stack.call("POST", "/v1/transactions", {**body, "amount": "43.00"})[0] == 409


def test_balance_and_tier_follow_the_programme(stack):
    customer = new_id("C")
    for n, amount in enumerate(["200.00", "60.00", "100.00"]):
        status, answer = stack.call(
            "POST",
            "/v1/transactions",
            purchase_body(
                new_id("T"), customer, amount=amount, occurred_at=f"2026-10-0{n + 1}T10:00:00+02:00"
            ),
        )
        assert status == 201
    # 200 @x1, 60 @x1 (crosses 250 EUR: silver from now on), 100 @x2
    assert answer["tier"] == "silver" and answer["points_balance"] == 200 + 60 + 200
    status, card = stack.call("GET", f"/v1/customers/{customer}")
    assert (card["tier"], card["points_balance"], card["spend_12m"], card["visits_12m"]) == (
        "silver",
        460,
        "360.00",
        3,
    )
    assert card["next_tier"] == "gold" and card["to_next_tier"] == {"spend": "240.00"}
    status, history = stack.call("GET", f"/v1/customers/{customer}/transactions?limit=2")
    assert status == 200 and len(history["items"]) == 2 and history["next_cursor"]


def test_malformed_body_names_the_field(stack):
    status, answer = stack.call(
        "POST", "/v1/transactions", {**purchase_body(new_id("T"), new_id("C")), "amount": "ten"}
    )
    assert status == 400 and answer["error"]["message"].startswith("amount:")
    status, answer = stack.call("POST", "/v1/transactions", b"{not json")
    assert status == 400 and answer["error"]["code"] == "invalid_json"


def test_missing_or_wrong_key_is_403(stack):
    body = purchase_body(new_id("T"), new_id("C"))
    assert stack.call("POST", "/v1/transactions", body, key=None)[0] == 403
    assert stack.call("POST", "/v1/transactions", body, key="wrong")[0] == 403
    assert stack.call("GET", "/v1/customers/C1", key=None)[0] == 403


def test_twenty_concurrent_purchases_leave_an_exact_balance(stack):
    customer = new_id("C")
    amounts = [f"{10 + n}.99" for n in range(20)]  # 10.99 .. 29.99 -> 10 .. 29 points at x1

    def post(amount):
        with requests.Session() as session:
            response = session.post(
                stack.api_url + "/v1/transactions",
                json=purchase_body(new_id("T"), customer, amount=amount),
                headers={"x-api-key": stack.api_key},
                timeout=60,
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(post, amounts))
    assert statuses == [201] * 20
    _, card = stack.call("GET", f"/v1/customers/{customer}")
    assert card["visits_12m"] == 20
    assert card["spend_12m"] == str(sum(Decimal(a) for a in amounts))
    # 20 purchases crossing 250 EUR: points depend on when silver (x2) began, but the balance
    # must equal the sum of what each answer said, and history must hold exactly 20 items.
    _, history = stack.call("GET", f"/v1/customers/{customer}/transactions?limit=100")
    assert len(history["items"]) == 20
    assert card["points_balance"] == sum(item["points_earned"] for item in history["items"])


def test_openapi_and_docs_are_served(stack):
    document = requests.get(stack.api_url + "/openapi.json", timeout=10).json()
    assert "/v1/transactions" in document["paths"]
    assert requests.get(stack.api_url + "/docs", timeout=10).status_code == 200
