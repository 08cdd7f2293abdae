"""Issue 11 (hardening) over HTTP against the local stack: every bad input refused with a 4xx that names
the field in words and writes nothing; ids that round-trip; returns and tiers that add up.

Each test failed on the code before the fix (see the issue's closing note)."""

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from loyalty.service.erasure import erasure_token
from loyalty.settings import Settings

from tests.helpers import purchase_body

REGEX_CHARS = re.compile(r"[\^\$\[\]\{\}\\]")  # a message in words holds none of these


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def post(stack, body, **kw):
    return stack.call("POST", "/v1/transactions", body, **kw)


def recent(days: int = 1) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")


def return_of(purchase: dict, amount: str, days_ago: int) -> dict:
    """A return of (part of) a purchase, dated `days_ago` days back."""
    return purchase_body(
        new_id("R"),
        purchase["customer_id"],
        amount=amount,
        occurred_at=recent(days_ago),
        original_transaction_id=purchase["transaction_id"],
    )


def transaction_exists(stack, transaction_id: str) -> bool:
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name="eu-west-1")
    item = client.get_item(
        TableName=Settings().transactions_table, Key={"transaction_id": {"S": transaction_id}}
    )
    return "Item" in item


def assert_in_words(answer, field: str | None = None):
    error = answer["error"]
    said = error["message"].split(": ", 1)[-1]  # after the field's name (lines[0].sku: ...)
    assert not REGEX_CHARS.search(said), error["message"]
    for detail in error["details"] or []:
        assert not REGEX_CHARS.search(detail["message"]), detail
    if field is not None:
        assert error["message"].startswith(f"{field}:"), error["message"]
        assert field in [d["field"] for d in error["details"]], error["details"]


# -- 1. a body that is not one JSON object ---------------------------------------------------------


@pytest.mark.parametrize("shape", ["array", "string", "number", "null"])
def test_a_body_that_is_not_a_json_object_is_400_and_writes_nothing(stack, shape):
    customer = new_id("C")
    first, second = purchase_body(new_id("T"), customer), purchase_body(new_id("T"), customer)
    raw = {"array": [first, second], "string": "purchase", "number": 12, "null": None}[shape]
    status, answer = post(stack, json.dumps(raw))
    assert (status, answer["error"]["code"]) == (400, "invalid_json"), answer
    assert not transaction_exists(stack, first["transaction_id"])
    assert not transaction_exists(stack, second["transaction_id"])
    assert stack.call("GET", f"/v1/customers/{customer}")[0] == 404


# -- 3. the anonymous key space -----------------------------------------------------------------


def test_no_route_reaches_an_erased_customer_through_the_anonymous_key(stack):
    customer = new_id("CARD")
    purchase = purchase_body(new_id("T"), customer, amount="600.00", occurred_at=recent())
    assert post(stack, purchase)[0] == 201
    assert stack.call("DELETE", f"/v1/customers/{customer}")[0] == 204
    token = erasure_token(customer, Settings().erasure_pepper)  # locally the pepper is public

    for method, path in [
        ("GET", f"/v1/customers/{token}"),
        ("GET", f"/v1/customers/{token}/transactions"),
        ("GET", f"/v1/customers/{token}/vouchers"),
        ("DELETE", f"/v1/customers/{token}"),
    ]:
        status, answer = stack.call(method, path)
        assert status == 400, (method, path, answer)
        assert_in_words(answer, "customer_id")
    status, answer = stack.call(
        "POST", f"/v1/customers/{token}/redemptions", {"redemption_id": new_id("R"), "points": 500}
    )
    assert status == 400 and answer["error"]["details"][0]["field"] == "customer_id", answer
    new_purchase = purchase_body(new_id("T"), token, occurred_at=recent())
    refund = purchase_body(
        new_id("T"),
        token,
        amount="600.00",
        occurred_at=recent(),
        original_transaction_id=purchase["transaction_id"],
    )
    for body in (new_purchase, refund):
        status, answer = post(stack, body)
        assert status == 400, answer
        assert_in_words(answer, "customer_id")
        assert not transaction_exists(stack, body["transaction_id"])


# -- 4. dates -----------------------------------------------------------------------------------


def test_a_return_dated_before_its_purchase_is_422(stack):
    customer = new_id("C")
    purchase = purchase_body(new_id("T"), customer, amount="40.00", occurred_at=recent(2))
    assert post(stack, purchase)[0] == 201
    early = return_of(purchase, "10.00", 3)
    status, answer = post(stack, early)
    assert status == 422, answer
    assert_in_words(answer, "occurred_at")
    assert "before the purchase" in answer["error"]["message"]
    assert not transaction_exists(stack, early["transaction_id"])
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["points_balance"] == 40


