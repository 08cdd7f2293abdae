"""The Powertools resolver every API function uses: validation, error envelope, body size limit."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router

from loyalty.service.ingest import ApiError
from loyalty.settings import get_settings

ERROR_RESPONSES: dict[int | str, Any] = {
    400: {"description": "Invalid request: the message names the field"},
    403: {"description": "Missing or wrong x-api-key"},
    404: {"description": "Not found"},
    409: {"description": "Conflict"},
    413: {"description": "Body too large"},
    422: {"description": "Valid request the rules refuse"},
}


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def json_response(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        details = []
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            kind = error.get("type", "")
            if kind in ("json_invalid", "model_attributes_type") and len(loc) <= 1:
                return error_response(400, "invalid_json", "body: must be a JSON object", None)
            message = "is required" if kind == "missing" else (
                "is not a known field" if kind == "extra_forbidden" else error.get("msg", "is invalid")
            )
            details.append({"field": _field_of(loc), "message": message})
        first = details[0] if details else {"field": "body", "message": "is invalid"}
        return error_response(400, "invalid_field", f"{first['field']}: {first['message']}", details)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(404, "not_found", "no such route")

    for router in routers:
        app.include_router(router)
    return app


def handle(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Resolve an API Gateway proxy event, refusing oversized bodies before parsing them."""
    body = event.get("body") or ""
    if len(body) > get_settings().max_body:
        limit = get_settings().max_body
        response = error_response(413, "body_too_large", f"body: larger than {limit} bytes")
        return {
            "statusCode": 413,
            "headers": {"Content-Type": "application/json"},
            "body": response.body,
            "isBase64Encoded": False,
        }
    return app.resolve(event, context)
