"""Who may do what in the back office: signed-in users are gated by group in the function (the
Cognito authorizer's claims in AWS, the local gateway's sign-in locally); keys keep their rules."""

from __future__ import annotations

import pytest
from loyalty.api import access
from loyalty.settings import get_settings
from loyalty_tools.apigw import proxy_event
from loyalty_tools.console_server import SESSION_SECONDS, ConsoleSessions

ADMIN_ID = "admin-key-id"


@pytest.fixture(autouse=True)
def admin_key_id(monkeypatch):
    monkeypatch.setenv("LOYALTY_ADMIN_API_KEY_ID", ADMIN_ID)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def event(
    method: str, path: str, resource: str, groups: str | None = None, key_id: str | None = None
) -> dict:
    e = proxy_event(method, path, resource, api_key_id=key_id)
    if groups is not None:
        e["requestContext"]["authorizer"] = {"claims": {"sub": "u1", "cognito:groups": groups}}
    return e


ADJUST = ("POST", "/v1/customers/C1/adjustments", "/v1/customers/{customer_id}/adjustments")
RUNS = ("GET", "/v1/back-office/runs", "/v1/back-office/runs")
CARD = ("GET", "/v1/customers/C1", "/v1/customers/{customer_id}")
ERASE = ("DELETE", "/v1/customers/C1", "/v1/customers/{customer_id}")
STATUS = ("PATCH", "/v1/customers/C1", "/v1/customers/{customer_id}")
WHAT_IF = ("POST", "/v1/back-office/programme/what-if", "/v1/back-office/programme/what-if")
POLL = ("GET", "/v1/back-office/programme/what-if/what-if-2026-11-" + "0" * 32,
        "/v1/back-office/programme/what-if/{what_if_id}")  # fmt: skip


@pytest.mark.parametrize(
    ("route", "groups", "allowed"),
    [
        (ADJUST, "support", True),
        (ADJUST, "marketing", False),
        (ERASE, "marketing", False),
        (STATUS, "marketing", False),
        (ERASE, "support", True),
        (RUNS, "marketing", True),
        (RUNS, "support", False),
        (CARD, "marketing", True),
        (CARD, "support", True),
        (ADJUST, "", False),  # signed in, in no group: nothing
        (CARD, "admins", False),  # a group of the pool that is not ours
        (ADJUST, "[marketing support]", True),  # API Gateway's flattening of a list claim
        (RUNS, "support,marketing", True),
        (WHAT_IF, "marketing", True),
        (WHAT_IF, "support", False),
        (POLL, "marketing", True),
        (POLL, "support", False),
    ],
)
def test_a_signed_in_user_reaches_only_the_routes_of_their_group(route, groups, allowed):
    refusal = access.refused(event(*route, groups=groups))
    assert (refusal is None) is allowed, refusal
    if refusal:
        assert refusal[:2] == (403, "group_not_allowed")


def test_keys_keep_their_rules_on_the_new_routes():
    assert access.refused(event(*RUNS, key_id="store-key-id"))[1] == "back_office_only"
    assert access.refused(event(*RUNS, key_id=ADMIN_ID)) is None
    assert access.refused(event(*ADJUST, key_id=ADMIN_ID)) is None


def test_only_support_users_may_set_what_only_the_back_office_may():
    assert access.caller_is_back_office(event(*STATUS, groups="support"))
    assert not access.caller_is_back_office(event(*STATUS, groups="marketing"))
    assert access.caller_is_back_office(event(*STATUS, key_id=ADMIN_ID))


def test_local_sign_in_gives_a_token_for_the_back_office_key_only():
    sessions = ConsoleSessions("the-admin-key", secret=b"s" * 32)
    assert sessions.sign_in({"key": "local-dev-key", "group": "support"})[0] == 401
    assert sessions.sign_in({"key": "the-admin-key", "group": "admins"})[0] == 400
    assert sessions.sign_in(["the-admin-key"])[0] == 400
    status, answer = sessions.sign_in({"key": "the-admin-key", "group": "marketing"}, now=1000.0)
    assert status == 200
    claims = sessions.claims("Bearer " + answer["token"], now=1001.0)
    assert claims is not None and claims["cognito:groups"] == "marketing"
    assert sessions.claims("Bearer " + answer["token"], now=1000.0 + SESSION_SECONDS) is None  # expired
    payload, _, signature = answer["token"].partition(".")
    forged = payload.replace(payload[:8], "x" * 8) + "." + signature
    assert sessions.claims("Bearer " + forged, now=1001.0) is None
    other_gateway = ConsoleSessions("the-admin-key", secret=b"t" * 32)
    assert other_gateway.claims("Bearer " + answer["token"], now=1001.0) is None
    assert sessions.claims(answer["token"], now=1001.0) is None  # not a bearer header


def test_the_reason_the_console_sends_is_logged_with_the_user_and_the_route_not_the_card(monkeypatch):
    from loyalty.api import app

    logged: list[tuple[str, dict]] = []
    monkeypatch.setattr(app.logger, "info", lambda message, extra: logged.append((message, extra)))
    app._log_back_office_reason(event(*ERASE, groups="support"), {"X-Back-Office-Reason": "GDPR%20request"})
    app._log_back_office_reason(event(*ERASE, groups="support"), {})  # no reason: nothing logged
    assert logged == [
        (
            "back-office action",
            {"route": "DELETE /v1/customers/{customer_id}", "user": "u1", "groups": "support",
             "reason": "GDPR request"},
        )
    ]  # fmt: skip
