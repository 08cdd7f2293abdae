"""POST /v1/transactions: a purchase or a return."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.deps import Services, services
from loyalty.api.responses import ERROR_RESPONSES, json_response
from loyalty.api.schemas import TransactionIn, TransactionOut
from loyalty.service.transactions import TransactionRequest

router = Router()


@router.post(
    "/v1/transactions",
    summary="Record a purchase or a return",
    description="Idempotent by transaction_id: the same body again answers as the first time and counts "
    "once; the same id with another body is 409. A return (original_transaction_id set) above what is left "
    "of its purchase is 422.",
    responses={
        201: {"description": "Recorded", "content": {"application/json": {"model": TransactionOut}}},
        **ERROR_RESPONSES,
    },
    tags=["transactions"],
)
def post_transaction(body: Annotated[TransactionIn, Body()], svc: Annotated[Services, Depends(services)]):
    raw = router.current_event.json_body
    request = TransactionRequest(
        transaction_id=body.transaction_id,
        customer_id=body.customer_id,
        store_id=body.store_id,
        channel=body.channel,
        occurred_at=body.occurred_at,
        currency=body.currency,
        amount=body.amount,
        lines=[line.model_dump() for line in body.lines or []],
        original_transaction_id=body.original_transaction_id,
        raw=raw,
        referral_code=body.referral_code,
    )
    status, answer = svc.ingest.record(request)
    return json_response(status, answer)
