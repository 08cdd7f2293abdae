"""Issue 12 item 12, "Vouchers at a real till", over plain HTTP against the local stack: a till's retried
use, the back-office cancel and the key that reaches it (docs/api-keys.md)."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

from tests.helpers import purchase_body


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def voucher_for(stack, amount: str = "1000.00", points: int = 500) -> tuple[str, str, int]:
    """A customer who bought `amount` and redeemed `points`: (customer, code, balance left)."""
    customer = new_id("C")
    bought = stack.call("POST", "/v1/transactions", purchase_body(new_id("T"), customer, amount=amount))
    assert bought[0] == 201, bought
    status, answer = stack.call(
        "POST", f"/v1/customers/{customer}/redemptions", {"redemption_id": new_id("R"), "points": points}
    )
    assert status == 201, answer
    return customer, answer["voucher"]["code"], answer["points_balance"]


def balance(stack, customer: str) -> int:
    status, card = stack.call("GET", f"/v1/customers/{customer}")
    assert status == 200, card
    return card["points_balance"]


def vouchers(stack, customer: str) -> list[dict]:
    status, page = stack.call("GET", f"/v1/customers/{customer}/vouchers")
    assert status == 200, page
    return page["items"]


def drain(stack) -> list[dict]:
    """Every message on the local marketing queue (the bus's target), as a consumer receives it."""
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name="eu-west-1")
    out = []
    while True:
        batch = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = batch.get("Messages", [])
        if not messages:
            return out
        out += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def test_a_tills_retry_with_the_same_use_id_answers_200_with_the_first_answer(stack):
    customer, code, _ = voucher_for(stack)
    use = f"/v1/vouchers/{code}/use"
    first = stack.call("POST", use, {"use_id": "TILL7-TICKET-0042"})
    retry = stack.call("POST", use, {"use_id": "TILL7-TICKET-0042"})
    assert first[0] == 200 and first[1]["status"] == "used", first
    assert retry == first  # the same answer, used_at included: the voucher was spent once
    assert [(v["status"], v["used_at"]) for v in vouchers(stack, customer)] == [("used", first[1]["used_at"])]
    other = stack.call("POST", use, {"use_id": "TILL8-TICKET-0001"})
    assert other[0] == 409 and other[1]["error"]["code"] == "voucher_used", other
    assert stack.call("POST", use)[0] == 409  # no id at all: as before, 409
    status, error = stack.call("POST", use, {"use_id": "bad id with spaces"})
    assert status == 400 and error["error"]["details"][0]["field"] == "use_id", error


def test_concurrent_retries_of_one_use_all_answer_200_and_spend_once(stack):
    customer, code, _ = voucher_for(stack)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(
            pool.map(lambda _: stack.call("POST", f"/v1/vouchers/{code}/use", {"use_id": "U1"}), range(6))
        )
    assert {status for status, _ in results} == {200}, results
    assert len({json.dumps(body, sort_keys=True) for _, body in results}) == 1
    assert [v["status"] for v in vouchers(stack, customer)] == ["used"]


def test_the_tills_key_cannot_cancel_and_the_admin_key_gives_the_points_back_once(stack):
    customer, code, left = voucher_for(stack, amount="1000.00", points=500)
    cancel = f"/v1/vouchers/{code}/cancel"
    status, body = stack.call("POST", cancel)  # the store (till) key
    assert status == 403 and body["error"]["code"] == "back_office_only", body
    assert stack.call("POST", cancel, key=None)[0] == 403
    assert stack.call("POST", cancel, key="not-a-key")[0] == 403
    assert balance(stack, customer) == left and vouchers(stack, customer)[0]["status"] == "issued"

    drain(stack)
    first = stack.call("POST", cancel, key="admin")
    assert first[0] == 200, first
    assert first[1]["points_returned"] == 500 and first[1]["points_balance"] == left + 500
    assert first[1]["voucher"]["status"] == "cancelled" and first[1]["customer_id"] == customer
    assert balance(stack, customer) == left + 500

    retry = stack.call("POST", cancel, key="admin")
    assert retry == first  # the same answer, and the points came back once
    assert balance(stack, customer) == left + 500
    assert [v["status"] for v in vouchers(stack, customer)] == ["cancelled"]

    # 409, not 410: cancelled is a final state of the voucher like used (the till shows "not valid"),
    # while 410 stays the one answer for a voucher whose time ran out.
    status, body = stack.call("POST", f"/v1/vouchers/{code}/use", {"use_id": "U-after-cancel"})
    assert status == 409 and body["error"]["code"] == "voucher_cancelled", body
    assert balance(stack, customer) == left + 500

    events = [m for m in drain(stack) if m["detail"].get("voucher_id") == code]
    assert {m["detail-type"] for m in events} == {"VoucherCancelled"}
    assert len({m["detail"]["event_id"] for m in events}) == 1  # the retry republished the same id
    detail = events[0]["detail"]
    assert (detail["customer_id"], detail["points"], detail["value"]) == (customer, 500, "5.00")
    assert (detail["before"], detail["after"]) == ({"points_balance": left}, {"points_balance": left + 500})

    # The points are spendable again: they make a new voucher.
    status, again = stack.call(
        "POST", f"/v1/customers/{customer}/redemptions", {"redemption_id": new_id("R"), "points": 500}
    )
    assert status == 201 and again["points_balance"] == left, again


def test_a_used_voucher_cannot_be_cancelled(stack):
    customer, code, left = voucher_for(stack)
    assert stack.call("POST", f"/v1/vouchers/{code}/use", {"use_id": "U1"})[0] == 200
    status, body = stack.call("POST", f"/v1/vouchers/{code}/cancel", key="admin")
    assert status == 409 and body["error"]["code"] == "voucher_used", body
    assert balance(stack, customer) == left
    assert stack.call("POST", "/v1/vouchers/0000-0000-0000-0000/cancel", key="admin")[0] == 404


def test_a_use_and_a_cancel_racing_end_with_exactly_one_winner(stack):
    """Three uses (one use_id) and three cancels at once, in both orders of submission (a use is one
    write, a cancel two reads and a transaction: the cancels need the head start to win some rounds;
    measured 30/30 rounds to the use uses-first, 23/30 to the cancel cancels-first)."""
    for n in range(8):
        customer, code, left = voucher_for(stack)
        uses = [("POST", f"/v1/vouchers/{code}/use", {"use_id": "U1"}, "default")] * 3
        cancels = [("POST", f"/v1/vouchers/{code}/cancel", None, "admin")] * 3
        calls = uses + cancels if n % 2 else cancels + uses
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(lambda c: stack.call(c[0], c[1], c[2], key=c[3]), calls))
        by_kind = {"use": [], "cancel": []}
        for call, (status, _) in zip(calls, results, strict=True):
            by_kind["use" if call[1].endswith("/use") else "cancel"].append(status)
        (status,) = {v["status"] for v in vouchers(stack, customer)}
        if status == "used":  # the use won: every use is 200 (same use_id), every cancel 409
            assert by_kind == {"use": [200] * 3, "cancel": [409] * 3}, results
            assert balance(stack, customer) == left
        else:  # the cancel won: every cancel is 200 (a retry), every use 409, the points back once
            assert status == "cancelled", results
            assert by_kind == {"use": [409] * 3, "cancel": [200] * 3}, results
            assert balance(stack, customer) == left + 500


def test_the_admin_key_reaches_the_store_routes_too(stack):
    customer, _, left = voucher_for(stack)
    status, card = stack.call("GET", f"/v1/customers/{customer}", key="admin")
    assert status == 200 and card["points_balance"] == left
