# ruff: noqa: F811 (the fixtures `world` and `api` come from test_redemptions)
"""Vouchers at a real till over the in-memory fakes: a till's retried use (use_id), the back-office
cancel that gives the points back once, the VoucherCancelled event, and the back-office gate as the
Lambda applies it (loyalty.api.access)."""

import threading
from datetime import datetime, timedelta

import pytest
from loyalty.api import access
from loyalty.api.openapi import openapi_document
from loyalty.api.routes import api_routes
from loyalty.events import DetailType, VoucherCancelledDetail, event_id, json_schemas
from loyalty.service.ingest import ApiError
from loyalty.settings import get_settings
from loyalty_tools.apigw import LocalContext, proxy_event
from loyalty_tools.gateway import load_handler

from tests.unit.test_redemptions import api, buy, world  # noqa: F401 (fixtures shared with that module)

ADMIN_ID = "admin-key-id"


def voucher(world, points: int = 500) -> str:
    buy(world, "1000.00")
    return world.service.redeem("C1", "R1", points)[1]["voucher"]["code"]


def status_of(call) -> tuple[int, str | None]:
    try:
        call()
    except ApiError as exc:
        return exc.status, exc.code
    return 200, None


# -- use_id ------------------------------------------------------------------------------------


def test_the_same_use_id_replays_the_first_answer_another_is_409(world):
    code = voucher(world)
    first = world.service.use_voucher(code, "TICKET-1")
    world.clock.now += timedelta(seconds=30)  # the till's retry comes later: the answer does not change
    assert world.service.use_voucher(code.lower(), "TICKET-1") == first
    assert first["use_id"] == "TICKET-1" and first["status"] == "used"
    assert status_of(lambda: world.service.use_voucher(code, "TICKET-2")) == (409, "voucher_used")
    assert status_of(lambda: world.service.use_voucher(code)) == (409, "voucher_used")


def test_a_use_id_retry_after_the_voucher_expired_still_replays(world):
    code = voucher(world)
    first = world.service.use_voucher(code, "TICKET-1")
    world.clock.now += timedelta(days=400)
    assert world.service.use_voucher(code, "TICKET-1") == first


def test_a_use_id_does_not_make_an_expired_or_cancelled_voucher_usable(world):
    code = voucher(world)
    world.service.cancel_voucher(code)
    assert status_of(lambda: world.service.use_voucher(code, "T")) == (409, "voucher_cancelled")
    world.clock.now += timedelta(days=400)
    assert status_of(lambda: world.service.use_voucher(code, "T")) == (409, "voucher_cancelled")


# -- cancel ------------------------------------------------------------------------------------


def test_cancel_gives_the_points_back_once_and_publishes_one_event_id(world):
    code = voucher(world)
    before = world.store.get("C1")
    assert (before.points_balance, before.points_redeemed) == (500, 500)
    world.publisher.events.clear()
    first = world.service.cancel_voucher(code)
    assert first["points_returned"] == 500 and first["points_balance"] == 1000
    assert first["voucher"]["status"] == "cancelled" and first["voucher"]["cancelled_at"]
    world.clock.now += timedelta(minutes=5)
    assert world.service.cancel_voucher(code) == first  # a retry: same answer
    after = world.store.get("C1")
    assert (after.points_balance, after.points_redeemed) == (1000, 0)  # earned - redeemed still holds
    assert after.version == before.version + 1
    events = world.publisher.events
    assert [e.detail_type for e in events] == [DetailType.VOUCHER_CANCELLED] * 2
    assert {e.event_id for e in events} == {event_id("C1", code, "voucher-cancelled")}
    detail = events[0].detail
    assert detail["before"] == {"points_balance": 500} and detail["after"] == {"points_balance": 1000}
    assert detail["value"] == "5.00" and detail["redemption_id"] == "R1"
    # The body matches its model exactly (the JSON Schema is generated from it).
    assert set(events[0].body()) == {f for f in VoucherCancelledDetail.__dataclass_fields__}


def test_a_cancel_whose_event_was_lost_is_finished_by_the_retry(world):
    """The write committed, then the bus failed (the caller got 503): the retry answers as the first
    time and publishes the event, with the points given back once."""
    from loyalty.ports import PublishFailed

    code = voucher(world)
    publish = world.publisher.publish

    def down(events):  # type: ignore[no-untyped-def]
        raise PublishFailed("bus down")

    world.publisher.publish = down
    with pytest.raises(PublishFailed):
        world.service.cancel_voucher(code)
    world.publisher.publish = publish
    world.publisher.events.clear()
    answer = world.service.cancel_voucher(code)
    assert answer["points_balance"] == 1000 == world.store.get("C1").points_balance
    assert [e.detail_type for e in world.publisher.events] == [DetailType.VOUCHER_CANCELLED]


def test_cancel_of_used_unknown_expired_vouchers(world):
    code = voucher(world)
    world.service.use_voucher(code)
    assert status_of(lambda: world.service.cancel_voucher(code)) == (409, "voucher_used")
    assert status_of(lambda: world.service.cancel_voucher("AAAA-AAAA-AAAA-AAAA")) == (
        404,
        "voucher_not_found",
    )
    other = world.service.redeem("C1", "R2", 500)[1]["voucher"]
    world.clock.now = datetime.fromisoformat(other["issued_at"]) + timedelta(days=91)
    assert status_of(lambda: world.service.cancel_voucher(other["code"])) == (410, "voucher_expired")
    assert world.store.get("C1").points_balance == 0


