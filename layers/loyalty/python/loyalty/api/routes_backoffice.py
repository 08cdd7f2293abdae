"""The back-office console's marketing routes: the monthly runs' summaries, the programme, and the check
of a candidate programme. Back office only (api/access.py: the admin key, or a signed-in `marketing`
user); served by the points function, the API's reader."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
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


@router.post(
    "/v1/back-office/programme/what-if",
    summary="Start the what-if run of a candidate programme (back office: marketing)",
    description="The body is the candidate, checked as /validate checks it (422 invalid_programme "
    "naming the key). The monthly run's state machine is started with its dry-run input: every customer "
    "classified under the candidate for the period before `as_of` (default today), nothing written, "
    "nothing published. 202 with the what-if id and the URL to poll. The same candidate for the same "
    "period answers the same id, started once (a double click, a retry).",
    responses={202: {"description": "Started (or started before)"}, **ERROR_RESPONSES, **FORBIDDEN},
    tags=TAGS,
)
def start_what_if(
    body: Annotated[dict[str, Any], Body()],
    svc: Annotated[Services, Depends(services)],
    as_of: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD, programme zone")] = None,
):
    answer = svc.back_office_service().start_what_if(body, as_of)
    response = json_response(202, answer)
    response.headers["Location"] = answer["poll"]
    return response


@router.get(
    "/v1/back-office/programme/what-if/<what_if_id>",
    summary="A what-if run: running, its report, or why it failed (back office: marketing)",
    description="202 while the run runs; 200 with `report` (the dry run's report: segments and tiers "
    "before and after, the migration matrix, what would change) when it succeeded; 422 when the "
    "candidate made it fail, 409 for another failure, with the failure in words; 404 for an id no run "
    "has; 400 for a malformed id.",
    responses={
        200: {"description": "The report"},
        202: {"description": "Still running"},
        **ERROR_RESPONSES,
        **FORBIDDEN,
    },
    tags=TAGS,
)
def get_what_if(
    what_if_id: Annotated[str, Path(max_length=100)], svc: Annotated[Services, Depends(services)]
):
    status, answer = svc.back_office_service().what_if(what_if_id)
    return json_response(status, answer)
