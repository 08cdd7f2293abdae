"""The Powertools resolver every API function uses: validation, error envelope, body size limit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from re import Match
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import Router

from loyalty.api.body import BodyError, parse_body
from loyalty.api.responses import error_response
from loyalty.api.schemas import PATTERN_WORDS
from loyalty.errors import ApiError, PublishFailed, Throttled
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


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


_WHOLE_NUMBER = "must be a whole number (a JSON integer, not a string or a decimal)"
_TYPE_WORDS = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "int_type": _WHOLE_NUMBER,
    "int_parsing": _WHOLE_NUMBER,
    "int_from_float": _WHOLE_NUMBER,
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "bool_type": "must be true or false (a JSON boolean)",
    "bool_parsing": "must be true or false (a JSON boolean)",
}


def words_for(error: Mapping[str, Any]) -> str:
    """What a pydantic error expects, in words: never the regex, never pydantic's own phrasing."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if kind == "string_pattern_mismatch":
        return "must be " + PATTERN_WORDS.get(ctx.get("pattern", ""), "in the documented format")
    if kind == "string_too_short":
        return f"must be at least {ctx.get('min_length')} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} items"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    bounds = {"greater_than": "greater than", "greater_than_equal": "at least", "less_than": "less than",
              "less_than_equal": "at most"}  # fmt: skip
    if kind in bounds:
        limit = next(iter(v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le")), "")
        return f"must be {bounds[kind]} {limit}"
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    return str(error.get("msg", "is invalid"))


def _depth(field: str) -> int:
    # Details top-level fields first, each level in the model's order (the sort is stable).
    return field.count(".") + field.count("[")


class _Resolver(APIGatewayRestResolver):
    """API Gateway (REST) hands the function the path still percent-encoded and the path parameters
    decoded; Powertools takes the parameters from the path: decode them as API Gateway does."""

    def _convert_matches_into_route_keys(self, match: Match) -> dict[str, str]:
        return {key: unquote(value) for key, value in match.groupdict().items()}


def build_resolver(*routers: Router) -> APIGatewayRestResolver:
    app = _Resolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        details = []
        for error in exc.errors():
            loc = tuple(error.get("loc", ()))
            kind = error.get("type", "")
            if kind == "json_invalid" or (kind == "model_attributes_type" and len(loc) <= 1):
                return error_response(400, "invalid_json", "body: must be a JSON object", None)
            details.append({"field": _field_of(loc), "message": words_for(error)})
        details.sort(key=lambda d: _depth(d["field"]))
        first = details[0] if details else {"field": "body", "message": "is invalid"}
        more = f" (and {len(details) - 1} more: see details)" if len(details) > 1 else ""
        return error_response(400, "invalid_field", f"{first['field']}: {first['message']}{more}", details)

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

    handler.resolver = app  # type: ignore[attr-defined]  # tests: resolver.dependency_overrides
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


_WITH_BODY = ("POST", "PUT", "PATCH")


def _handle(app: APIGatewayRestResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = event.get("body") or ""
    limit = get_settings().max_body
    if _byte_length(body, bool(event.get("isBase64Encoded"))) > limit:
        return _early(error_response(413, "body_too_large", f"body: larger than {limit} bytes"))
    if body and event.get("isBase64Encoded") and not _utf8(body):
        # API Gateway base64-encodes a body that is not text: JSON it cannot be.
        return _early(error_response(400, "invalid_json", "body: must be a JSON object (UTF-8)"))
    from loyalty.api.access import refused

    if refusal := refused(event):  # a back-office route without the admin key: before the body is parsed
        return _early(error_response(*refusal))
    headers = event.get("headers") or {}
    _log_back_office_reason(event, headers)
    if body and event.get("httpMethod") in _WITH_BODY:
        refused = _refuse_body(headers, body, bool(event.get("isBase64Encoded")))
        if refused is not None:
            return _early(refused)
    # The API speaks JSON only: a client that forgets the content type (curl -d sends a form type)
    # still gets its body parsed as JSON rather than as a form.
    if body and not any(
        k.lower() == "content-type" and _media_type(v) == "application/json" for k, v in headers.items()
    ):
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        event = {
            **event,
            "headers": {**headers, "content-type": "application/json"},
            "multiValueHeaders": None,
        }
    return app.resolve(event, context)


def _log_back_office_reason(event: dict[str, Any], headers: Mapping[str, str]) -> None:
    """The console sends the reason its user gave for an action (block, cancel, erase) in a header: the
    log keeps who did what and why (the route's template, not the card number)."""
    from urllib.parse import unquote

    reason = next((v for k, v in headers.items() if k.lower() == "x-back-office-reason"), None)
    if not reason:
        return
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims") or {}
    logger.info(
        "back-office action",
        extra={
            "route": f"{event.get('httpMethod')} {event.get('resource')}",
            "user": claims.get("sub"),
            "groups": claims.get("cognito:groups"),
            "reason": unquote(str(reason))[:500],
        },
    )


# A body is JSON, sent as such or with no type (curl -d sends the form type): anything else is 415.
_ACCEPTED_MEDIA = ("application/json", "application/x-www-form-urlencoded", "")


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _refuse_body(headers: Mapping[str, str], body: str, is_base64: bool) -> Response | None:
    """The body of a write, checked before the resolver sees it: its media type, then one JSON object
    (no duplicate keys, no NaN, no number too long to be an amount or a count, no nesting bomb)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if _media_type(content_type) not in _ACCEPTED_MEDIA:
        return error_response(415, "unsupported_media_type", "content-type: must be application/json", None)
    import base64

    text = base64.b64decode(body).decode("utf-8") if is_base64 else body
    try:
        document = parse_body(text)
    except BodyError as exc:
        return error_response(400, "invalid_json", f"body: {exc}", None)
    if not isinstance(document, dict):
        return error_response(
            400, "invalid_json", "body: must be a JSON object (one transaction per request)", None
        )
    return None


def _byte_length(body: str, is_base64: bool) -> int:
    """The body's size in bytes, as API Gateway and the limit count it (not in characters)."""
    if is_base64:
        return len(body) * 3 // 4 - body[-2:].count("=")
    return len(body.encode("utf-8", errors="surrogatepass"))


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
