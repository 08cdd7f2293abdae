"""Members: enrolment, consents and preferences, status (back-office key only), interactions."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.access import caller_is_back_office
from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response
from loyalty.api.schemas import (
    ConsentHistoryOut,
    CustomerId,
    EnrolmentIn,
    EnrolmentOut,
    InteractionIn,
    InteractionOut,
    MemberOut,
    MemberPatchIn,
)
from loyalty.domain.members import MemberChange
from loyalty.errors import field_error
from loyalty.service.members import EnrolmentRequest, InteractionRequest

router = Router()


@router.post(
    "/v1/customers",
    summary="Enrol a member: where, when, consents and preferences",
    description="Idempotent by customer_id: the same body again answers as the first time; another body "
    "for an enrolled member is 409. A card first seen on a purchase (enrolled false) is enrolled and keeps "
    "its points.",
    responses={
        201: {"description": "Enrolled", "content": {"application/json": {"model": EnrolmentOut}}},
        **ERROR_RESPONSES,
    },
    tags=["members"],
)
def post_customer(body: Annotated[EnrolmentIn, Body()], svc: Annotated[Services, Depends(services)]):
    preferences = body.preferences
    request = EnrolmentRequest(
        customer_id=body.customer_id,
        enrolled_at=body.enrolled_at,
        store_id=body.store_id,
        channel=body.channel,
        consents={k: v for k, v in body.consents.model_dump().items() if v is not None},
        categories=tuple(preferences.categories or ()) if preferences else (),
        max_contacts_per_month=preferences.max_contacts_per_month if preferences else None,
    )
    status, answer = svc.member_service.enrol(request)
    return json_response(status, answer)


@router.patch(
    "/v1/customers/<customer_id>",
    summary="Change a member's consents and preferences, or (back-office key) their status",
    description="Consents need their `source` and every change is kept (the last 20) as proof of consent. "
    "`status` (active | blocked) needs the back-office key: 403 back_office_only with the store key. A "
    "blocked member's purchases earn nothing and their redemptions are 403 member_blocked.",
    responses={
        200: {"description": "The member now", "content": {"application/json": {"model": MemberOut}}},
        **ERROR_RESPONSES,
    },
    tags=["members"],
)
def patch_customer(
    customer_id: CustomerId,
    body: Annotated[MemberPatchIn, Body()],
    svc: Annotated[Services, Depends(services)],
):
    if not body.model_fields_set - {"source"}:
        raise field_error("body", "nothing to change: give consents, preferences or status")
    preferences = body.preferences
    given = preferences.model_fields_set if preferences else set()
    change = MemberChange(
        consents=(
            {k: v for k, v in body.consents.model_dump().items() if v is not None} if body.consents else None
        ),
        source=body.source,
        categories=tuple(preferences.categories or ()) if preferences and "categories" in given else None,
        max_contacts_per_month=preferences.max_contacts_per_month if preferences else None,
        max_contacts_given="max_contacts_per_month" in given,
        status=body.status,
    )
    back_office = caller_is_back_office(router.current_event.raw_event)
    return json_response(200, svc.member_service.update(customer_id, change, back_office))


@router.get(
    "/v1/customers/<customer_id>/consents",
    summary="A member's consents and the last 20 changes (time, source): the proof of consent",
    description="One DynamoDB GetItem.",
    responses={
        200: {"description": "Consents", "content": {"application/json": {"model": ConsentHistoryOut}}},
        **ERROR_RESPONSES,
    },
    tags=["members"],
)
def get_consents(customer_id: CustomerId, svc: Annotated[Services, Depends(services)]):
    return json_response(200, svc.member_service.consents(customer_id))


@router.post(
    "/v1/customers/<customer_id>/interactions",
    summary="Record an interaction (app open, review, newsletter click, survey, store visit)",
    description="Idempotent by interaction_id: the same body again answers as the first time and counts "
    "once; the same id with another body is 409. Interactions earn no points; they make the member "
    "relationally active for segmentation.",
    responses={
        201: {"description": "Recorded", "content": {"application/json": {"model": InteractionOut}}},
        **ERROR_RESPONSES,
    },
    tags=["members"],
)
def post_interaction(
    customer_id: CustomerId,
    body: Annotated[InteractionIn, Body()],
    svc: Annotated[Services, Depends(services)],
):
    request = InteractionRequest(
        interaction_id=body.interaction_id,
        customer_id=customer_id,
        kind=body.kind,
        occurred_at=body.occurred_at,
        channel=body.channel,
    )
    status, answer = svc.member_service.interact(request)
    return json_response(status, answer)
