"""A customer's vouchers, and spending one (served by the redemptions function)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel

from loyalty.api.app import ERROR_RESPONSES, _error_doc, json_response
from loyalty.api.routes_redemptions import CustomerId, VoucherOut, redemption_service

router = Router()


class VouchersOut(BaseModel):
    items: list[VoucherOut]
    next_cursor: str | None


@router.get(
    "/v1/customers/<customer_id>/vouchers",
    summary="A customer's vouchers, newest first, paginated by cursor",
    description="Status issued, used or expired (expired: past expires_on in the programme time zone).",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": VouchersOut}}},
        **ERROR_RESPONSES,
    },
    tags=["vouchers"],
)
def get_vouchers(
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
):
    return json_response(200, redemption_service().list_vouchers(customer_id, limit, cursor))


@router.post(
    "/v1/vouchers/<code>/use",
    summary="Spend a voucher, exactly once",
    description="A conditional update: of two concurrent uses, one succeeds and the other is 409. "
    "Codes are case-insensitive; dashes are optional. 404 unknown code, 409 already used, 410 expired.",
    responses={
        200: {"description": "Spent", "content": {"application/json": {"model": VoucherOut}}},
        **ERROR_RESPONSES,
        410: _error_doc("Expired"),
    },
    tags=["vouchers"],
)
def use_voucher(code: Annotated[str, Path(min_length=1, max_length=64, description="The voucher code")]):
    return json_response(200, redemption_service().use_voucher(code))
