"""Redemptions and vouchers over the in-memory fakes: the service rules, and the API as Lambda sees it."""

import json
import math
import threading
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from loyalty.api import deps
from loyalty.events import DetailType, VoucherIssuedDetail, event_id
from loyalty.fakes import InMemoryRedemptions, InMemoryStore, RecordingPublisher, TransactionView
from loyalty.ports import VersionConflict
from loyalty.service.erasure import ErasureService
from loyalty.service.ingest import ApiError, IngestService
from loyalty.service.points import PointsService
from loyalty.service.redemptions import (
    CODE_ALPHABET,
    RedemptionService,
    new_voucher_code,
    normalise_code,
    voucher_expiry,
)
from loyalty_tools.apigw import LocalContext, proxy_event
from loyalty_tools.gateway import load_handler

from tests.helpers import FIXED_NOW, default_programme, transaction_request, use_services


class Clock:
    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world():
    store = InMemoryStore()
    programme = default_programme()
    clock = Clock()
    publisher = RecordingPublisher()
    reds = InMemoryRedemptions(store)
    view = TransactionView(store)
    ingest = IngestService(store, view, publisher, programme, now=clock, sleep=lambda s: None)
    service = RedemptionService(store, reds, publisher, programme, now=clock, sleep=lambda s: None)
    points = PointsService(store, view, programme, now=clock)

    class World:
        pass

    w = World()
    w.__dict__.update(
        store=store, programme=programme, clock=clock, publisher=publisher, reds=reds, ingest=ingest,
        service=service, points=points,
    )  # fmt: skip
    return w


def buy(world, amount: str, transaction_id: str = "T1", customer_id: str = "C1", **kw):
    return world.ingest.record(
        transaction_request(transaction_id=transaction_id, customer_id=customer_id, amount=amount, **kw)
    )


def test_redeem_one_block_gives_one_voucher_and_one_event(world):
    buy(world, "120.00")  # 120 points... not enough
    buy(world, "500.00", "T2")  # member x1 -> 620 points
    status, answer = world.service.redeem("C1", "R1", 500)
    assert status == 201
    assert answer["points_redeemed"] == 500 and answer["points_balance"] == 120
    voucher = answer["voucher"]
    assert (voucher["value"], voucher["currency"], voucher["status"]) == ("5.00", "EUR", "issued")
    assert voucher["expires_on"] == "2027-02-22"  # 2026-11-24 + 90 days, Paris
    profile = world.store.get("C1")
    assert (profile.points_balance, profile.points_redeemed) == (120, 500)
    (event,) = [e for e in world.publisher.events if e.detail_type == DetailType.VOUCHER_ISSUED]
    assert event.event_id == event_id("C1", "R1", "voucher")
    body = event.body()
    assert set(body) == {f.name for f in fields(VoucherIssuedDetail)}
    assert body["voucher_id"] == voucher["code"] and body["value"] == "5.00"
    assert body["before"] == {"points_balance": 620} and body["after"] == {"points_balance": 120}
    assert body["period"] == "2026-11" and body["valid_until"] == "2027-02-22"


def test_several_blocks_make_one_voucher_of_the_total(world):
    buy(world, "1500.00")
    _, answer = world.service.redeem("C1", "R1", 1500)
    assert answer["voucher"]["value"] == "15.00" and answer["voucher"]["points"] == 1500
    assert len(world.reds.vouchers_by_code) == 1


@pytest.mark.parametrize(("points", "status"), [(0, 400), (-500, 400), (250, 422), (501, 422), (True, 400)])
def test_points_must_be_a_positive_multiple_of_the_block(world, points, status):
    buy(world, "1500.00")
    with pytest.raises(ApiError) as err:
        world.service.redeem("C1", "R1", points)
    assert err.value.status == status and err.value.message.startswith("points:")
    assert world.store.get("C1").points_balance == 1500 and not world.reds.redemptions


def test_same_redemption_replays_other_body_is_409(world):
    buy(world, "1000.00")
    first = world.service.redeem("C1", "R1", 500)
    again = world.service.redeem("C1", "R1", 500)
    assert again == first
    assert world.store.get("C1").points_balance == 500 and len(world.reds.vouchers_by_code) == 1
    ids = [e.event_id for e in world.publisher.events if e.detail_type == DetailType.VOUCHER_ISSUED]
    assert ids == [event_id("C1", "R1", "voucher")] * 2  # republished, same id: at least once
    buy(world, "1000.00", "T2", customer_id="C2")
    for customer, points in (("C1", 1000), ("C2", 500)):
        with pytest.raises(ApiError) as err:
            world.service.redeem(customer, "R1", points)
        assert err.value.status == 409 and err.value.code == "redemption_conflict"


def test_replay_after_the_balance_is_spent_still_answers_201(world):
    buy(world, "500.00")
    first = world.service.redeem("C1", "R1", 500)
    assert world.store.get("C1").points_balance == 0
    assert world.service.redeem("C1", "R1", 500) == first


