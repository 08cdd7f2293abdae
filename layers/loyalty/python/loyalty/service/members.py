"""Members: POST /v1/customers (enrolment), PATCH /v1/customers/{id} (consents, preferences, status),
GET /v1/customers/{id}/consents (the proof of consent), POST /v1/customers/{id}/interactions.

Each write is one read of the profile and one conditional write at its version, retried on conflict
(service/retry.py), as ingest does; the rules are domain/members.py's."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from loyalty.domain.content_hash import content_hash
from loyalty.domain.dates import iso_utc
from loyalty.domain.members import (
    BLOCKED,
    Enrolment,
    MemberChange,
    change_member,
    enrol,
    full_consents,
    record_interaction,
)
from loyalty.domain.profile import Profile, new_profile
from loyalty.errors import ApiError, all_of, field_error
from loyalty.ports import (
    CustomerStore,
    DuplicateInteraction,
    MemberStore,
    StoredInteraction,
    Throttled,
    VersionConflict,
)
from loyalty.programme import Programme
from loyalty.service.retry import attempts
from loyalty.service.transactions import erased_error, instant_problem


@dataclass(frozen=True)
class EnrolmentRequest:
    """An enrolment as received (the API has checked types and shapes)."""

    customer_id: str
    enrolled_at: datetime
    store_id: str | None
    channel: str | None
    consents: Mapping[str, bool]
    categories: tuple[str, ...] = ()
    max_contacts_per_month: int | None = None


@dataclass(frozen=True)
class InteractionRequest:
    interaction_id: str
    customer_id: str
    kind: str
    occurred_at: datetime
    channel: str


def back_office_only(field: str) -> ApiError:
    return ApiError(
        403,
        "back_office_only",
        f"{field}: only the back-office (admin) API key may set it",
        [{"field": field, "message": "needs the back-office (admin) API key"}],
    )


def member_blocked_error() -> ApiError:
    return ApiError(
        403,
        "member_blocked",
        "customer_id: this member is blocked; points cannot be redeemed",
        [{"field": "customer_id", "message": "is blocked"}],
    )


def _not_found(customer_id: str) -> ApiError:
    return ApiError(404, "customer_not_found", f"customer_id: no customer {customer_id!r}")


def _busy() -> ApiError:
    return ApiError(503, "busy", "too many concurrent updates for this customer; retry shortly")


def preferences_view(profile: Profile) -> dict[str, Any]:
    member = profile.member
    return {"categories": list(member.categories), "max_contacts_per_month": member.max_contacts_per_month}


def member_fields(profile: Profile) -> dict[str, Any]:
    """What the card (GET /v1/customers/{id}) and the PATCH answer show of the membership."""
    member = profile.member
    return {
        "enrolled": member.enrolled,
        "enrolled_at": member.enrolled_at,
        "status": member.status,
        "consents": full_consents(member.consents),
        "preferences": preferences_view(profile),
        "last_interaction_at": member.last_interaction_at,
    }


def enrolment_answer(enrolment: Enrolment) -> dict[str, Any]:
    """From the enrolment alone, so that the same body replays the same answer."""
    return {
        "customer_id": enrolment.customer_id,
        "enrolled": True,
        "enrolled_at": enrolment.enrolled_at,
        "store_id": enrolment.store_id,
        "channel": enrolment.channel,
        "consents": full_consents(enrolment.consents),
        "preferences": {
            "categories": list(enrolment.categories),
            "max_contacts_per_month": enrolment.max_contacts_per_month,
        },
    }


@dataclass
class MembersService:
    customers: CustomerStore
    members: MemberStore
    programme: Programme
    max_attempts: int = 30
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- enrolment ----------------------------------------------------------------------------

    def validate_enrolment(self, request: EnrolmentRequest) -> Enrolment:
        problems = []
        if request.store_id is None and request.channel is None:
            problems.append(
                field_error("store_id", "store_id or channel is required (where the member enrolled)")
            )
        if request.channel not in (None, "store") and request.store_id is not None:
            problems.append(field_error("store_id", "is only for an enrolment in a store (channel store)"))
        late = instant_problem("enrolled_at", request.enrolled_at, self.now(), None)
        if late:
            problems.append(late)
        if problems:
            raise all_of(problems)
        return Enrolment(
            customer_id=request.customer_id,
            enrolled_at=iso_utc(request.enrolled_at),
            store_id=request.store_id,
            channel=request.channel or "store",
            consents=full_consents(request.consents),
            categories=tuple(dict.fromkeys(request.categories)),
            max_contacts_per_month=request.max_contacts_per_month,
        )

    def enrol(self, request: EnrolmentRequest) -> tuple[int, dict[str, Any]]:
        """201 and the enrolment; the same body again replays it; another body for an enrolled id is 409.
        A card first seen on a purchase (enrolled false) is enrolled and keeps its points."""
        enrolment = self.validate_enrolment(request)
        for _ in attempts(self.max_attempts, self.sleep):
            profile = self.customers.get(enrolment.customer_id)
            if profile is not None and profile.erased:
                raise erased_error()
            if profile is not None and profile.member.enrolled:
                if profile.member.enrolment_hash == enrolment.content_hash:
                    return 201, enrolment_answer(enrolment)
                raise ApiError(
                    409,
                    "already_enrolled",
                    "customer_id: already enrolled with other details; change consents and preferences "
                    "with PATCH /v1/customers/{customer_id}",
                    [{"field": "customer_id", "message": "already enrolled"}],
                )
            base = profile or new_profile(enrolment.customer_id, self.programme.base_tier.name)
            updated = enrol(base, enrolment, iso_utc(self.now()))
            try:
                self.members.save_profile(updated, profile.version if profile else None)
            except (VersionConflict, Throttled):
                continue
            return 201, enrolment_answer(enrolment)
        raise _busy()

    # -- consents, preferences, status --------------------------------------------------------

    def update(self, customer_id: str, change: MemberChange, back_office: bool) -> dict[str, Any]:
        """Consents and preferences (any key; consents need their `source`); status only with the
        back-office key (403 otherwise, before anything is read or written)."""
        if change.status is not None and not back_office:
            raise back_office_only("status")
        if change.source == "back_office" and not back_office:
            raise back_office_only("source")
        if change.consents is not None and change.source is None:
            raise field_error("source", "is required with consents: one of store, web, app, back_office")
        for _ in attempts(self.max_attempts, self.sleep):
            profile = self.customers.get(customer_id)
            if profile is None:
                raise _not_found(customer_id)
            if profile.erased:
                raise erased_error()
            updated = change_member(profile, change, iso_utc(self.now()))
            if updated != profile:
                try:
                    self.members.save_profile(updated, profile.version)
                except (VersionConflict, Throttled):
                    continue
            return {"customer_id": customer_id, **member_fields(updated)}
        raise _busy()

    def consents(self, customer_id: str) -> dict[str, Any]:
        """The consents and the last changes, oldest first: the proof of consent (one GetItem)."""
        profile = self.customers.get(customer_id)
        if profile is None or profile.erased:
            raise _not_found(customer_id)
        member = profile.member
        return {
            "customer_id": customer_id,
            "consents": full_consents(member.consents),
            "history": [
                {"at": c.at, "source": c.source, "consents": full_consents(c.consents)}
                for c in member.consent_history
            ],
        }

    # -- interactions -------------------------------------------------------------------------

    def interact(self, request: InteractionRequest) -> tuple[int, dict[str, Any]]:
        """201; the same interaction again replays (counted once); the same id with other content 409."""
        problem = instant_problem("occurred_at", request.occurred_at, self.now(), self.programme.max_age_days)
        if problem:
            raise problem
        stored = _stored_interaction(request)
        month = self.programme.month_of(request.occurred_at)
        for _ in attempts(self.max_attempts, self.sleep):
            profile = self.customers.get(request.customer_id)
            if profile is None:
                if self.members.get_interaction(request.interaction_id) is not None:
                    return self._replay(stored)
                raise _not_found(request.customer_id)
            if profile.erased:
                raise erased_error()
            updated = record_interaction(profile, month, iso_utc(request.occurred_at))
            try:
                self.members.record_interaction(stored, updated, profile.version)
            except DuplicateInteraction:
                return self._replay(stored)
            except (VersionConflict, Throttled):
                continue
            return 201, interaction_answer(stored)
        raise _busy()

    def _replay(self, stored: StoredInteraction) -> tuple[int, dict[str, Any]]:
        first = self.members.get_interaction(stored.interaction_id)
        if first is None or first.body_hash != stored.body_hash:
            raise ApiError(
                409,
                "interaction_conflict",
                "interaction_id: already used for a different interaction",
                [{"field": "interaction_id", "message": "already used with other content"}],
            )
        return 201, interaction_answer(first)


def _stored_interaction(request: InteractionRequest) -> StoredInteraction:
    when = iso_utc(request.occurred_at)
    content = [request.customer_id, request.kind, when, request.channel]
    digest = content_hash(content)
    return StoredInteraction(
        interaction_id=request.interaction_id,
        customer_id=request.customer_id,
        kind=request.kind,
        occurred_at=request.occurred_at.isoformat(),
        occurred_key=f"{when}#{request.interaction_id}",
        channel=request.channel,
        body_hash=digest,
    )


def interaction_answer(stored: StoredInteraction) -> dict[str, Any]:
    return {
        "interaction_id": stored.interaction_id,
        "customer_id": stored.customer_id,
        "kind": stored.kind,
        "occurred_at": stored.occurred_at,
        "channel": stored.channel,
        "points_earned": 0,  # interactions earn nothing by default
    }


__all__ = ["BLOCKED", "EnrolmentRequest", "InteractionRequest", "MembersService", "member_blocked_error"]
