"""A customer's vouchers, spending one at a till, and cancelling one in the back office (served by the
redemptions function)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import Router
from pydantic import BaseModel, Field

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, error_doc, json_response
from loyalty.api.routes_redemptions import VoucherOut
from loyalty.api.schemas import ID_PATTERN, CustomerId, Strict

router = Router()

VoucherCode = Annotated[str, Path(min_length=1, max_length=64, description="The voucher code")]


class VouchersOut(BaseModel):
    items: list[VoucherOut]
    next_cursor: str | None


class VoucherUseIn(Strict):
    use_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="The till's id for this use (e.g. its ticket number); a retry sends the same id",
    )


class VoucherCancelOut(BaseModel):
    customer_id: str
    points_returned: int = Field(description="The voucher's points, given back to the card")
    points_balance: int = Field(description="The card's balance right after the cancel")
    voucher: VoucherOut


@router.get(
    "/v1/customers/<customer_id>/vouchers",
    summary="A customer's vouchers, newest first, paginated by cursor",
    description="Status issued, used, cancelled or expired (expired: past expires_on in the programme "
    "time zone).",
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": VouchersOut}}},
        **ERROR_RESPONSES,
    },
    tags=["vouchers"],
)
def get_vouchers(
    customer_id: CustomerId,
    svc: Annotated[Services, Depends(services)],
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
):
    return json_response(200, svc.vouchers.list_vouchers(customer_id, limit, cursor))


@router.post(
    "/v1/vouchers/<code>/use",
    summary="Spend a voucher, exactly once",
    description="A conditional update: of two concurrent uses, one succeeds and the other is 409. "
    "Codes are case-insensitive; dashes are optional. The body is optional: with a `use_id`, a retry of "
    "the same use (same id) answers 200 with the first answer; another id on a used voucher is 409. "
    "404 unknown code, 409 already used or cancelled, 410 expired.",
    responses={
        200: {"description": "Spent", "content": {"application/json": {"model": VoucherOut}}},
        **ERROR_RESPONSES,
        410: error_doc("Expired"),
    },
    tags=["vouchers"],
)
def use_voucher(
    code: VoucherCode,
    svc: Annotated[Services, Depends(services)],
    body: Annotated[VoucherUseIn | None, Body()] = None,
):
    return json_response(200, svc.vouchers.use_voucher(code, body.use_id if body else None))


@router.post(
    "/v1/vouchers/<code>/cancel",
    summary="Cancel an unused voucher and give its points back (back office only)",
    description="Back-office (admin) API key only: a store key is 403. Voids an issued, unexpired voucher "
    "and adds its points back to the card, in one transaction with the voucher's change of status, so "
    "the points come back once. A retry answers 200 with the first answer. Of a cancel and a use "
    "racing, exactly one wins; the other is 409. 404 unknown code, 409 used (or the customer was "
    "erased), 410 expired. Publishes VoucherCancelled.",
    responses={
        200: {"description": "Cancelled", "content": {"application/json": {"model": VoucherCancelOut}}},
        **ERROR_RESPONSES,
        403: {"description": "A store key (back_office_only), or a missing or wrong key (API Gateway)"},
        410: error_doc("Expired"),
    },
    tags=["vouchers", "back office"],
)
def cancel_voucher(code: VoucherCode, svc: Annotated[Services, Depends(services)]):
    return json_response(200, svc.vouchers.cancel_voucher(code))
