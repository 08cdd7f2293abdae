"""Members (issue 16) on the fakes: enrolment, consents and their proof, status, blocked members,
interactions, relational activity in the monthly classification, contactable, erasure."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from loyalty.domain.classify import classify
from loyalty.domain.members import (
    MAX_CONSENT_HISTORY,
    MemberChange,
    contactable,
    count_contacts,
    record_interaction,
)
from loyalty.domain.profile import HISTORY_MONTHS, Membership
from loyalty.domain.scoring import Cuts, RunWindow
from loyalty.errors import ApiError
from loyalty.fakes import (
    InMemoryMembers,
    InMemoryRedemptions,
    InMemoryStore,
    RecordingPublisher,
    TransactionView,
)
from loyalty.service.erasure import ErasureService
from loyalty.service.ingest import IngestService
from loyalty.service.members import EnrolmentRequest, InteractionRequest, MembersService
from loyalty.service.points import PointsService
from loyalty.service.redemptions import RedemptionService

from tests.helpers import FIXED_NOW, default_programme, transaction_request

P = default_programme()


@pytest.fixture
def world():
    store = InMemoryStore()
    members = InMemoryMembers(store)
    reds = InMemoryRedemptions(store)
    publisher = RecordingPublisher()
    view = TransactionView(store)
    clock = lambda: FIXED_NOW  # noqa: E731
    ingest = IngestService(store, view, publisher, P, now=clock, sleep=lambda s: None)
    return {
        "store": store,
        "members": members,
        "reds": reds,
        "publisher": publisher,
        "ingest": ingest,
        "service": MembersService(store, members, P, now=clock, sleep=lambda s: None),
        "points": PointsService(store, view, P, now=clock),
        "redemptions": RedemptionService(store, reds, publisher, P, now=clock),
        "erasure": ErasureService(reds, "pepper", now=clock, members=members),
    }


def enrolment(customer_id: str = "M1", **kw) -> EnrolmentRequest:
    values = {
        "customer_id": customer_id,
        "enrolled_at": datetime(2026, 11, 20, 10, tzinfo=UTC),
        "store_id": "S1",
        "channel": None,
        "consents": {"email": True, "sms": False},
        "categories": ("skincare",),
        "max_contacts_per_month": 4,
        **kw,
    }
    return EnrolmentRequest(**values)


def test_enrol_replays_the_same_body_and_refuses_another(world):
    service = world["service"]
    status, first = service.enrol(enrolment())
    assert status == 201
    assert first["consents"] == {"email": True, "sms": False, "push": False}
    assert first["channel"] == "store" and first["store_id"] == "S1"
    assert service.enrol(enrolment()) == (201, first)
    with pytest.raises(ApiError) as refused:
        service.enrol(enrolment(consents={"email": False}))
    assert refused.value.status == 409 and refused.value.code == "already_enrolled"
    card = world["points"].card("M1")
    assert card["enrolled"] is True and card["enrolled_at"] == "2026-11-20T10:00:00Z"
    assert card["preferences"] == {"categories": ["skincare"], "max_contacts_per_month": 4}


def test_a_card_seen_on_a_purchase_is_an_unenrolled_member_and_keeps_its_points_when_enrolled(world):
    world["ingest"].record(transaction_request(transaction_id="T1", customer_id="M2", amount="40.00"))
    card = world["points"].card("M2")
    assert card["enrolled"] is False and card["status"] == "active"
    assert card["consents"] == {"email": False, "sms": False, "push": False}
    world["service"].enrol(enrolment("M2"))
    card = world["points"].card("M2")
    assert card["enrolled"] is True and card["points_balance"] == 40


def test_enrolment_needs_a_store_or_a_channel(world):
    with pytest.raises(ApiError) as refused:
        world["service"].enrol(enrolment(store_id=None, channel=None))
    assert refused.value.status == 400 and refused.value.details[0]["field"] == "store_id"
    assert world["store"].profiles == {}


def test_consent_changes_are_kept_with_time_and_source_bounded_to_the_last_20(world):
    service = world["service"]
    service.enrol(enrolment(channel="web", store_id=None))
    service.update("M1", MemberChange(consents={"sms": True}, source="app"), back_office=False)
    history = service.consents("M1")["history"]
    assert [(h["source"], h["consents"]["sms"]) for h in history] == [("web", False), ("app", True)]
    assert history[1]["at"] == "2026-11-24T12:00:00Z"
    # The same consents again is no change: nothing added.
    service.update("M1", MemberChange(consents={"sms": True}, source="app"), back_office=False)
    assert len(service.consents("M1")["history"]) == 2
    for n in range(30):
        service.update("M1", MemberChange(consents={"push": n % 2 == 0}, source="store"), back_office=False)
    history = service.consents("M1")["history"]
    assert len(history) == MAX_CONSENT_HISTORY
    assert history[-1]["consents"]["push"] is False  # the last change (n = 29) is kept


def test_consents_need_a_source_and_status_needs_the_back_office(world):
    service = world["service"]
    service.enrol(enrolment())
    version = world["store"].profiles["M1"].version
    for change, code, status in (
        (MemberChange(consents={"sms": True}), "invalid_field", 400),
        (MemberChange(status="blocked"), "back_office_only", 403),
        (MemberChange(consents={"sms": True}, source="back_office"), "back_office_only", 403),
    ):
        with pytest.raises(ApiError) as refused:
            service.update("M1", change, back_office=False)
        assert (refused.value.status, refused.value.code) == (status, code)
    assert world["store"].profiles["M1"].version == version  # nothing written
    assert service.update("M1", MemberChange(status="blocked"), back_office=True)["status"] == "blocked"
    with pytest.raises(ApiError) as unknown:
        service.update("nobody", MemberChange(consents={"sms": True}, source="app"), back_office=False)
    assert unknown.value.status == 404


def test_a_blocked_members_purchase_is_recorded_without_points_and_their_redemption_is_403(world):
    world["ingest"].record(transaction_request(transaction_id="T1", customer_id="M1", amount="600.00"))
    world["service"].update("M1", MemberChange(status="blocked"), back_office=True)
    status, answer = world["ingest"].record(
        transaction_request(transaction_id="T2", customer_id="M1", amount="50.00")
    )
    assert status == 201 and answer["points_earned"] == 0
    assert answer["points_withheld"] == {"reason": "member_blocked"}
    assert answer["points_balance"] == world["points"].card("M1")["points_balance"]
    ret = transaction_request(
        transaction_id="R2", customer_id="M1", amount="50.00", original_transaction_id="T2"
    )
    assert world["ingest"].record(ret)[1]["points_earned"] == 0  # nothing earned, nothing taken back
    with pytest.raises(ApiError) as refused:
        world["redemptions"].redeem("M1", "RD1", 500)
    assert (refused.value.status, refused.value.code) == (403, "member_blocked")
    world["service"].update("M1", MemberChange(status="active"), back_office=True)
    assert world["redemptions"].redeem("M1", "RD1", 500)[0] == 201


def interaction(n: int, customer_id: str = "M1", when: datetime | None = None, kind: str = "review"):
    return InteractionRequest(f"I{n}", customer_id, kind, when or FIXED_NOW - timedelta(days=n), "app")


def test_interactions_are_idempotent_and_counted_in_bounded_months(world):
    service = world["service"]
    with pytest.raises(ApiError) as unknown:
        service.interact(interaction(1))
    assert unknown.value.status == 404
    service.enrol(enrolment())
    status, first = service.interact(interaction(1))
    assert status == 201 and first["points_earned"] == 0
    assert service.interact(interaction(1)) == (201, first)  # a retry: counted once
    with pytest.raises(ApiError) as conflict:
        service.interact(interaction(1, kind="survey"))
    assert conflict.value.code == "interaction_conflict"
    member = world["store"].profiles["M1"].member
    assert member.interactions == {"2026-11": 1}
    assert member.last_interaction_at == "2026-11-23T12:00:00Z"
    assert world["points"].card("M1")["last_interaction_at"] == "2026-11-23T12:00:00Z"
    # Months beyond the window are dropped, like the purchase buckets.
    profile = world["store"].profiles["M1"]
    for month in range(1, 25):
        profile = record_interaction(profile, f"{2025 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}", "x")
    assert len(profile.member.interactions) == HISTORY_MONTHS


def test_interactions_in_the_future_or_too_old_are_422(world):
    world["service"].enrol(enrolment())
    for when in (FIXED_NOW + timedelta(days=2), FIXED_NOW - timedelta(days=P.max_age_days + 1)):
        with pytest.raises(ApiError) as refused:
            world["service"].interact(interaction(9, when=when))
        assert refused.value.status == 422 and refused.value.details[0]["field"] == "occurred_at"


def test_contactable_is_consent_and_not_blocked_and_under_the_monthly_limit():
    from loyalty.domain.profile import new_profile

    profile = replace(
        new_profile("M1", "member"),
        member=Membership(consents={"email": True, "push": True}, max_contacts_per_month=2),
    )
    assert contactable(profile, "2026-12") == {"email": True, "sms": False, "push": True}
    sent = count_contacts(count_contacts(profile, "2026-12", 1), "2026-12", 1)
    assert contactable(sent, "2026-12") == {"email": False, "sms": False, "push": False}
    assert contactable(sent, "2027-01")["email"] is True  # a new month, a new allowance
    blocked = replace(profile, member=replace(profile.member, status="blocked"))
    assert not any(contactable(blocked, "2026-12").values())
    assert not any(contactable(new_profile("M2", "member"), "2026-12").values())  # never consented


def weekly_buyer_then_interactions(world, customer_id: str, as_of: date) -> None:
    """Weekly purchases until 200 days before `as_of`, then an interaction every week since."""
    last = datetime.combine(as_of - timedelta(days=200), datetime.min.time(), UTC).replace(hour=12)
    service = world["service"]
    service.enrol(enrolment(customer_id, enrolled_at=last - timedelta(days=200)))
    ingest = replace(world["ingest"], now=lambda: datetime.combine(as_of, datetime.min.time(), UTC))
    for week in range(20):
        body = transaction_request(
            transaction_id=f"{customer_id}-T{week}",
            customer_id=customer_id,
            amount="30.00",
            occurred_at=(last - timedelta(weeks=week)).isoformat(),
        )
        assert ingest.record(body)[0] == 201
    later = replace(service, now=lambda: datetime.combine(as_of, datetime.min.time(), UTC))
    for week in range(1, 29):
        later.interact(interaction(week, customer_id, when=last + timedelta(weeks=week)))


def test_a_silent_buyer_who_still_interacts_is_an_engaged_non_buyer_and_the_event_says_who_to_contact(world):
    as_of = date(2026, 12, 1)
    weekly_buyer_then_interactions(world, "M1", as_of)
    profile = world["store"].profiles["M1"]
    window = RunWindow.as_of(as_of)
    outcome = classify(profile, P, _cuts(), window)
    assert outcome is not None
    assert outcome.classification.dormant and outcome.classification.relational.active
    assert outcome.after.segment == "Engaged non-buyers"
    (segment_event,) = [e for e in outcome.events if str(e.detail_type) == "CustomerSegmentChanged"]
    assert segment_event.detail["contactable"] == {"email": True, "sms": False, "push": False}
    facts = segment_event.detail["facts"]
    assert facts["relationally_active"] is True and facts["relational_frequency_12m"] > 20
    assert facts["relational_recency_days"] < 14
    assert outcome.after.member.contacts_sent == len(outcome.events)
    # Without the interactions the same customer is plain Dormant.
    silent = replace(profile, member=replace(profile.member, interactions={}, last_interaction_at=None))
    assert classify(silent, P, _cuts(), window).after.segment.startswith("Dormant")


def _cuts() -> Cuts:
    """Quintile cuts of a population where this customer scores R1 (no statistics of its own needed)."""
    return Cuts("quintiles", recency=(400, 300, 100, 30), frequency=(2, 5, 10, 20), monetary=(1, 2, 3, 4))


def test_erasure_removes_consents_preferences_and_interactions(world):
    service = world["service"]
    service.enrol(enrolment())
    service.interact(interaction(1))
    world["ingest"].record(transaction_request(transaction_id="T1", customer_id="M1", amount="40.00"))
    world["erasure"].erase("M1")
    assert world["members"].interactions == {}
    (anonymous,) = world["store"].profiles.values()
    assert anonymous.member == Membership()
    assert "skincare" not in repr(asdict(anonymous))
