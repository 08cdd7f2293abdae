"""The back-office console's marketing routes: the monthly runs' summaries, the programme, and the check
of a candidate programme. Back office only (api/access.py: the admin key, or a signed-in `marketing`
user); served by the points function, the API's reader."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response

router = Router()
TAGS = ["back office"]
FORBIDDEN = {403: {"description": "A store key, or a signed-in user outside the group marketing"}}


@router.get(
    "/v1/back-office/runs",
    summary="The monthly runs' summaries, oldest first (back office: marketing)",
    description="Each period's ReclassificationCompleted summary as the run bucket keeps it: counts per "
    "segment and tier, the migration matrix, experiments and revenue per segment (the last 36).",
    responses={200: {"description": "The runs"}, **ERROR_RESPONSES, **FORBIDDEN},
    tags=TAGS,
)
def get_runs(svc: Annotated[Services, Depends(services)]):
    return json_response(200, svc.back_office_service().runs())


@router.get(
    "/v1/back-office/programme",
    summary="The programme in force, as validated (back office: marketing)",
    responses={200: {"description": "The programme"}, **ERROR_RESPONSES, **FORBIDDEN},
    tags=TAGS,
)
def get_programme(svc: Annotated[Services, Depends(services)]):
    return json_response(200, svc.back_office_service().programme_document())


@router.post(
    "/v1/back-office/programme/validate",
    summary="Check a candidate programme file (back office: marketing)",
    description="The body is the candidate (the programme file's JSON). 200 with it as the loader "
    "validated it, or 422 invalid_programme with the loader's message naming the key. Nothing is stored.",
    responses={200: {"description": "Valid"}, **ERROR_RESPONSES, **FORBIDDEN},
    tags=TAGS,
)
def validate_programme(body: Annotated[dict[str, Any], Body()], svc: Annotated[Services, Depends(services)]):
    return json_response(200, svc.back_office_service().validate(body))
