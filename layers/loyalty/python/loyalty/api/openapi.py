"""The OpenAPI document, generated from the routers and their models (served at /openapi.json and
/docs by the local gateway), with the bounds and links the generator cannot know."""

from __future__ import annotations

from typing import Any

from loyalty.api.app import build_resolver
from loyalty.api.routes import FUNCTION_ROUTERS, routers_of

API_TITLE = "Loyalty API"
API_VERSION = "1.0.0"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document for every route, generated from the route code and models."""
    import json

    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    routers = [r for function in FUNCTION_ROUTERS for r in routers_of(function)]
    app = build_resolver(*routers)
    schema = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="Purchases, returns, balances and history for store systems. "
        "Authenticate with the x-api-key header.",
        security_schemes={
            "apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header, description="The store key"),
            "adminApiKey": APIKey(
                name="x-api-key", in_=APIKeyIn.header, description="The back-office key (tills never hold it)"
            ),
        },
        security=[{"apiKey": []}, {"adminApiKey": []}],
    )
    document = with_links(state_bounds(json.loads(schema)))
    from loyalty.api.access import BACK_OFFICE_ROUTES

    for method, path in BACK_OFFICE_ROUTES:  # the store key is 403 there
        document["paths"][path][method.lower()]["security"] = [{"adminApiKey": []}]
    return document


# OpenAPI links: what one answer lets a client do next (schemathesis' stateful phase follows them).
_CUSTOMER = {"customer_id": "$response.body#/customer_id"}
LINKS: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {
    ("/v1/transactions", "post", "201"): {
        "ReturnThePurchase": {
            "operationId": "post_transaction_v1_transactions_post",
            "requestBody": {"original_transaction_id": "$response.body#/transaction_id", **_CUSTOMER},
        },
        "ReadTheCard": {
            "operationId": "get_customer_v1_customers__customer_id__get",
            "parameters": _CUSTOMER,
        },
        "ReadTheHistory": {
            "operationId": "get_history_v1_customers__customer_id__transactions_get",
            "parameters": _CUSTOMER,
        },
        "RedeemPoints": {
            "operationId": "post_redemption_v1_customers__customer_id__redemptions_post",
            "parameters": _CUSTOMER,
        },
    },
    ("/v1/customers/{customer_id}/redemptions", "post", "201"): {
        "UseTheVoucher": {
            "operationId": "use_voucher_v1_vouchers__code__use_post",
            "parameters": {"code": "$response.body#/voucher/code"},
        },
        "ListTheVouchers": {
            "operationId": "get_vouchers_v1_customers__customer_id__vouchers_get",
            "parameters": _CUSTOMER,
        },
    },
}


def with_links(document: dict[str, Any]) -> dict[str, Any]:
    operations = {o.get("operationId") for ops in document.get("paths", {}).values() for o in ops.values()}
    for (path, method, status), links in LINKS.items():
        response = document.get("paths", {}).get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {name: link for name, link in links.items() if link["operationId"] in operations}
    return document


def state_bounds(document: dict[str, Any]) -> dict[str, Any]:
    """Bounds the generated document misses, stated from their one source: the customer id's pattern
    (Powertools drops it from a path parameter that has a validator), the programme's currency and
    voucher block, and the body limit."""
    from loyalty.api.deps import programme
    from loyalty.api.schemas import ID_MAX, ID_PATTERN
    from loyalty.settings import get_settings

    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "customer_id" and parameter.get("in") == "path":
                    parameter["schema"].update(pattern=ID_PATTERN, minLength=1, maxLength=ID_MAX)
    prog = programme()
    schemas = document.get("components", {}).get("schemas", {})
    if "TransactionIn" in schemas:
        schemas["TransactionIn"]["properties"]["currency"]["enum"] = [prog.currency]
    if "RedemptionIn" in schemas:
        points = schemas["RedemptionIn"]["properties"]["points"]
        points["multipleOf"] = prog.vouchers.block_points
        points["description"] = (
            f"A positive multiple of the programme's voucher block ({prog.vouchers.block_points})"
        )
    limit = get_settings().max_body
    document["info"]["description"] += (
        f" Request bodies are one JSON object of at most {limit} bytes (else 413)."
    )
    return document
