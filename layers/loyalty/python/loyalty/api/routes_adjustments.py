"""POST /v1/customers/{customer_id}/adjustments: back-office points adjustments (the admin key only:
api/access.py; served by the redemptions function, which already writes the customer's points)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field, StrictInt, StrictStr

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response
from loyalty.api.schemas import CustomerId, Strict, id_field
from loyalty.service.adjustments import MAX_NOTE, MAX_POINTS, AdjustmentRequest

router = Router()

Reason = Literal["goodwill", "correction", "migration", "promotion", "other"]


class AdjustmentIn(Strict):
    adjustment_id: str = id_field("The back office's unique id; retries reuse it")  # type: ignore[assignment]
    points: StrictInt = Field(
        ge=-MAX_POINTS, le=MAX_POINTS, description="Non-zero: positive gives points, negative takes them"
    )
    reason: Reason
    note: StrictStr = Field(default="", max_length=MAX_NOTE, description="Free text for the ledger")


class AdjustmentOut(BaseModel):
    customer_id: str
    adjustment_id: str
    points: int
    reason: Reason
    note: str
    created_at: str
    points_balance: int = Field(description="What can be spent right after the adjustment")
    points_pending: int


@router.post(
    "/v1/customers/<customer_id>/adjustments",
    summary="Add or take points (back office: the admin API key)",
    description="A positive adjustment is a lot earned today (it expires by the programme's policy); a "
    "negative one takes spendable points, nearest expiry first, and is 409 insufficient_points above the "
    "spendable balance. Idempotent by adjustment_id: the same body again answers as the first time (201), "
    "the same id with another body is 409 adjustment_conflict. A till's key is 403. Publishes "
    "PointsAdjusted.",
    responses={
        201: {"description": "Adjusted", "content": {"application/json": {"model": AdjustmentOut}}},
        **ERROR_RESPONSES,
    },
    tags=["back office"],
)
def post_adjustment(
    customer_id: CustomerId,
    body: Annotated[AdjustmentIn, Body()],
    svc: Annotated[Services, Depends(services)],
):
    request = AdjustmentRequest(customer_id, body.adjustment_id, body.points, body.reason, body.note)
    status, answer = svc.adjustment_service().adjust(request)
    return json_response(status, answer)