@pytest.mark.parametrize(
    ("occurred_at", "status"),
    [
        ("1900-01-01T00:00:00+00:00", 422),
        ("1970-01-01T00:00:00Z", 422),
        (1_770_000_000, 400),  # a Unix number
        ("1770000000", 400),
        ("2026-03-10", 400),  # a date without a time
        ("2026-03-10T10:00:00", 400),  # no offset
        ("2026-03-10 10:00:00+01:00", 400),  # not ISO 8601 (space)
        ("0001-01-01T00:30:00+01:00", 400),  # overflows when moved to UTC: was a 500
        ("9999-12-31T23:30:00-01:00", 400),
    ],
)
def test_occurred_at_is_an_iso_8601_string_with_an_offset_within_the_programme_bound(
    stack, occurred_at, status
):
    customer = new_id("C")
    body = purchase_body(new_id("T"), customer, occurred_at=occurred_at)
    got, answer = post(stack, body)
    assert got == status, answer
    assert_in_words(answer, "occurred_at")
    assert not transaction_exists(stack, body["transaction_id"])
    assert stack.call("GET", f"/v1/customers/{customer}")[0] == 404  # no first_purchase_at of 1900


def test_earning_max_age_days_bounds_how_old_a_transaction_can_be(stack):
    customer = new_id("C")
    old = purchase_body(new_id("T"), customer, occurred_at=recent(731))
    status, answer = post(stack, old)
    assert status == 422 and "730 days" in answer["error"]["message"], answer
    assert post(stack, purchase_body(new_id("T"), customer, occurred_at=recent(729)))[0] == 201


# -- 5. ids that round-trip ---------------------------------------------------------------------


def test_an_id_with_a_slash_is_refused_on_write(stack):
    for field in ("customer_id", "transaction_id", "store_id"):
        body = purchase_body(new_id("T"), new_id("C"), occurred_at=recent())
        body[field] = body[field][:4] + "/" + body[field][4:]
        status, answer = post(stack, body)
        assert status == 400, answer
        assert_in_words(answer, field)
    status, answer = stack.call(
        "POST", f"/v1/customers/{new_id('C')}/redemptions", {"redemption_id": "R/1", "points": 500}
    )
    assert status == 400 and answer["error"]["details"][0]["field"] == "redemption_id"


def test_a_url_encoded_customer_id_is_decoded_as_api_gateway_does(stack):
    customer = f"C:{uuid.uuid4().hex[:8]}@shop.example"
    assert post(stack, purchase_body(new_id("T"), customer, amount="12.00", occurred_at=recent()))[0] == 201
    encoded = customer.replace(":", "%3A").replace("@", "%40")
    status, card = stack.call("GET", f"/v1/customers/{encoded}")
    assert status == 200 and card["customer_id"] == customer, card
    status, page = stack.call("GET", f"/v1/customers/{encoded}/transactions")
    assert status == 200 and len(page["items"]) == 1
    status, answer = stack.call("GET", "/v1/customers/a%2Fb")  # "a/b" once decoded: not an id
    assert status == 400, answer
    assert stack.call("DELETE", f"/v1/customers/{encoded}")[0] == 204
    assert stack.call("GET", f"/v1/customers/{encoded}")[0] == 404


# -- 6. a tier reversed by the return of the purchase that earned it ----------------------------


@contextmanager
def tier_events_of(stack, customer: str) -> Iterator[Callable[[], list[dict]]]:
    """A queue of its own receiving this customer's CustomerTierChanged events (an EventBridge rule
    on the stack's bus), so that other tests reading the shared marketing queue change nothing."""
    events = boto3.client("events", endpoint_url=stack.moto_url, region_name="eu-west-1")
    sqs = boto3.client("sqs", endpoint_url=stack.moto_url, region_name="eu-west-1")
    name, bus = new_id("tiers"), Settings().event_bus_name
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"detail-type": ["CustomerTierChanged"], "detail": {"customer_id": [customer]}}
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tiers", "Arn": arn}])

    def received() -> list[dict]:
        found = []
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
            found += [json.loads(message["Body"])["detail"] for message in batch]
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        return found

    try:
        yield received
    finally:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["tiers"])
        events.delete_rule(Name=name, EventBusName=bus)
        sqs.delete_queue(QueueUrl=queue_url)


