"""The Powertools resolver every API function uses: validation, error envelope, body size limit."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.schemas import ErrorOut
from loyalty.ports import PublishFailed, Throttled
from loyalty.service.ingest import ApiError
from loyalty.settings import get_settings

logger = Logger(child=True)


class _NoRouteArguments(logging.Filter):
    """Powertools logs every route's parsed arguments (the request body, customer data) at DEBUG:
    drop that record, so that turning DEBUG on (POWERTOOLS_DEBUG, Lambda log level) cannot leak it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Calling API Route Handler")


for _name in (
    "aws_lambda_powertools.event_handler.api_gateway",
    "aws_lambda_powertools.event_handler.middlewares.async_utils",
):
    logging.getLogger(_name).addFilter(_NoRouteArguments())


def _error_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorOut}}}


ERROR_RESPONSES: dict[int | str, Any] = {
    400: _error_doc("Invalid request: the message names the field"),
    403: {"description": "Missing or wrong x-api-key (API Gateway)"},
    404: _error_doc("Not found"),
    409: _error_doc("Conflict"),
    413: _error_doc("Body too large"),
    422: _error_doc("Valid request the rules refuse"),
    503: _error_doc("Too many concurrent updates for one customer; retry"),
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
            if kind == "json_invalid" or (kind == "model_attributes_type" and len(loc) <= 1):
                return error_response(400, "invalid_json", "body: must be a JSON object", None)
            message = (
                "is required"
                if kind == "missing"
                else ("is not a known field" if kind == "extra_forbidden" else error.get("msg", "is invalid"))
            )
            details.append({"field": _field_of(loc), "message": message})
        first = details[0] if details else {"field": "body", "message": "is invalid"}
        return error_response(400, "invalid_field", f"{first['field']}: {first['message']}", details)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(Throttled)
    def _throttled(exc: Throttled) -> Response:
        # DynamoDB kept throttling after the SDK's retries: nothing was written, the caller retries.
        return error_response(503, "throttled", "the data store is busy; retry shortly")

    @app.exception_handler(PublishFailed)
    def _publish_failed(exc: PublishFailed) -> Response:
        # The write committed but its events did not all reach the bus. A retry of the same
        # request answers as the first time and publishes them again (same event ids).
        logger.warning("events not delivered after retries; the caller's retry will republish")
        return error_response(
            503,
            "events_pending",
            "the request was recorded but its events are not yet delivered; retry the same request",
        )

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # Never a stack trace to the caller; the log has it (without the request body).
        logger.exception("unhandled error")
        return error_response(500, "internal_error", "internal error; the request was not applied")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(404, "not_found", "no such route")

    for router in routers:
        app.include_router(router)
    return app


def api_handler(function: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of an API function: its routers (from loyalty.api.routes), Powertools
    logging with the API Gateway correlation id, and EMF metrics flushed after every call."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.logging import correlation_paths

    from loyalty.api.routes import routers_of

    service_logger = Logger()
    metrics = Metrics(namespace="Loyalty")
    app = build_resolver(*routers_of(function))

    @service_logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return handle(app, event, context, metrics)

    return handler


def handle(
    app: APIGatewayRestResolver, event: dict[str, Any], context: Any, metrics: Any = None
) -> dict[str, Any]:
    """Resolve an API Gateway proxy event, refusing oversized bodies before parsing them, and
    count responses by status class (EMF metrics 2xx/4xx/5xx)."""
    response = _handle(app, event, context)
    if metrics is not None:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(
            name=f"Responses{int(response['statusCode']) // 100}xx", unit=MetricUnit.Count, value=1
        )
    return response


def _handle(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body") or ""
    if len(body) > get_settings().max_body:
        limit = get_settings().max_body
        return _early(error_response(413, "body_too_large", f"body: larger than {limit} bytes"))
    if body and event.get("isBase64Encoded") and not _utf8(body):
        # API Gateway base64-encodes a body that is not text: JSON it cannot be.
        return _early(error_response(400, "invalid_json", "body: must be a JSON object (UTF-8)"))
    from loyalty.api.access import refused

    if refusal := refused(event):  # a back-office route without the admin key: before the body is parsed
        return _early(error_response(*refusal))
    # The API speaks JSON only: a client that forgets the content type (curl -d) still gets
    # its body parsed as JSON rather than as a form.
    headers = event.get("headers") or {}
    if body and not any(k.lower() == "content-type" and "json" in v for k, v in headers.items()):
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        event = {
            **event,
            "headers": {**headers, "content-type": "application/json"},
            "multiValueHeaders": None,
        }
    return app.resolve(event, context)


def _early(response: Response) -> dict[str, Any]:
    """A proxy response for a request refused before it reaches the resolver."""
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": "application/json"},
        "body": response.body,
        "isBase64Encoded": False,
    }


def _utf8(base64_body: str) -> bool:
    import base64
    import binascii

    try:
        base64.b64decode(base64_body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return True
