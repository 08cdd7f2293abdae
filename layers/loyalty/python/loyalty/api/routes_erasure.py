"""DELETE /v1/customers/{customer_id}: erasure on request (GDPR), served by the erasure function."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends, Response
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES
from loyalty.api.schemas import CustomerId

router = Router()


@router.delete(
    "/v1/customers/<customer_id>",
    summary="Erase a customer (GDPR)",
    description="The customer id is replaced by an irreversible token in the profile, transactions, "
    "redemptions and vouchers; aggregates are kept under the token. Afterwards the id answers 404. "
    "Idempotent: a retry (also after a crash midway) completes the erasure and answers 204 again.",
    responses={204: {"description": "Erased (or already erased)"}, **ERROR_RESPONSES},
    tags=["customers"],
)
def delete_customer(customer_id: CustomerId, svc: Annotated[Services, Depends(services)]):
    svc.erasure_service().erase(customer_id)
    return Response(status_code=204, content_type="application/json", body="")
