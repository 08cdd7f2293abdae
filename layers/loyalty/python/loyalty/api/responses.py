"""The API's answers: the JSON response, the error envelope and its OpenAPI description. Apart from
the resolver (app.py), so that route modules import it without importing the resolver."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from loyalty.api.schemas import ErrorOut


def error_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorOut}}}


ERROR_RESPONSES: dict[int | str, Any] = {
    400: error_doc("Invalid request: the message names the field"),
    403: {"description": "Missing or wrong x-api-key (API Gateway)"},
    404: error_doc("Not found"),
    409: error_doc("Conflict"),
    413: error_doc("Body too large"),
    415: error_doc("Content type other than application/json"),
    422: error_doc("Valid request the rules refuse"),
    503: error_doc("Too many concurrent updates for one customer; retry"),
}


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))


def json_response(status: int, body: Any) -> Response:
    return Response(status_code=status, content_type="application/json", body=json.dumps(body))
