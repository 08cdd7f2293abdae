"""The ingest service against the in-memory ports: idempotency, conflicts, returns, events."""

import pytest
from loyalty.events import DetailType
from loyalty.fakes import InMemoryStore, RecordingPublisher, TransactionView
from loyalty.ports import VersionConflict
from loyalty.service.ingest import ApiError, IngestService

from tests.helpers import FIXED_NOW, default_programme, transaction_request


def make_service():
    store = InMemoryStore()
    publisher = RecordingPublisher()
    service = IngestService(
        store,
        TransactionView(store),
        publisher,
        default_programme(),
        sleep=lambda _: None,
        now=lambda: FIXED_NOW,
    )
    return service, store, publisher


request = transaction_request


def test_same_transaction_twice_counts_once_and_answers_the_same():
    service, store, _ = make_service()
    first = service.record(request(amount="42.90"))
    again = service.record(request(amount="42.90"))
    assert first == again == (201, first[1])
    assert first[1]["points_earned"] == 42 and first[1]["points_balance"] == 42
    assert store.profiles["C1"].points_balance == 42 and len(store.transactions) == 1


def test_same_id_other_body_is_409():
    service, _, _ = make_service()
    service.record(request(amount="10.00"))
    with pytest.raises(ApiError) as err:
        service.record(request(amount="11.00"))
    assert err.value.status == 409 and "transaction_id" in err.value.message


def test_returns_are_priced_against_their_purchase():
    service, store, _ = make_service()
    service.record(request(transaction_id="T1", amount="100.00"))
    status, body = service.record(request(transaction_id="R1", amount="40.00", original_transaction_id="T1"))
    assert (status, body["points_earned"], body["points_balance"]) == (201, -40, 60)
    with pytest.raises(ApiError) as err:
        service.record(request(transaction_id="R2", amount="60.01", original_transaction_id="T1"))
    assert err.value.status == 422 and err.value.message.startswith("amount:")
    # The retried return replays rather than failing on the now-smaller remainder.
    assert (
        service.record(request(transaction_id="R1", amount="40.00", original_transaction_id="T1"))[1] == body
    )
    assert store.transactions["T1"].returned == 4000


@pytest.mark.parametrize(
    ("kw", "status", "field"),
    [
        ({"original_transaction_id": "NOPE"}, 422, "original_transaction_id"),
        ({"currency": "USD"}, 422, "currency"),
        ({"amount": "1.001"}, 400, "amount"),
        ({"amount": "0"}, 400, "amount"),
        ({"occurred_at": "2026-12-30T10:00:00+01:00"}, 422, "occurred_at"),
        ({"lines": [{"sku": "x", "quantity": 1, "unit_price": "1.234"}]}, 400, "lines[0].unit_price"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(kw, status, field):
    service, store, _ = make_service()
    with pytest.raises(ApiError) as err:
        service.record(request(**kw))
    assert err.value.status == status
    assert err.value.message.startswith(f"{field}:")
    assert not store.transactions and not store.profiles


def test_upgrade_publishes_tier_changed_once_per_transaction_even_on_replay():
    service, _, publisher = make_service()
    _, body = service.record(request(transaction_id="T1", amount="300.00"))
    assert body["tier_upgrade"] == {"from": "member", "to": "silver"}
    service.record(request(transaction_id="T1", amount="300.00"))  # a retry after a lost answer
    kinds = {e.detail_type for e in publisher.events}
    ids = {e.event_id for e in publisher.events}
    assert kinds == {DetailType.CUSTOMER_TIER_CHANGED} and len(ids) == 1 and len(publisher.events) == 2


def test_version_conflicts_are_retried():
    service, store, _ = make_service()
    real_record = store.record
    failures = iter([True, True, False])

    def flaky(*args, **kwargs):
        if next(failures):
            raise VersionConflict("C1")
        return real_record(*args, **kwargs)

    store.record = flaky
    status, body = service.record(request(amount="10.00"))
    assert status == 201 and body["points_balance"] == 10 and service.conflicts == 2


def test_lines_give_category_spend_scaled_to_the_amount_paid():
    service, store, _ = make_service()
    lines = [
        {"sku": "a", "category": "food", "quantity": 2, "unit_price": "10.00"},
        {"sku": "b", "category": "wine", "quantity": 1, "unit_price": "20.00"},
    ]
    service.record(request(amount="30.00", lines=lines))  # 10 EUR discount on 40 EUR of goods
    month = store.profiles["C1"].months["2026-03"]
    assert month.categories == {"food": 1500, "wine": 1500}