def test_a_cancel_after_a_concurrent_purchase_retries_at_the_new_version(world):
    code = voucher(world)
    real = world.reds.cancel_voucher
    calls = []

    def purchase_sneaks_in(*args, **kw):  # type: ignore[no-untyped-def]
        if not calls:  # a purchase between the cancel's read and its write: version +1, the try conflicts
            calls.append(buy(world, "100.00", transaction_id="T2")[1]["points_earned"])
        calls.append(args)
        return real(*args, **kw)

    world.reds.cancel_voucher = purchase_sneaks_in
    answer = world.service.cancel_voucher(code)
    earned = calls[0]
    assert len(calls) == 3 and earned > 0  # tried twice
    assert answer["points_balance"] == 500 + earned + 500 == world.store.get("C1").points_balance


def test_a_use_and_a_cancel_racing_end_with_exactly_one_winner(world):
    buy(world, "10000.00")
    for n in range(20):
        code = world.service.redeem("C1", f"R{n}", 500)[1]["voucher"]["code"]
        balance = world.store.get("C1").points_balance
        results: dict[str, list[tuple[int, str | None]]] = {"use": [], "cancel": []}
        calls = [("use", lambda c=code: world.service.use_voucher(c, "U"))] * 3
        calls += [("cancel", lambda c=code: world.service.cancel_voucher(c))] * 3
        threads = [
            threading.Thread(target=lambda k=kind, f=fn, r=results: r[k].append(status_of(f)))
            for kind, fn in calls
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stored = world.reds.vouchers_by_code[code].status
        uses = sorted(s for s, _ in results["use"])
        cancels = sorted(s for s, _ in results["cancel"])
        if stored == "used":
            assert (uses, cancels) == ([200] * 3, [409] * 3)
            assert world.store.get("C1").points_balance == balance
        else:
            assert stored == "cancelled" and (uses, cancels) == ([409] * 3, [200] * 3)
            assert world.store.get("C1").points_balance == balance + 500


def test_cancel_of_an_erased_customers_voucher_is_409(world):
    from loyalty.service.erasure import ErasureService

    code = voucher(world)
    ErasureService(world.reds, "pepper", now=world.clock).erase("C1")
    assert status_of(lambda: world.service.cancel_voucher(code)) == (409, "customer_erased")


# -- the back-office gate -------------------------------------------------------------------------


def test_back_office_routes_are_real_routes_and_documented_with_the_admin_key():
    routes = {(r.method, r.path): r for r in api_routes()}
    assert set(routes) >= access.BACK_OFFICE_ROUTES
    assert routes[("POST", "/v1/vouchers/{code}/cancel")].audience == access.BACK_OFFICE
    assert routes[("POST", "/v1/vouchers/{code}/use")].audience == access.STORE
    document = openapi_document()
    for method, path in access.BACK_OFFICE_ROUTES:
        assert document["paths"][path][method.lower()]["security"] == [{"adminApiKey": []}]


@pytest.fixture
def admin_key_id(monkeypatch):
    monkeypatch.setenv("LOYALTY_ADMIN_API_KEY_ID", ADMIN_ID)
    get_settings.cache_clear()
    yield ADMIN_ID
    get_settings.cache_clear()


def _cancel_event(code: str, key_id: str | None) -> dict:
    event = proxy_event(
        "POST", f"/v1/vouchers/{code}/cancel", "/v1/vouchers/{code}/cancel", {"code": code}, api_key_id=key_id
    )
    return load_handler("redemptions")(event, LocalContext("redemptions"))


@pytest.mark.parametrize("key_id", [None, "", "store-key-id", ADMIN_ID + "x"])
def test_the_function_refuses_a_back_office_route_to_any_other_key(api, world, admin_key_id, key_id):
    code = voucher(world)
    result = _cancel_event(code, key_id)
    assert result["statusCode"] == 403 and '"back_office_only"' in result["body"]
    assert world.store.get("C1").points_balance == 500  # nothing written


def test_the_function_lets_the_admin_key_cancel(api, world, admin_key_id):
    code = voucher(world)
    result = _cancel_event(code, ADMIN_ID)
    assert result["statusCode"] == 200, result
    assert world.store.get("C1").points_balance == 1000


def test_without_an_admin_key_id_configured_no_one_is_back_office(api, world, monkeypatch):
    monkeypatch.delenv("LOYALTY_ADMIN_API_KEY_ID", raising=False)
    get_settings.cache_clear()
    code = voucher(world)
    assert _cancel_event(code, "")["statusCode"] == 403
    assert _cancel_event(code, "anything")["statusCode"] == 403


def test_voucher_cancelled_schema_is_generated_from_the_model():
    schema = json_schemas()["VoucherCancelled"]
    from dataclasses import MISSING

    fields = VoucherCancelledDetail.__dataclass_fields__.values()
    assert set(schema["required"]) == {f.name for f in fields if f.default is MISSING}
    assert "contactable" in schema["properties"]  # optional in the model, set on every event sent


def test_a_request_path_naming_a_back_office_route_is_gated_whatever_its_resource():
    event = proxy_event("POST", "/v1/vouchers/ABCD/cancel", "/v1/vouchers/ABCD/cancel", {"code": "ABCD"})
    assert access.refused(event) is not None
    event = proxy_event("POST", "/v1/vouchers/ABCD/use", "/v1/vouchers/{code}/use", {"code": "ABCD"})
    assert access.refused(event) is None
    assert access.audience("post", "/v1/vouchers/X/cancel/extra") == access.STORE


def test_docs_api_keys_lists_every_route_with_the_keys_that_reach_it():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "api-keys.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            rows[(cells[0], cells[1])] = cells[2] == "yes"
    assert rows == {(r.method, r.path): r.audience == access.STORE for r in api_routes()}
