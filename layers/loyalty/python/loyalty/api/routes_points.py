"""GET a customer's balance card and their transaction history."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response
from loyalty.api.schemas import CustomerId, CustomerOut, HistoryOut

router = Router()


@router.get(
    "/v1/customers/<customer_id>",
    summary="Points balance, tier and progress, segment, 12-month spend and visits, expiry",
    description="One DynamoDB GetItem.",
    responses={
        200: {"description": "The customer", "content": {"application/json": {"model": CustomerOut}}},
        **ERROR_RESPONSES,
    },
    tags=["customers"],
)
def get_customer(customer_id: CustomerId, svc: Annotated[Services, Depends(services)]):
    return json_response(200, svc.points.card(customer_id))


@router.get(
    "/v1/customers/<customer_id>/transactions",
    summary="Transaction history, newest first, paginated by cursor",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": HistoryOut}}},
        **ERROR_RESPONSES,
    },
    tags=["customers"],
)
def get_history(
    customer_id: CustomerId,
    svc: Annotated[Services, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
):
    return json_response(200, svc.points.history(customer_id, limit, cursor))
