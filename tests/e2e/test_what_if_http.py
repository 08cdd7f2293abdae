"""The back office's what-if run over HTTP against the local stack, as the console's Programme page
calls it: a signed-in marketing user POSTs a candidate (202 and an id; the same candidate again, the
same id, one run), polls until the dry run's report is there, and nothing was written; an invalid
candidate is a 422 naming the key; a support user and a store key are refused."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
ROUTE = "/v1/back-office/programme/what-if"
AS_OF = "2026-12-01"  # the run classifies 2026-11


def signed_in(stack: Stack, group: str) -> dict[str, str]:
    response = stack.session.post(
        stack.api_url + "/admin/sign-in", json={"key": stack.admin_api_key, "group": group}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {"authorization": "Bearer " + response.json()["token"], "content-type": "application/json"}


def call(stack: Stack, method: str, path: str, headers: dict[str, str], body=None):  # type: ignore[no-untyped-def]
    data = None if body is None else json.dumps(body)
    response = stack.session.request(method, stack.api_url + path, headers=headers, data=data, timeout=60)
    return response.status_code, response.json(), response.headers


def candidate() -> dict:
    programme = json.loads((REPO / "programmes" / "default.json").read_text(encoding="utf-8"))
    programme["tiers"][1]["any_of"] = {"spend_12m": "100.00"}  # silver from 100 EUR: members move up
    programme["name"] = f"what-if-e2e-{uuid.uuid4().hex[:8]}"  # its own run on a shared stack
    return programme


def test_a_valid_candidate_runs_once_and_answers_its_report_writing_nothing(stack: Stack) -> None:
    customers = [f"WI{uuid.uuid4().hex[:10]}" for _ in range(4)]
    for n, customer in enumerate(customers):
        body = {"transaction_id": f"T-{uuid.uuid4().hex[:10]}", "customer_id": customer, "store_id": "S1",
                "channel": "store", "occurred_at": f"2026-11-1{n}T10:00:00+01:00", "currency": "EUR",
                "amount": f"{120 + 10 * n}.00"}  # fmt: skip
        assert stack.call("POST", "/v1/transactions", body)[0] == 201
    cards = {c: stack.call("GET", f"/v1/customers/{c}")[1] for c in customers}
    marketing = signed_in(stack, "marketing")
    programme = candidate()

    status, started, headers = call(stack, "POST", f"{ROUTE}?as_of={AS_OF}", marketing, programme)
    assert status == 202, started
    what_if_id = started["what_if_id"]
    assert what_if_id.startswith("what-if-2026-11-") and started["status"] == "RUNNING"
    assert started["poll"] == headers["Location"] == f"{ROUTE}/{what_if_id}"
    again = call(stack, "POST", f"{ROUTE}?as_of=2026-12-15", marketing, programme)  # a double click
    assert again[:2] == (202, started)

    polls, deadline = 0, time.monotonic() + 300
    while time.monotonic() < deadline:
        status, answer, _ = call(stack, "GET", started["poll"], marketing)
        polls += 1
        if status != 202:
            break
        assert answer["status"] == "RUNNING"
        time.sleep(1)
    assert status == 200, answer
    report = answer["report"]
    assert report["dry_run"] is True and report["published"] is False and report["period"] == "2026-11"
    assert report["report_key"] == f"reclassification/2026-11/{what_if_id}/dry-run-report.json"
    assert report["customers"] >= len(customers)
    assert sum(report["before"]["tiers"].values()) == sum(report["after"]["tiers"].values())
    assert report["after"]["tiers"]["silver"] > report["before"]["tiers"].get("silver", 0), report
    # A dry run: no card changed.
    assert {c: stack.call("GET", f"/v1/customers/{c}")[1] for c in customers} == cards
    # The report stays: polling again answers it again.
    assert call(stack, "GET", started["poll"], marketing)[:2] == (200, answer)


def test_an_invalid_candidate_is_a_422_naming_the_key(stack: Stack) -> None:
    programme = candidate()
    programme["tiers"][1]["multiplier"] = "two"
    status, answer, _ = call(stack, "POST", ROUTE, signed_in(stack, "marketing"), programme)
    assert status == 422, answer
    assert answer["error"]["code"] == "invalid_programme"
    assert answer["error"]["message"] == "programme.tiers[1].multiplier: must be a whole number (got 'two')"
    assert answer["error"]["details"][0]["field"] == "tiers[1].multiplier"


def test_support_users_and_store_keys_may_not_run_or_read_a_what_if(stack: Stack) -> None:
    support = signed_in(stack, "support")
    status, answer, _ = call(stack, "POST", ROUTE, support, candidate())
    assert (status, answer["error"]["code"]) == (403, "group_not_allowed")
    some_id = "what-if-2026-11-" + "0" * 32
    status, answer, _ = call(stack, "GET", f"{ROUTE}/{some_id}", support)
    assert (status, answer["error"]["code"]) == (403, "group_not_allowed")
    status, answer = stack.call("POST", ROUTE, candidate())  # the store (till) key
    assert (status, answer["error"]["code"]) == (403, "back_office_only")


def test_an_unknown_id_is_a_404_and_a_malformed_one_a_400_naming_it(stack: Stack) -> None:
    marketing = signed_in(stack, "marketing")
    status, answer, _ = call(stack, "GET", f"{ROUTE}/what-if-2026-11-{'0' * 32}", marketing)
    assert (status, answer["error"]["code"]) == (404, "not_found")
    status, answer, _ = call(stack, "GET", f"{ROUTE}/not-an-id", marketing)
    assert status == 400, answer
    assert answer["error"]["details"][0]["field"] == "what_if_id"
