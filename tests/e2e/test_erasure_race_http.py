"""Erasure racing writes, over HTTP against the local stack (issue 11 item 2, issue 10 item 7).

Whatever runs beside it, the DELETE ends in 204 and nothing of the erased customer is left under the
card number; purchases that land while it runs are either swept into the anonymous profile or refused
(409 customer_erased), never half-recorded. A history of 2,000 transactions is erased in one request."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import requests
from loyalty.adapters.models import CustomerItem
from loyalty.service.erasure import erasure_token
from loyalty.settings import Settings

from tests.e2e.test_erasure_http import _items_holding
from tests.helpers import purchase_body


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _dynamodb(stack):
    return boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name="eu-west-1")


def _request(stack, method: str, path: str, body=None):
    """One request on its own connection (threads do not share a session)."""
    response = requests.request(
        method, stack.api_url + path, json=body, headers={"x-api-key": stack.api_key}, timeout=120
    )
    return response.status_code, (response.json() if response.content else None)


def _transactions_of(stack, customer_id: str) -> set[str]:
    client = _dynamodb(stack)
    found = set()
    for page in client.get_paginator("scan").paginate(TableName=Settings().transactions_table):
        for item in page["Items"]:
            if item["customer_id"]["S"] == customer_id:
                found.add(item["transaction_id"]["S"])
    return found


def _profile(stack, key: str) -> dict | None:
    item = _dynamodb(stack).get_item(
        TableName=Settings().customers_table, Key={"customer_id": {"S": key}}, ConsistentRead=True
    )
    return item.get("Item")


def test_erasure_racing_30_concurrent_purchases_ends_in_204_and_loses_nothing(stack):
    card = new_id("CARD")
    seeded = [new_id("T") for _ in range(3)]
    for transaction_id in seeded:
        assert (
            stack.call("POST", "/v1/transactions", purchase_body(transaction_id, card, amount="20.00"))[0]
            == 201
        )
    racing = [new_id("T") for _ in range(30)]
    start = threading.Barrier(31)

    def purchase(transaction_id: str):
        start.wait()
        return transaction_id, _request(
            stack, "POST", "/v1/transactions", purchase_body(transaction_id, card)
        )

    def erase():
        start.wait()
        return _request(stack, "DELETE", f"/v1/customers/{card}")

    with ThreadPoolExecutor(max_workers=31) as pool:
        first = [pool.submit(purchase, t) for t in racing[:15]]
        deletion = pool.submit(erase)  # in the middle of the burst
        rest = [pool.submit(purchase, t) for t in racing[15:]]
        purchases = [f.result() for f in first + rest]
        status, answer = deletion.result()

    assert status == 204, answer  # was 409 erasure_conflict ("erased too many times")
    accepted = {t for t, (code, _) in purchases if code == 201}
    refused = {t for t, (code, body) in purchases if code == 409}
    assert accepted | refused == set(racing), [p for p in purchases if p[1][0] not in (201, 409)]
    assert all(body["error"]["code"] == "customer_erased" for t, (code, body) in purchases if t in refused)

    token = erasure_token(card, Settings().erasure_pepper)
    under_token, under_card = _transactions_of(stack, token), _transactions_of(stack, card)
    # The erased customer's history is all under the token, none of it under the card number.
    assert set(seeded) <= under_token and not set(seeded) & under_card
    # Every accepted purchase is in exactly one place; a refused one is nowhere.
    assert under_token | under_card == set(seeded) | accepted and not under_token & under_card
    # Each profile counts exactly the transactions it holds: nothing half-moved.
    assert int(_profile(stack, token)[CustomerItem.lifetime_purchases.attr_name]["N"]) == len(under_token)
    fresh = _profile(stack, card)  # a purchase after the erasure finished starts a new card holder
    assert len(under_card) == (int(fresh[CustomerItem.lifetime_purchases.attr_name]["N"]) if fresh else 0)

    # And a DELETE once the burst is over leaves nothing at all under the card number.
    assert _request(stack, "DELETE", f"/v1/customers/{card}")[0] == 204
    assert _items_holding(stack, card) == []


def _seed_history(stack, card: str, count: int) -> None:
    """`count` stored purchases for the card, written straight into the table (the setup, not the
    subject: going through the API would take minutes)."""
    from loyalty.adapters.items import transaction_to_item
    from loyalty.ports import StoredTransaction

    client = _dynamodb(stack)
    prefix = new_id("H")  # not the card number: transaction ids are kept by the erasure
    requests_ = []
    for n in range(count):
        transaction_id = f"{prefix}-{n:05d}"
        stored = StoredTransaction(
            transaction_id=transaction_id,
            customer_id=card,
            kind="purchase",
            occurred_at=f"2026-03-{1 + n % 28:02d}T10:00:00+01:00",
            occurred_key=f"2026-03-{1 + n % 28:02d}T09:00:00Z#{transaction_id}",
            currency="EUR",
            amount=1000,
            body_hash="seeded",
            store_id="S1",
            channel="store",
            points_rate=1,
            points_earned=10,
            response={"transaction_id": transaction_id, "customer_id": card, "points_earned": 10},
        )
        requests_.append({"PutRequest": {"Item": transaction_to_item(stored).serialize()}})
    for i in range(0, len(requests_), 25):
        batch = {Settings().transactions_table: requests_[i : i + 25]}
        while batch:
            batch = client.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}


def test_a_purchase_posted_mid_sweep_is_refused_and_2000_transactions_are_erased_in_one_request(stack):
    card = new_id("CARD")
    assert stack.call("POST", "/v1/transactions", purchase_body(new_id("T"), card, amount="50.00"))[0] == 201
    _seed_history(stack, card, 2_000)
    assert len(_transactions_of(stack, card)) == 2_001

    result: dict = {}

    def erase():
        started = time.monotonic()
        result["answer"] = _request(stack, "DELETE", f"/v1/customers/{card}")
        result["seconds"] = time.monotonic() - started

    deletion = threading.Thread(target=erase)
    deletion.start()
    while deletion.is_alive():  # wait for step 1 (the profile marked erased), then write into the sweep
        profile = _profile(stack, card)
        if profile and profile.get("erased", {}).get("BOOL"):
            break
        time.sleep(0.005)
    assert deletion.is_alive(), "the erasure finished before the purchase could be posted mid-sweep"
    late = purchase_body(new_id("LATE"), card, amount="30.00")
    status, answer = _request(stack, "POST", "/v1/transactions", late)
    history = _request(stack, "GET", f"/v1/customers/{card}/transactions")
    still_sweeping = deletion.is_alive()
    deletion.join()

    assert result["answer"][0] == 204, result
    assert (status, answer["error"]["code"]) == (409, "customer_erased"), answer
    assert history[0] == 404, history  # an erasure in progress shows no history
    assert _items_holding(stack, card) == []
    token = erasure_token(card, Settings().erasure_pepper)
    assert len(_transactions_of(stack, token)) == 2_001
    assert late["transaction_id"] not in _transactions_of(stack, token)
    print(
        f"erasure of 2,001 transactions: {result['seconds']:.1f} s (sweeping when posted: {still_sweeping})"
    )
