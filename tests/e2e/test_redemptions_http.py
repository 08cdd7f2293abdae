"""Issue "Redemptions, vouchers and erasure", done-when, over plain HTTP against the local stack."""

import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import purchase_body


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_50_concurrent_redemptions_against_10_blocks_give_exactly_10_vouchers(stack):
    customer = new_id("C")
    status, _ = stack.call("POST", "/v1/transactions", purchase_body(new_id("T"), customer, amount="5000.00"))
    assert status == 201

    def redeem(n: int):
        return stack.call(
            "POST",
            f"/v1/customers/{customer}/redemptions",
            {"redemption_id": f"{customer}-R{n}", "points": 500},
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(redeem, range(50)))
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 10 and statuses.count(409) == 40, statuses
    # Every answer's balance is exact: each of 4500, 4000, ... 0 exactly once, never below zero.
    balances = sorted(body["points_balance"] for status, body in results if status == 201)
    assert balances == list(range(0, 5000, 500))
    assert all(body["error"]["code"] == "insufficient_points" for status, body in results if status == 409)
    status, card = stack.call("GET", f"/v1/customers/{customer}")
    assert status == 200 and card["points_balance"] == 0
    status, page = stack.call("GET", f"/v1/customers/{customer}/vouchers?limit=100")
    assert status == 200 and len(page["items"]) == 10
    assert {v["value"] for v in page["items"]} == {"5.00"} and {v["status"] for v in page["items"]} == {
        "issued"
    }
    codes = {body["voucher"]["code"] for status, body in results if status == 201}
    assert {v["code"] for v in page["items"]} == codes


def test_a_voucher_used_twice_concurrently_is_spent_once(stack):
    customer = new_id("C")
    stack.call("POST", "/v1/transactions", purchase_body(new_id("T"), customer, amount="500.00"))
    status, answer = stack.call(
        "POST", f"/v1/customers/{customer}/redemptions", {"redemption_id": new_id("R"), "points": 500}
    )
    assert status == 201
    code = answer["voucher"]["code"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: stack.call("POST", f"/v1/vouchers/{code}/use"), range(8)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * 7
    status, page = stack.call("GET", f"/v1/customers/{customer}/vouchers")
    assert [v["status"] for v in page["items"]] == ["used"]
    assert stack.call("POST", "/v1/vouchers/0000-0000-0000-0000/use")[0] == 404


def test_redemption_is_idempotent_and_validated_over_http(stack):
    customer = new_id("C")
    stack.call("POST", "/v1/transactions", purchase_body(new_id("T"), customer, amount="1000.00"))
    path = f"/v1/customers/{customer}/redemptions"
    body = {"redemption_id": new_id("R"), "points": 500}
    first = stack.call("POST", path, body)
    assert first[0] == 201 and stack.call("POST", path, body) == first
    assert stack.call("POST", path, {**body, "points": 1000})[0] == 409
    status, error = stack.call("POST", path, {"redemption_id": new_id("R"), "points": 250})
    assert status == 422 and error["error"]["message"].startswith("points:")
    status, error = stack.call("POST", path, {"redemption_id": new_id("R"), "points": "500"})
    assert status == 400 and error["error"]["message"].startswith("points:")
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["points_balance"] == 500
    assert stack.call("POST", f"/v1/customers/{new_id('C')}/redemptions", body)[0] == 404
