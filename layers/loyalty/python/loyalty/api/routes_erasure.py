"""DELETE /v1/customers/{customer_id}: erasure on request (GDPR), served by the erasure function."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.app import ERROR_RESPONSES
from loyalty.api.deps import services
from loyalty.api.schemas import CustomerId

router = Router()


@lru_cache(maxsize=1)
def _aws_erasure() -> Any:
    from loyalty.adapters.dynamodb import DynamoErasureStore
    from loyalty.adapters.secrets import erasure_pepper
    from loyalty.service.erasure import ErasureService
    from loyalty.settings import get_settings

    # The pepper from Secrets Manager when configured (raises, and is retried next request, if unreadable).
    return ErasureService(DynamoErasureStore(), erasure_pepper(get_settings()))


def erasure_service() -> Any:
    """Injected through deps.Services.extra["erasure"], or wired to DynamoDB once per container."""
    return services().extra.get("erasure") or _aws_erasure()


@router.delete(
    "/v1/customers/<customer_id>",
    summary="Erase a customer (GDPR)",
    description="The customer id is replaced by an irreversible token in the profile, transactions, "
    "redemptions and vouchers; aggregates are kept under the token. Afterwards the id answers 404. "
    "Idempotent: a retry (also after a crash midway) completes the erasure and answers 204 again.",
    responses={204: {"description": "Erased (or already erased)"}, **ERROR_RESPONSES},
    tags=["customers"],
)
def delete_customer(customer_id: CustomerId):
    erasure_service().erase(customer_id)
    return Response(status_code=204, content_type="application/json", body="")
