"""Back-office adjustments on the fakes: idempotency, the 409s, the event, lots and the balance read."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from loyalty.errors import ApiError
from loyalty.events import event_id
from loyalty.fakes import InMemoryAdjustments, InMemoryStore, RecordingPublisher, TransactionView
from loyalty.programme import parse_programme
from loyalty.service.adjustments import AdjustmentRequest, AdjustmentService
from loyalty.service.ingest import IngestService, TransactionRequest
from loyalty.service.points import PointsService

from tests.helpers import DEFAULT_PROGRAMME

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)
BASE = json.loads(DEFAULT_PROGRAMME.read_text())
PROG = parse_programme(
    {
        **BASE,
        "earning": {**BASE["earning"], "pending_days": 30},
        "expiry": {"policy": "rolling", "months": 12},
    }
)


@pytest.fixture
def world():
    store = InMemoryStore()
    publisher = RecordingPublisher()
    ingest = IngestService(store, TransactionView(store), publisher, PROG, now=lambda: NOW)
    adjustments = AdjustmentService(store, InMemoryAdjustments(store), publisher, PROG, now=lambda: NOW)
    points = PointsService(store, TransactionView(store), PROG, now=lambda: NOW)
    when = datetime(2026, 10, 1, 10, tzinfo=UTC)  # released by NOW
    ingest.record(TransactionRequest("T1", "C1", "S1", "store", when, "EUR", "100.00"))
    return store, publisher, adjustments, points


def test_an_adjustment_is_a_lot_of_today_and_answers_the_same_when_retried(world):
    store, publisher, adjustments, points = world
    request = AdjustmentRequest("C1", "A1", 50, "goodwill", "late delivery")
    status, first = adjustments.adjust(request)
    assert status == 201 and first["points_balance"] == 150 and first["note"] == "late delivery"
    assert store.profiles["C1"].lots == {"2026-10": 100, "2026-12": 50}
    assert store.profiles["C1"].points_adjusted == 50
    assert adjustments.adjust(request) == (201, first)
    assert store.profiles["C1"].points_balance == 150  # once
    sent = [e for e in publisher.events if e.detail_type == "PointsAdjusted"]
    assert {e.event_id for e in sent} == {event_id("C1", "A1", "adjusted")} and len(sent) == 2
    assert sent[0].detail["before"] == {"points_balance": 100} and "note" not in sent[0].detail
    assert points.card("C1")["points_balance"] == 150


def test_other_content_under_the_same_id_is_409_and_changes_nothing(world):
    store, _, adjustments, _ = world
    adjustments.adjust(AdjustmentRequest("C1", "A1", 50, "goodwill"))
    with pytest.raises(ApiError) as error:
        adjustments.adjust(AdjustmentRequest("C1", "A1", 60, "goodwill"))
    assert (error.value.status, error.value.code) == (409, "adjustment_conflict")
    assert store.profiles["C1"].points_balance == 150


def test_a_negative_adjustment_takes_spendable_points_nearest_expiry_first_and_never_more(world):
    store, _, adjustments, _ = world
    with pytest.raises(ApiError) as error:
        adjustments.adjust(AdjustmentRequest("C1", "A2", -101, "correction"))
    assert (error.value.status, error.value.code) == (409, "insufficient_points")
    status, answer = adjustments.adjust(AdjustmentRequest("C1", "A3", -40, "correction"))
    assert status == 201 and answer["points_balance"] == 60
    assert store.profiles["C1"].lots == {"2026-10": 60}
    # a retry after its points were taken replays rather than answering 409
    assert adjustments.adjust(AdjustmentRequest("C1", "A3", -40, "correction")) == (201, answer)


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (AdjustmentRequest("C1", "A1", 0, "goodwill"), "points"),
        (AdjustmentRequest("C1", "A1", 5, "bribe"), "reason"),
        (AdjustmentRequest("C1", "A1", 5, "other", "x" * 501), "note"),
    ],
)
def test_bad_input_names_the_field(world, request_, field):
    _, _, adjustments, _ = world
    with pytest.raises(ApiError) as error:
        adjustments.adjust(request_)
    assert error.value.status == 400 and error.value.details[0]["field"] == field


def test_an_unknown_customer_is_404(world):
    _, _, adjustments, _ = world
    with pytest.raises(ApiError) as error:
        adjustments.adjust(AdjustmentRequest("NOPE", "A1", 5, "other"))
    assert error.value.status == 404


def test_the_balance_read_is_still_one_get_item(world):
    store, _, _, points = world
    store.calls.clear()
    card = points.card("C1")
    assert store.calls == ["GetItem"]
    assert (card["points_balance"], card["points_pending"], card["pending_release"]) == (100, 0, [])
    assert card["points_expiring"] == [{"points": 100, "expires_on": "2027-10-31"}]