def test_returning_the_purchase_that_upgraded_the_customer_reverses_the_upgrade(stack):
    customer = new_id("C")
    purchase = purchase_body(new_id("T"), customer, amount="250.00", occurred_at=recent(2))
    refund = return_of(purchase, "250.00", 1)
    with tier_events_of(stack, customer) as received:
        status, answer = post(stack, purchase)
        assert status == 201 and answer["tier_upgrade"] == {"from": "member", "to": "silver"}
        status, answer = post(stack, refund)
        assert status == 201, answer
        assert answer["tier"] == "member" and answer["tier_downgrade"] == {"from": "silver", "to": "member"}
        # The same return again replays its answer and sends the event again, same cause (at least once).
        assert post(stack, refund)[1]["tier_downgrade"] == {"from": "silver", "to": "member"}
        changes = received()
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["tier"] == "member"
    status, answer = post(stack, purchase_body(new_id("T"), customer, amount="10.00", occurred_at=recent()))
    assert status == 201 and answer["points_earned"] == 10  # member's rate, not silver's 20
    directions = sorted(
        (e["direction"], e["cause"], e["before"]["tier"], e["after"]["tier"]) for e in changes
    )
    assert directions == [
        ("downgrade", refund["transaction_id"], "silver", "member"),
        ("downgrade", refund["transaction_id"], "silver", "member"),
        ("upgrade", purchase["transaction_id"], "member", "silver"),
    ], changes


def test_a_partial_return_that_keeps_the_threshold_keeps_the_tier(stack):
    customer = new_id("C")
    purchase = purchase_body(new_id("T"), customer, amount="300.00", occurred_at=recent(2))
    assert post(stack, purchase)[1]["tier"] == "silver"
    refund = return_of(purchase, "50.00", 1)
    status, answer = post(stack, refund)
    assert status == 201 and answer["tier"] == "silver" and "tier_downgrade" not in answer


# -- 7. the crashes that were 500s --------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"[" * 30_000, b'{"amount": ' + b"9" * 5_000 + b"}", b'{"amount": NaN}', b'{"a": 1e999999}'],
    ids=["deep-nesting", "5000-digit-integer", "nan", "huge-float"],
)
def test_bodies_that_crashed_the_parser_are_400(stack, raw):
    status, answer = post(stack, raw)
    assert status == 400, answer
    assert answer["error"]["code"] in ("invalid_json", "invalid_field")


def test_a_content_type_other_than_json_is_415(stack):
    body = json.dumps(purchase_body(new_id("T"), new_id("C"), occurred_at=recent()))
    response = stack.session.post(
        stack.api_url + "/v1/transactions",
        data=body,
        headers={"x-api-key": stack.api_key, "content-type": "application/problem+json"},
        timeout=60,
    )
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize("route", ["transactions", "vouchers"])
def test_forged_and_malformed_cursors_are_400(stack, route):
    customer = new_id("C")
    assert post(stack, purchase_body(new_id("T"), customer, amount="600.00", occurred_at=recent()))[0] == 201
    forged = [
        "%%%",
        "not-base64!",
        _b64([1, 2]),
        _b64({"occurred_key": {"N": "1"}}),
        _b64({"customer_id": {"S": customer}, "occurred_key": {"S": ""}, "transaction_id": {"S": "x"}}),
        _b64({"customer_id": {"S": customer}, "issued_key": {"BOOL": True}, "code": {"S": "x"}}),
        _b64({"customer_id": {"S": customer}, "occurred_key": {"S": "x"}, "transaction_id": {"M": {}}}),
        _b64(
            {"customer_id": {"S": "someone-else"}, "occurred_key": {"S": "x"}, "transaction_id": {"S": "y"}}
        ),
    ]
    for cursor in forged:
        status, answer = stack.call("GET", f"/v1/customers/{customer}/{route}", params={"cursor": cursor})
        assert status == 400, (cursor, answer)
        assert answer["error"]["details"][0]["field"] == "cursor"


# -- 8. honest answers --------------------------------------------------------------------------


def test_duplicate_keys_are_refused(stack):
    customer = new_id("C")
    body = json.dumps(purchase_body(new_id("T"), customer, amount="10.00", occurred_at=recent()))
    status, answer = post(stack, body[:-1] + ', "amount": "9999.00"}')
    assert status == 400 and "amount" in answer["error"]["message"], answer
    assert stack.call("GET", f"/v1/customers/{customer}")[0] == 404


