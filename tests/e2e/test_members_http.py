"""Members over HTTP on the local stack (issue 16, "Done when", literally): enrolment and consents with
their proof, blocking (back-office key only) and what a blocked member can still do, an Engaged
non-buyer found by the monthly run with `contactable` on its event, and erasure of the member data."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from loyalty.adapters.models import bind_models
from loyalty.settings import Settings, get_settings
from loyalty_tools.reclassify_local import run_reclassification

from tests.e2e.test_erasure_http import _items_holding
from tests.e2e.test_reclassify_http import drain
from tests.helpers import DEFAULT_PROGRAMME, purchase_body

AS_OF = date(2026, 11, 1)  # the run classifies 2026-10 (no other e2e test runs that period)


@pytest.fixture
def default_programme_here(stack):
    """This process's settings and models on the local stack's moto with the default programme."""
    saved = dict(os.environ)
    os.environ.update({"AWS_ENDPOINT_URL": stack.moto_url, "LOYALTY_PROGRAMME_PATH": str(DEFAULT_PROGRAMME)})
    get_settings.cache_clear()
    bind_models(Settings.from_env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        bind_models(Settings.from_env())


def enrolment(customer: str, **consents: bool) -> dict:
    return {
        "customer_id": customer,
        "enrolled_at": "2025-10-01T10:00:00+02:00",
        "store_id": "S1",
        "consents": consents,
        "preferences": {"categories": ["skincare", "fragrance"], "max_contacts_per_month": 8},
    }


def test_enrolment_consents_and_their_proof(stack):
    customer = f"MEM-{uuid.uuid4().hex[:12]}"
    body = enrolment(customer, email=True, sms=False)
    status, enrolled = stack.call("POST", "/v1/customers", body)
    assert status == 201, enrolled
    assert stack.call("POST", "/v1/customers", body) == (201, enrolled)  # the same body replays
    other = {**body, "consents": {"email": False}}
    status, conflict = stack.call("POST", "/v1/customers", other)
    assert status == 409 and conflict["error"]["code"] == "already_enrolled"

    card = stack.call("GET", f"/v1/customers/{customer}")[1]
    assert card["enrolled"] is True and card["status"] == "active"
    assert card["consents"] == {"email": True, "sms": False, "push": False}
    assert card["preferences"] == {"categories": ["skincare", "fragrance"], "max_contacts_per_month": 8}

    status, patched = stack.call(
        "PATCH", f"/v1/customers/{customer}", {"consents": {"sms": True}, "source": "app"}
    )
    assert status == 200, patched
    card = stack.call("GET", f"/v1/customers/{customer}")[1]
    assert card["consents"] == {"email": True, "sms": True, "push": False}
    proof = stack.call("GET", f"/v1/customers/{customer}/consents")[1]
    assert [(h["source"], h["consents"]["sms"]) for h in proof["history"]] == [
        ("store", False),
        ("app", True),
    ]
    assert all(h["at"].endswith("Z") for h in proof["history"])

    # Bad input names the field and writes nothing.
    for bad, field in (
        ({"consents": {"sms": "yes"}, "source": "app"}, "consents.sms"),
        ({"consents": {"sms": False}}, "source"),
        ({"preferences": {"max_contacts_per_month": -1}}, "preferences.max_contacts_per_month"),
        ({}, "body"),
    ):
        status, error = stack.call("PATCH", f"/v1/customers/{customer}", bad)
        assert status == 400 and error["error"]["details"][0]["field"] == field, (bad, error)
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["consents"]["sms"] is True


def test_blocking_needs_the_back_office_key_and_a_blocked_member_earns_nothing(stack):
    customer = f"MEM-{uuid.uuid4().hex[:12]}"
    # A card never enrolled works as today and is an unenrolled member.
    first = purchase_body(f"T-{uuid.uuid4().hex[:10]}", customer, amount="600.00", occurred_at=_recent())
    assert stack.call("POST", "/v1/transactions", first)[0] == 201
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["enrolled"] is False

    status, refused = stack.call("PATCH", f"/v1/customers/{customer}", {"status": "blocked"})
    assert status == 403 and refused["error"]["code"] == "back_office_only"
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["status"] == "active"
    status, blocked = stack.call("PATCH", f"/v1/customers/{customer}", {"status": "blocked"}, key="admin")
    assert status == 200 and blocked["status"] == "blocked"

    balance = stack.call("GET", f"/v1/customers/{customer}")[1]["points_balance"]
    sale = purchase_body(f"T-{uuid.uuid4().hex[:10]}", customer, amount="50.00", occurred_at=_recent())
    status, answer = stack.call("POST", "/v1/transactions", sale)
    assert status == 201
    assert answer["points_earned"] == 0 and answer["points_withheld"] == {"reason": "member_blocked"}
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["points_balance"] == balance
    status, refused = stack.call(
        "POST",
        f"/v1/customers/{customer}/redemptions",
        {"redemption_id": f"RD-{uuid.uuid4().hex[:8]}", "points": 500},
    )
    assert status == 403 and refused["error"]["code"] == "member_blocked"


def _recent() -> str:
    return (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds")


def test_an_engaged_non_buyer_is_found_by_the_monthly_run_and_erasure_leaves_nothing(
    stack, default_programme_here
):
    customer = f"MEM-{uuid.uuid4().hex[:12]}"
    run = uuid.uuid4().hex[:10]  # ids that do not contain the customer id (they outlive it)
    assert (
        stack.call("POST", "/v1/customers", enrolment(customer, email=True, sms=False, push=True))[0] == 201
    )
    # A weekly habit that stopped 200 days before the run, then an interaction every week since.
    last = datetime.combine(AS_OF - timedelta(days=200), datetime.min.time(), UTC).replace(hour=11)
    for week in range(20):
        body = purchase_body(
            f"T-{run}-{week}",
            customer,
            amount="30.00",
            occurred_at=(last - timedelta(weeks=week)).isoformat(),
        )
        assert stack.call("POST", "/v1/transactions", body)[0] == 201
    week = 1
    while (when := last + timedelta(weeks=week)).date() < AS_OF:
        body = {
            "interaction_id": f"I-{run}-{week}",
            "kind": "review",
            "occurred_at": when.isoformat(),
            "channel": "app",
        }
        status, answer = stack.call("POST", f"/v1/customers/{customer}/interactions", body)
        assert status == 201 and answer["points_earned"] == 0, answer
        assert stack.call("POST", f"/v1/customers/{customer}/interactions", body) == (201, answer)  # once
        week += 1
    assert week > 25
    clash = {**body, "kind": "survey"}
    assert stack.call("POST", f"/v1/customers/{customer}/interactions", clash)[0] == 409
    card = stack.call("GET", f"/v1/customers/{customer}")[1]
    assert card["last_interaction_at"] == datetime.fromisoformat(body["occurred_at"]).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )

    drain(stack.queue_url, stack.moto_url)
    run_reclassification(AS_OF, total_segments=2, run_id=f"members-{uuid.uuid4().hex[:8]}")
    assert stack.call("GET", f"/v1/customers/{customer}")[1]["segment"] == "Engaged non-buyers"
    events = [
        m["detail"]
        for m in drain(stack.queue_url, stack.moto_url)
        if m["detail"].get("customer_id") == customer
    ]
    (segment,) = [e for e in events if e["after"].get("segment") == "Engaged non-buyers"]
    assert segment["contactable"] == {"email": True, "sms": False, "push": True}
    assert segment["facts"]["relationally_active"] is True
    assert segment["facts"]["relational_frequency_12m"] == week - 1
    assert all("contactable" in e for e in events)

    assert _items_holding(stack, customer)  # the check can fail: the id is there before
    assert stack.call("DELETE", f"/v1/customers/{customer}")[0] == 204
    assert _items_holding(stack, customer) == []
    anonymous = [
        item for table, item in _items_holding(stack, "anon-") if table == Settings().customers_table
    ]
    assert all("skincare" not in str(item) for item in anonymous)
    assert Settings().interactions_table in _table_names(stack)  # the scan above covered it
    assert _items_holding(stack, f"I-{run}-") == []  # the interactions are deleted, not anonymised


def _table_names(stack) -> list[str]:
    import boto3

    return boto3.client("dynamodb", endpoint_url=stack.moto_url, region_name="eu-west-1").list_tables()[
        "TableNames"
    ]
