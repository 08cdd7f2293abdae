"""A transaction first loaded by `loyalty import`, then sent by the till: the same transaction whichever
way it arrived (one content hash), so the till gets 201 with the imported answer and it counts once;
another body under that id is still 409. Over HTTP on the local stack, the importer as a person runs it."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_import_export import loyalty

pytestmark = [pytest.mark.e2e]


def test_a_till_resending_an_imported_transaction_gets_the_imported_answer(
    stack: Stack, tmp_path: Path
) -> None:
    customer = "IMPTILL1"
    bought = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0)
    returned = bought + timedelta(days=1)
    source = tmp_path / "history.csv"
    header = ["transaction_id", "customer_id", "occurred_at", "amount", "store_id", "channel", "category",
              "type", "original_transaction_id"]  # fmt: skip
    rows = [
        ["IMPT-1", customer, bought.isoformat(), "80.00", "S1", "store", "mode", "purchase", ""],
        ["IMPT-2", customer, returned.isoformat(), "20.00", "S1", "store", "mode", "return", "IMPT-1"],
    ]
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    done = loyalty(stack, "import", str(source), "--target", "env")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "imported 2" in done.stdout, done.stdout

    history = stack.call("GET", f"/v1/customers/{customer}/transactions?limit=10")[1]["items"]
    imported = {item["transaction_id"]: item for item in history}
    status, card = stack.call("GET", f"/v1/customers/{customer}")
    assert status == 200 and card["points_balance"] == 80 - 20

    purchase = {
        "transaction_id": "IMPT-1", "customer_id": customer, "store_id": "S1", "channel": "store",
        "occurred_at": bought.isoformat(), "currency": "EUR", "amount": "80.00",
        "lines": [{"sku": "X", "category": "mode", "quantity": 1, "unit_price": "80.00"}],
    }  # fmt: skip
    status, answer = stack.call("POST", "/v1/transactions", purchase)
    assert status == 201, answer
    assert (answer["points_earned"], answer["points_balance"], answer["type"]) == (80, 80, "purchase")
    assert answer["amount"] == imported["IMPT-1"]["amount"] == "80.00"

    back = {**purchase, "transaction_id": "IMPT-2", "occurred_at": returned.isoformat(), "amount": "20.00",
            "original_transaction_id": "IMPT-1",
            "lines": [{"sku": "X", "category": "mode", "quantity": 1, "unit_price": "20.00"}]}  # fmt: skip
    status, answer = stack.call("POST", "/v1/transactions", back)
    assert status == 201, answer
    assert answer["original_transaction_id"] == "IMPT-1"  # the importer's answer carries it too
    assert (answer["points_earned"], answer["points_balance"]) == (-20, 60)

    status, card = stack.call("GET", f"/v1/customers/{customer}")
    assert card["points_balance"] == 60  # counted once
    assert len(stack.call("GET", f"/v1/customers/{customer}/transactions?limit=10")[1]["items"]) == 2

    status, answer = stack.call("POST", "/v1/transactions", {**purchase, "amount": "81.00"})
    assert status == 409 and answer["error"]["code"] == "transaction_conflict", answer
