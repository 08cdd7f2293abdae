"""GET a customer's points ledger: every movement of their points, newest first."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response
from loyalty.api.schemas import CustomerId, LedgerOut

router = Router()


@router.get(
    "/v1/customers/<customer_id>/points-history",
    summary="The points ledger: every movement of the points, newest first, paginated by cursor",
    description=(
        "Each entry: `kind` (earned, returned, redeemed, expired, adjusted), signed `points`, "
        "`balance_after` (the points total after it, pending points included: each entry's balance_after "
        "is the next older entry's plus its points), `at`, and its reference: `transaction_id`, "
        "`redemption_id` (a redemption, and the points its cancelled voucher gave back), `adjustment_id` "
        "or `period` (the monthly run that booked an expiry). An earned entry of a programme with a "
        "return window has `available_on`: the day its points became (or become) spendable. A cursor "
        "is only accepted for the customer it was returned for (400 otherwise)."
    ),
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": LedgerOut}}},
        **ERROR_RESPONSES,
    },
    tags=["customers"],
)
def get_points_history(
    customer_id: CustomerId,
    svc: Annotated[Services, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
):
    return json_response(200, svc.ledger_service().history(customer_id, limit, cursor))
