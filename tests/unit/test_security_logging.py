"""No handler logs a request body with customer data, and bodies above the limit are refused with 413.

Every route from api_routes() is called through its real handler (functions/<name>/handler.py) with a
distinctive marker in the body: on success, on validation errors and on an unexpected error inside the
service (the 500 path logs a traceback). Every log record of every logger, at DEBUG, is captured with its
message, arguments, extra keys and exception text; the marker must never appear in any of them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from loyalty.api import deps
from loyalty.api.routes import Route, api_routes
from loyalty.fakes import InMemoryStore, RecordingPublisher, TransactionView
from loyalty.service.ingest import IngestService
from loyalty.service.points import PointsService
from loyalty.settings import get_settings
from loyalty_tools.apigw import LocalContext, proxy_event
from loyalty_tools.gateway import load_handler

from tests.helpers import FIXED_NOW, default_programme, purchase_body, use_services

MARKER = "ZZQX-MARKER-7f3a9c"
ROUTES = api_routes()


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [str(record.msg), repr(record.args), repr(record.__dict__)]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        self.texts.append("\n".join(parts))


@pytest.fixture
def logs() -> Iterator[Capture]:
    """Every logger (Powertools' service loggers included) at DEBUG, into one capture."""
    # The handlers first: Powertools reads its formatter from a logger's first handler, so a capture
    # added before a handler module creates its Logger would be taken for that handler (run alone,
    # this file failed so on every route).
    for function in {route.function for route in ROUTES}:
        load_handler(function)
    capture = Capture()
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.Logger.manager.loggerDict) if name
    ]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
    yield capture
    for lg, level in saved:
        lg.removeHandler(capture)
        lg.setLevel(level)


class Exploding:
    """A service whose every method fails with an error that carries no request data."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("injected failure")

        return fail


def fakes() -> deps.Services:
    store, programme = InMemoryStore(), default_programme()
    view = TransactionView(store)
    return deps.Services(
        programme=programme,
        ingest=IngestService(store, view, RecordingPublisher(), programme, now=lambda: FIXED_NOW),
        points=PointsService(store, view, programme, now=lambda: FIXED_NOW),
    )


def exploding() -> deps.Services:
    return deps.Services(default_programme(), Exploding(), Exploding(), Exploding(), Exploding())  # type: ignore[arg-type]


def invoke(route: Route, body: Any = None, raw: bytes | None = None, key: str = "C1") -> tuple[int, str]:
    path = route.path.replace("{customer_id}", key).replace("{code}", "ABCD-EFGH-JKMN-PQRS")
    params = {name[1:-1]: value for name, value in zip(route.path.split("/"), path.split("/"), strict=True)}
    params = {k: v for k, v in params.items() if k != v[1:-1] and route.path.count("{" + k + "}")}
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"content-type": "application/json", "x-api-key": "k"}
    event = proxy_event(route.method, path, route.path, params or None, headers, "", data)
    result = load_handler(route.function)(event, LocalContext(route.function))
    return result["statusCode"], result["body"]


def marked_body(route: Route) -> dict[str, Any]:
    """A plausible body for the route, customer data carrying the marker."""
    if route.path == "/v1/transactions":
        return purchase_body(
            "T-log",
            "C1",
            amount="12.00",
            store_id=f"S-{MARKER}",
            lines=[{"sku": MARKER, "category": MARKER, "quantity": 1, "unit_price": "12.00"}],
        )
    return {"redemption_id": f"R-{MARKER}"[:40], "points": 500, "note": MARKER}


def assert_clean(logs: Capture) -> None:
    leaks = [text for text in logs.texts if MARKER in text]
    assert not leaks, leaks[0][:2000]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_no_log_line_carries_the_request_body(route: Route, logs: Capture) -> None:
    use_services(fakes())
    try:
        body = marked_body(route) if route.method in ("POST", "PUT", "PATCH") else None
        invoke(route, body)  # success or a 4xx, whatever the route answers
        if body is not None:
            invoke(route, {**body, MARKER: MARKER})  # unknown field: 400
            invoke(route, raw=b'{"broken": "' + MARKER.encode() + b'"')  # invalid JSON: 400
            invoke(route, {k: MARKER for k in body})  # every field wrong: 400
        use_services(exploding())
        status, _ = invoke(route, body)
        assert status >= 400
    finally:
        use_services(None)
    assert logs.texts, "nothing was logged at all: the capture would prove nothing"
    assert_clean(logs)


def test_the_500_path_logs_a_traceback_without_the_body(logs: Capture) -> None:
    route = next(r for r in ROUTES if r.path == "/v1/transactions")
    use_services(exploding())
    try:
        status, answer = invoke(route, marked_body(route))
    finally:
        use_services(None)
    assert status == 500 and MARKER not in answer
    assert any("injected failure" in text for text in logs.texts)  # the capture sees the traceback
    assert_clean(logs)


POSTS = [r for r in ROUTES if r.method in ("POST", "PUT", "PATCH")]


@pytest.mark.parametrize("route", POSTS, ids=lambda r: f"{r.method} {r.path}")
def test_bodies_above_the_limit_are_refused_with_413(route: Route) -> None:
    limit = get_settings().max_body
    assert limit == 64 * 1024  # LOYALTY_MAX_BODY_BYTES default
    use_services(fakes())
    try:
        padding = {"pad": "x" * limit}
        status, answer = invoke(route, padding)
        assert status == 413
        assert json.loads(answer)["error"]["code"] == "body_too_large"
        small = json.dumps({"pad": "x" * (limit - 20)}).encode()
        assert len(small) <= limit
        assert invoke(route, raw=small)[0] != 413  # at the limit: parsed (and refused for its content)
    finally:
        use_services(None)


@pytest.mark.parametrize("raw", [b"\x80", b"\xff\xfe{}", '{"a": "é"}'.encode("latin-1")])
@pytest.mark.parametrize("route", POSTS, ids=lambda r: f"{r.method} {r.path}")
def test_a_body_that_is_not_utf8_is_a_400_not_a_500(route: Route, raw: bytes) -> None:
    """Found by the fuzzer: API Gateway base64-encodes such a body and Powertools failed decoding it."""
    use_services(fakes())
    try:
        status, answer = invoke(route, raw=raw)
    finally:
        use_services(None)
    assert status == 400, answer
    assert json.loads(answer)["error"]["code"] == "invalid_json"