def test_short_balance_is_409_and_writes_nothing(world):
    buy(world, "499.00")
    with pytest.raises(ApiError) as err:
        world.service.redeem("C1", "R1", 500)
    assert err.value.status == 409 and err.value.code == "insufficient_points"
    assert err.value.details == [{"field": "points", "message": "at most 499 available"}]
    assert world.store.get("C1").points_balance == 499 and not world.reds.redemptions


def test_unknown_customer_is_404(world):
    with pytest.raises(ApiError) as err:
        world.service.redeem("nobody", "R1", 500)
    assert err.value.status == 404


def test_negative_balance_blocks_redemptions_until_positive_and_covering(world):
    buy(world, "500.00", "T1")
    world.service.redeem("C1", "R1", 500)
    buy(world, "500.00", "RET1", original_transaction_id="T1")  # takes back the 500 points already spent
    assert world.store.get("C1").points_balance == -500
    with pytest.raises(ApiError) as err:
        world.service.redeem("C1", "R2", 500)
    assert err.value.status == 409 and "negative" in err.value.message
    # The return undid the purchase that made them silver: back to member, x1 -> 100 points, -400.
    buy(world, "100.00", "T2")
    with pytest.raises(ApiError) as err:
        world.service.redeem("C1", "R2", 500)
    assert err.value.status == 409 and "negative" in err.value.message
    buy(world, "450.00", "T3")  # +450 at member's rate (silver again from here): balance 50
    with pytest.raises(ApiError) as err:
        world.service.redeem("C1", "R2", 500)
    assert err.value.status == 409 and "negative" not in err.value.message
    buy(world, "225.00", "T4")  # x2 -> +450: balance 500
    assert world.service.redeem("C1", "R2", 500)[0] == 201
    assert world.store.get("C1").points_balance == 0


