"""Erasure over HTTP: afterwards no item in any table of the local stack holds the old customer id."""

import uuid

import boto3
from loyalty.adapters.models import CustomerItem
from loyalty.service.erasure import erasure_token
from loyalty.settings import Settings

from tests.helpers import purchase_body


def _strings(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, (str, bytes)):
        yield value if isinstance(value, str) else value.decode(errors="replace")


def _items_holding(stack, needle: str):
    client = boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name="eu-west-1")
    found = []
    for table in client.list_tables()["TableNames"]:
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                if any(needle in s for s in _strings(item)):
                    found.append((table, item))
    return found


def test_erasure_leaves_no_trace_of_the_customer_id(stack):
    customer = f"CARD-{uuid.uuid4().hex}"
    t1, t2 = f"T-{uuid.uuid4().hex[:10]}", f"T-{uuid.uuid4().hex[:10]}"
    assert stack.call("POST", "/v1/transactions", purchase_body(t1, customer, amount="800.00"))[0] == 201
    assert stack.call("POST", "/v1/transactions", purchase_body(t2, customer, amount="50.00"))[0] == 201
    ret = purchase_body(f"R-{uuid.uuid4().hex[:10]}", customer, amount="20.00", original_transaction_id=t2)
    assert stack.call("POST", "/v1/transactions", ret)[0] == 201
    status, answer = stack.call(
        "POST",
        f"/v1/customers/{customer}/redemptions",
        {"redemption_id": f"RD-{uuid.uuid4().hex[:10]}", "points": 500},
    )
    assert status == 201
    assert stack.call("POST", f"/v1/vouchers/{answer['voucher']['code']}/use")[0] == 200
    before = stack.call("GET", f"/v1/customers/{customer}")[1]
    assert _items_holding(stack, customer)  # the check can fail: the id is there before

    assert stack.call("DELETE", f"/v1/customers/{customer}")[0] == 204
    assert _items_holding(stack, customer) == []
    for path in ("", "/transactions", "/vouchers"):
        assert stack.call("GET", f"/v1/customers/{customer}{path}")[0] == 404, path
    assert stack.call("DELETE", f"/v1/customers/{customer}")[0] == 204  # a retry is harmless

    # The aggregates survive under the token; the erasure is recorded under it, with the time only.
    token = erasure_token(customer, Settings().erasure_pepper)
    anonymous = _items_holding(stack, token)
    tables = sorted({table for table, _ in anonymous})
    assert tables == sorted(
        {Settings().customers_table, Settings().transactions_table, Settings().vouchers_table,
         Settings().redemptions_table, Settings().erasures_table}
    )  # fmt: skip
    (profile,) = [item for table, item in anonymous if table == Settings().customers_table]
    assert int(profile["points_balance"]["N"]) == before["points_balance"]
    assert int(profile[CustomerItem.lifetime_spend.attr_name]["N"]) == 83_000
    (record,) = [item for table, item in anonymous if table == Settings().erasures_table]
    assert set(record) == {"token", "erased_at", "profile_key", "erasures"}
