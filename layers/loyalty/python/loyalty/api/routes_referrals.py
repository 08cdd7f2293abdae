"""POST /v1/customers/{customer_id}/referral-code: the customer's stable referral code."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response
from loyalty.api.schemas import CustomerId

router = Router()


class ReferralCodeOut(BaseModel):
    customer_id: str
    referral_code: str = Field(description="8 characters of Crockford base32; the same at every call")


@router.post(
    "/v1/customers/<customer_id>/referral-code",
    summary="The customer's referral code (created at the first call, the same ever after)",
    description="Idempotent: every call answers 200 with the same code. A referee's first purchase "
    "carrying it as `referral_code` rewards both (programme `referrals`, docs/rules-and-rewards.md). "
    "Unknown or erased customer: 404.",
    responses={
        200: {"description": "The code", "content": {"application/json": {"model": ReferralCodeOut}}},
        **ERROR_RESPONSES,
    },
    tags=["customers"],
)
def post_referral_code(customer_id: CustomerId, svc: Annotated[Services, Depends(services)]):
    return json_response(200, svc.referral_service().code_for(customer_id))
