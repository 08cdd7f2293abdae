"""POST /v1/customers/{customer_id}/redemptions: points to a voucher (served by the redemptions function,
with the voucher routes in routes_vouchers.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field, StrictInt

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response
from loyalty.api.schemas import CustomerId, Strict, id_field

router = Router()


class RedemptionIn(Strict):
    redemption_id: str = id_field("The caller's unique id; retries reuse it")  # type: ignore[assignment]
    points: StrictInt = Field(gt=0, description="A multiple of the programme's voucher block (default 500)")


class VoucherOut(BaseModel):
    code: str = Field(description="16 characters of Crockford base32 in groups of 4 (80 random bits)")
    status: Literal["issued", "used", "expired", "cancelled"]
    value: str = Field(description='Decimal string, e.g. "5.00"')
    currency: str
    points: int
    redemption_id: str
    issued_at: str
    expires_on: str = Field(description="Last day of validity, in the programme time zone")
    used_at: str | None
    use_id: str | None = Field(default=None, description="The till's id of the use that spent it")
    cancelled_at: str | None = Field(default=None, description="When the back office cancelled it")
    kind: Literal["value", "percent"] = Field(
        default="value", description="value: worth `value`; percent: `percent` off, applied by the till"
    )
    percent: int | None = Field(default=None, description="A percent voucher's discount, 1 to 100")
    cause: Literal["redemption", "tier_reward", "season"] = Field(
        default="redemption", description="Why it was issued (docs/rules-and-rewards.md)"
    )


class RedemptionOut(BaseModel):
    customer_id: str
    redemption_id: str
    points_redeemed: int
    points_balance: int = Field(description="The balance right after this redemption")
    voucher: VoucherOut


@router.post(
    "/v1/customers/<customer_id>/redemptions",
    summary="Turn points into a voucher",
    description="One voucher of the whole value per redemption; `points` must be a positive multiple of the "
    "programme's block (default 500 points = 5.00 EUR), else 400/422. Idempotent by redemption_id: the same "
    "body again answers as the first time (201), the same id with another body is 409. A balance that "
    "does not cover `points` (or is negative) is 409, even under concurrent requests. "
    "Publishes VoucherIssued.",
    responses={
        201: {"description": "Redeemed", "content": {"application/json": {"model": RedemptionOut}}},
        **ERROR_RESPONSES,
    },
    tags=["vouchers"],
)
def post_redemption(
    customer_id: CustomerId,
    body: Annotated[RedemptionIn, Body()],
    svc: Annotated[Services, Depends(services)],
):
    status, answer = svc.vouchers.redeem(customer_id, body.redemption_id, body.points)
    return json_response(status, answer)