@pytest.mark.parametrize("quantity", ["2", 1.0, 2.5, True])
def test_integers_are_strict(stack, quantity):
    line = {"sku": "A1", "quantity": quantity, "unit_price": "1.00"}
    body = purchase_body(new_id("T"), new_id("C"), amount="2.00", occurred_at=recent(), lines=[line])
    status, answer = post(stack, body)
    assert status == 400, answer
    assert_in_words(answer, "lines[0].quantity")
    assert "whole number" in answer["error"]["message"]


def test_points_are_strict_integers_too(stack):
    for points in ("500", 500.0):
        status, answer = stack.call(
            "POST",
            f"/v1/customers/{new_id('C')}/redemptions",
            {"redemption_id": new_id("R"), "points": points},
        )
        assert status == 400 and answer["error"]["details"][0]["field"] == "points", answer


def test_the_body_limit_counts_bytes_not_characters(stack):
    # 40,000 two-byte characters: 80,000 bytes, above the 64 KiB limit, although under it in characters.
    body = purchase_body(new_id("T"), new_id("C"), occurred_at=recent(), lines=[{"sku": "é" * 40_000}])
    status, answer = post(stack, json.dumps(body, ensure_ascii=False).encode())
    assert status == 413 and answer["error"]["code"] == "body_too_large", answer


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lines[0].sku", "A\u00001"),
        ("lines[0].category", "food\u0007"),
        ("store_id", "S\u00001"),
        ("customer_id", "C\n1"),
    ],
)
def test_nul_and_control_characters_are_refused(stack, field, value):
    customer = new_id("C")
    body = purchase_body(
        new_id("T"),
        customer,
        occurred_at=recent(),
        lines=[{"sku": "A1", "quantity": 1, "unit_price": "10.00"}],
    )
    if field.startswith("lines"):
        body["lines"][0][field.split(".")[1]] = value
    else:
        body[field] = value
    status, answer = post(stack, body)
    assert status == 400, answer
    assert_in_words(answer, field)
    assert stack.call("GET", f"/v1/customers/{customer}")[0] == 404


def test_messages_are_in_words_and_details_list_every_bad_field(stack):
    body = {
        **purchase_body(new_id("T"), new_id("C"), occurred_at=recent()),
        "amount": "12,50",
        "channel": "fax",
        "colour": "red",
        "lines": [{"sku": "A", "quantity": "2", "unit_price": "1.005.0"}],
    }
    status, answer = post(stack, body)
    assert status == 400
    assert_in_words(answer, "channel")  # the first bad field in the document's order
    assert "and 4 more" in answer["error"]["message"]
    said = {d["field"]: d["message"] for d in answer["error"]["details"]}
    assert list(said) == ["channel", "amount", "colour", "lines[0].quantity", "lines[0].unit_price"]
    assert (
        said["amount"]
        == 'must be a positive decimal string with a point and at most 4 decimals, e.g. "42.50"'
    )
    assert said["channel"] == "must be one of 'store', 'web' or 'app'"


def test_business_checks_are_listed_together_once_the_body_is_well_formed(stack):
    body = purchase_body(new_id("T"), new_id("C"), occurred_at="1990-01-01T00:00:00+01:00", currency="USD")
    body["amount"] = "10.005"  # three decimals: EUR has two
    status, answer = post(stack, body)
    assert status == 400, answer
    assert {d["field"] for d in answer["error"]["details"]} == {"occurred_at", "currency", "amount"}
    assert_in_words(answer)


def test_the_openapi_document_states_every_bound(stack):
    document = stack.session.get(stack.api_url + "/openapi.json", timeout=60).json()
    schemas = document["components"]["schemas"]
    txn = schemas["TransactionIn"]["properties"]
    amount = re.compile(txn["amount"]["pattern"])
    assert amount.match("42.50") and amount.match("0.01")
    assert not amount.match("0") and not amount.match("0.00")  # amount > 0
    assert txn["currency"]["enum"] == ["EUR"]
    assert txn["occurred_at"]["format"] == "date-time" and "730" in txn["occurred_at"]["description"]
    for field in ("transaction_id", "customer_id", "store_id"):
        assert txn[field]["maxLength"] == 128 and txn[field]["minLength"] == 1
        assert "/" not in txn[field]["pattern"]
    assert schemas["RedemptionIn"]["properties"]["points"]["multipleOf"] == 500
    line = schemas["LineIn"]["properties"]
    assert line["quantity"]["minimum"] == 1 and line["quantity"]["maximum"] == 100_000
    assert "pattern" in line["sku"] and line["sku"]["maxLength"] == 64
    for path, operations in document["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "customer_id":
                    assert parameter["schema"]["pattern"] == txn["customer_id"]["pattern"], path
    assert "65536 bytes" in document["info"]["description"]
