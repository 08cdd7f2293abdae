"""API Gateway REST proxy events and a Lambda context, built the way API Gateway builds them."""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl


def proxy_event(
    method: str,
    path: str,
    resource: str,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
    stage: str = "local",
    api_key_id: str | None = None,
) -> dict[str, Any]:
    headers = dict(headers or {})
    pairs = parse_qsl(query, keep_blank_values=True)
    single = {k: v for k, v in pairs} or None
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    text: str | None = None
    is_base64 = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": single,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            # apiKeyId: the id of the key API Gateway checked (back-office routes need the admin key's)
            "identity": {"sourceIp": source_ip, "apiKey": headers.get("x-api-key"), "apiKeyId": api_key_id},
            "accountId": "000000000000",
            "apiId": "local",
            "protocol": "HTTP/1.1",
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


@dataclass
class LocalContext:
    """Enough of the Lambda context object for Powertools."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = "local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