def test_concurrent_redemptions_never_overdraw(world):
    buy(world, "5000.00")  # 5000 points: 10 blocks
    results: list[int] = []

    def redeem(n: int) -> None:
        try:
            results.append(world.service.redeem("C1", f"R{n}", 500)[0])
        except ApiError as exc:
            results.append(exc.status)

    threads = [threading.Thread(target=redeem, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(201) == 10 and results.count(409) == 40
    profile = world.store.get("C1")
    assert (profile.points_balance, profile.points_redeemed) == (0, 5000)
    assert len(world.reds.vouchers_by_code) == 10


def test_a_redemption_bumps_the_version_so_a_stale_ingest_write_fails(world):
    buy(world, "1000.00")
    stale = world.store.get("C1")
    world.service.redeem("C1", "R1", 500)
    from dataclasses import replace

    from loyalty.ports import StoredTransaction

    txn = StoredTransaction("T9", "C1", "purchase", "2026-03-10T10:00:00+01:00", "k#T9", "EUR", 100, "h")
    with pytest.raises(VersionConflict):
        world.store.record(txn, replace(stale, points_balance=1001), stale.version)
    assert world.store.get("C1").points_balance == 500


# -- vouchers ---------------------------------------------------------------------------------------


def test_use_once_then_409_unknown_404_expired_410(world):
    buy(world, "1500.00")
    code = world.service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    used = world.service.use_voucher(code.lower().replace("-", ""))  # tills may type it loosely
    assert used["status"] == "used" and used["code"] == code and used["used_at"]
    with pytest.raises(ApiError) as err:
        world.service.use_voucher(code)
    assert err.value.status == 409 and err.value.code == "voucher_used"
    for unknown in ("AAAA-AAAA-AAAA-AAAA", "not-a-code"):
        with pytest.raises(ApiError) as err:
            world.service.use_voucher(unknown)
        assert err.value.status == 404
    other = world.service.redeem("C1", "R2", 500)[1]["voucher"]
    world.clock.now = datetime.fromisoformat(other["issued_at"]) + timedelta(days=91)
    with pytest.raises(ApiError) as err:
        world.service.use_voucher(other["code"])
    assert err.value.status == 410 and err.value.code == "voucher_expired"
    assert world.reds.vouchers_by_code[other["code"]].status == "issued"


def test_voucher_valid_through_expires_on_in_the_programme_zone(world):
    programme = world.programme
    # 23:30 UTC on 28 March 2026 is already 29 March in Paris (and the night summer time starts).
    issued = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)
    expires_on, expires_at = voucher_expiry(issued, programme)
    assert expires_on == "2026-06-27"  # 29 March + 90 days
    assert datetime.fromisoformat(expires_at) == datetime(2026, 6, 27, 22, 0, tzinfo=UTC)  # midnight CEST


def test_concurrent_uses_spend_once(world):
    buy(world, "500.00")
    code = world.service.redeem("C1", "R1", 500)[1]["voucher"]["code"]
    results: list[int] = []

    def use() -> None:
        try:
            world.service.use_voucher(code)
            results.append(200)
        except ApiError as exc:
            results.append(exc.status)

    threads = [threading.Thread(target=use) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [409] * 19


def test_list_vouchers_with_status_and_cursor(world):
    buy(world, "1500.00")
    codes = []
    for n in range(3):
        world.clock.now = FIXED_NOW + timedelta(minutes=n)
        codes.append(world.service.redeem("C1", f"R{n}", 500)[1]["voucher"]["code"])
    world.service.use_voucher(codes[1])
    page = world.service.list_vouchers("C1", 2, None)
    assert [v["code"] for v in page["items"]] == [codes[2], codes[1]]
    assert [v["status"] for v in page["items"]] == ["issued", "used"]
    rest = world.service.list_vouchers("C1", 2, page["next_cursor"])
    assert [v["code"] for v in rest["items"]] == [codes[0]] and rest["next_cursor"] is None
    world.clock.now = FIXED_NOW + timedelta(days=200)
    statuses = [v["status"] for v in world.service.list_vouchers("C1", 10, None)["items"]]
    assert statuses == ["expired", "used", "expired"]
    assert world.service.list_vouchers("C1", 10, None)["items"][0]["value"] == "5.00"
    with pytest.raises(ApiError) as err:
        world.service.list_vouchers("nobody", 10, None)
    assert err.value.status == 404


def test_codes_are_unguessable_and_readable():
    codes = {new_voucher_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        raw = code.replace("-", "")
        assert len(raw) * math.log2(len(CODE_ALPHABET)) >= 80
        assert set(raw) <= set(CODE_ALPHABET) and not set(raw) & set("ILOU")
        assert normalise_code(code.lower()) == code
    assert normalise_code("oooo-iiii-llll-0000") == "0000-1111-1111-0000"
    assert normalise_code("ABC") is None and normalise_code("UUUU-UUUU-UUUU-UUUU") is None


# -- the API as Lambda sees it ----------------------------------------------------------------------


@pytest.fixture
def api(world):
    use_services(
        deps.Services(
            programme=world.programme,
            ingest=world.ingest,
            points=world.points,
            redemptions=world.service,
            erasure=ErasureService(world.reds, "pepper", now=world.clock),
        )
    )

    def call(method, function, path, resource, params=None, body=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        event = proxy_event(method, path, resource, params, {"content-type": "application/json"}, "", data)
        result = load_handler(function)(event, LocalContext(function))
        return result["statusCode"], (json.loads(result["body"]) if result["body"] else None)

    yield call
    use_services(None)


def test_api_redeem_list_use_erase(api, world):
    buy(world, "1000.00")
    path, resource = "/v1/customers/C1/redemptions", "/v1/customers/{customer_id}/redemptions"
    status, answer = api(
        "POST", "redemptions", path, resource, {"customer_id": "C1"}, {"redemption_id": "R1", "points": 500}
    )
    assert status == 201 and answer["customer_id"] == "C1" and answer["points_balance"] == 500
    status, page = api(
        "GET",
        "redemptions",
        "/v1/customers/C1/vouchers",
        "/v1/customers/{customer_id}/vouchers",
        {"customer_id": "C1"},
    )
    assert status == 200 and page["items"][0]["code"] == answer["voucher"]["code"]
    code = answer["voucher"]["code"]
    use = ("POST", "redemptions", f"/v1/vouchers/{code}/use", "/v1/vouchers/{code}/use", {"code": code})
    assert api(*use)[0] == 200
    status, error = api(*use)
    assert status == 409 and error["error"]["code"] == "voucher_used"
    delete = ("DELETE", "erasure", "/v1/customers/C1", "/v1/customers/{customer_id}", {"customer_id": "C1"})
    assert api(*delete) == (204, None)
    assert api(*delete) == (204, None)
    status, _ = api(
        "POST", "redemptions", path, resource, {"customer_id": "C1"}, {"redemption_id": "R1", "points": 500}
    )
    assert status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"redemption_id": "R1", "points": "500"}, "points"),
        ({"redemption_id": "R1", "points": 500.0}, "points"),
        ({"redemption_id": "R1"}, "points"),
        ({"points": 500}, "redemption_id"),
        ({"redemption_id": "R1", "points": 500, "extra": 1}, "extra"),
        ({"redemption_id": "R1", "points": 0}, "points"),
    ],
)
def test_api_bad_bodies_name_the_field(api, world, body, field):
    buy(world, "1000.00")
    status, error = api(
        "POST", "redemptions", "/v1/customers/C1/redemptions", "/v1/customers/{customer_id}/redemptions",
        {"customer_id": "C1"}, body,
    )  # fmt: skip
    assert status == 400 and error["error"]["message"].startswith(f"{field}:")
    assert world.store.get("C1").points_balance == 1000
