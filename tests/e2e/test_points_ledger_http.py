"""The points ledger over HTTP (issue 14): purchases, a redemption, an adjustment with the back-office
key and a return, then GET /v1/customers/{id}/points-history lists them newest first with a consistent
balance_after chain, pages by cursor, refuses another customer's cursor, and erasure leaves no ledger
item holding the customer id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from loyalty.settings import Settings

from tests.e2e.test_erasure_http import _items_holding
from tests.helpers import purchase_body

pytestmark = [pytest.mark.e2e]


def history(stack, customer: str, limit: int = 100, cursor: str | None = None):  # type: ignore[no-untyped-def]
    query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    return stack.call("GET", f"/v1/customers/{customer}/points-history", params=query)


def test_the_ledger_lists_every_movement_with_a_consistent_chain_and_pages(stack) -> None:  # type: ignore[no-untyped-def]
    customer = f"L-{uuid.uuid4().hex[:10]}"
    run = uuid.uuid4().hex[:8]  # ids that do not contain the customer id
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    earned = []
    for n, amount in enumerate(("700.00", "40.00")):
        body = purchase_body(f"T-{run}-{n}", customer, amount=amount, occurred_at=now)
        status, answer = stack.call("POST", "/v1/transactions", body)
        assert status == 201, answer
        earned.append(answer["points_earned"])
    assert earned[0] == 700  # the second purchase earns at the tier the first one reached
    redeemed = stack.call(
        "POST", f"/v1/customers/{customer}/redemptions", {"redemption_id": f"R-{run}", "points": 500}
    )
    assert redeemed[0] == 201, redeemed
    adjustment = {"adjustment_id": f"A-{run}", "points": 25, "reason": "goodwill", "note": "sorry"}
    assert stack.call("POST", f"/v1/customers/{customer}/adjustments", adjustment)[0] == 403  # a till
    adjusted = stack.call("POST", f"/v1/customers/{customer}/adjustments", adjustment, key="admin")
    assert adjusted[0] == 201, adjusted
    back = purchase_body(f"T-{run}-r", customer, amount="40.00", occurred_at=now)
    back["original_transaction_id"] = f"T-{run}-1"
    returned = stack.call("POST", "/v1/transactions", back)
    assert returned[0] == 201 and returned[1]["points_earned"] < 0, returned

    status, page = history(stack, customer)
    assert status == 200, page
    entries = page["items"]
    assert page["next_cursor"] is None
    assert [(e["kind"], e["points"]) for e in entries] == [
        ("returned", returned[1]["points_earned"]),
        ("adjusted", 25),
        ("redeemed", -500),
        ("earned", earned[1]),
        ("earned", 700),
    ], entries
    refs = [e.get("transaction_id") or e.get("redemption_id") or e.get("adjustment_id") for e in entries]
    assert refs == [f"T-{run}-r", f"A-{run}", f"R-{run}", f"T-{run}-1", f"T-{run}-0"]
    oldest_first = entries[::-1]
    assert oldest_first[0]["balance_after"] == oldest_first[0]["points"]  # a new customer starts at 0
    for previous, entry in pairwise(oldest_first):
        assert entry["balance_after"] == previous["balance_after"] + entry["points"], (previous, entry)
    card = stack.call("GET", f"/v1/customers/{customer}")[1]
    total = 700 + earned[1] - 500 + 25 + returned[1]["points_earned"]
    assert entries[0]["balance_after"] == card["points_balance"] == total
    assert all(datetime.fromisoformat(e["at"]).tzinfo is not None for e in entries)

    # pages of two, by cursor, give the same list; another customer cannot use the cursor
    paged, cursor = [], None
    first_cursor = history(stack, customer, limit=2)[1]["next_cursor"]
    while True:
        status, part = history(stack, customer, limit=2, cursor=cursor)
        assert status == 200 and len(part["items"]) <= 2, part
        paged += part["items"]
        cursor = part["next_cursor"]
        if cursor is None:
            break
    assert paged == entries
    other = f"L-{uuid.uuid4().hex[:10]}"
    assert (
        stack.call("POST", "/v1/transactions", purchase_body(f"T-{run}-o", other, occurred_at=now))[0] == 201
    )
    refused = history(stack, other, limit=2, cursor=first_cursor)
    assert refused[0] == 400 and "cursor" in refused[1]["error"]["message"], refused
    assert history(stack, customer, limit=0)[0] == 400
    assert history(stack, f"L-{uuid.uuid4().hex[:10]}")[0] == 404

    # erasure: the ledger's items go with the id (the check can fail: they are there before)
    ledger_table = Settings().ledger_table
    assert [t for t, _ in _items_holding(stack, customer) if t == ledger_table]
    assert stack.call("DELETE", f"/v1/customers/{customer}")[0] == 204
    assert _items_holding(stack, customer) == []
    assert history(stack, customer)[0] == 404
