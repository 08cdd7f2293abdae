"""What every bench row shares: moto in process as AWS, the real handlers, timing in interleaved rounds."""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

REGION = "eu-west-1"


@dataclass
class Row:
    """One line of the table: a ratio of two sides measured in the same run."""

    name: str
    ratio: float | None
    target: str  # ">= 0.8", "<= 1.3", or "-" (informational)
    raw: str  # the figures the ratio comes from
    met: bool | None = None  # None: no target, or not measured
    is_pending: bool = False

    @property
    def met_text(self) -> str:
        if self.is_pending:
            return "pending"
        return "n/a" if self.met is None else ("yes" if self.met else "NO")

    @property
    def ratio_text(self) -> str:
        if self.is_pending:
            return "pending"
        return "-" if self.ratio is None else f"{self.ratio:.2f}"


def judged(name: str, ratio: float, target: str, raw: str) -> Row:
    """A row whose target is ">= x" or "<= x"; "-" leaves it informational."""
    met = None
    if target.startswith(">="):
        met = ratio >= float(target[2:])
    elif target.startswith("<="):
        met = ratio <= float(target[2:])
    return Row(name, ratio, target, raw, met)


def pending(name: str, target: str, why: str) -> Row:
    return Row(name, None, target, why, is_pending=True)


def info(name: str, raw: str) -> Row:
    """A measured figure with no ratio to judge (capacity units, for example)."""
    return Row(name, None, "-", raw)


# -- timing ---------------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    op: Callable[[int], Any]  # called with a running index
    per_round: int | None = None  # operations per round, if not the common figure
    reset: Callable[[], None] | None = None  # after each round, untimed: back to the same table state
    rates: list[float] = field(default_factory=list)  # operations per second, one per round
    count: int = 0

    def run(self, n: int) -> None:
        n = self.per_round or n
        start = time.perf_counter()
        for _ in range(n):
            self.op(self.count)
            self.count += 1
        self.rates.append(n / (time.perf_counter() - start))
        if self.reset is not None:
            self.reset()

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def interleaved(sides: list[Side], rounds: int, per_round: int, warmup: int = 5) -> list[Side]:
    """Run every side `per_round` times per round, alternating which goes first, so that machine
    noise (another process, a GC pause, a CPU frequency step) falls on all of them alike."""
    for side in sides:
        for _ in range(warmup):
            side.op(side.count)
            side.count += 1
    for r in range(rounds):
        order = sides if r % 2 == 0 else list(reversed(sides))
        for side in order:
            side.run(per_round)
    return sides


class Phases:
    """Wall seconds of each phase of a bench run (where the minutes go: docs/bench.md)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds of the phase, where known (bench/jobs.cpu_seconds)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def __str__(self) -> str:
        return (
            ", ".join(
                f"{name} {seconds:.0f} s" + (f" ({self.cpu[name]:.0f} s CPU)" if name in self.cpu else "")
                for name, seconds in self.seconds.items()
            )
            or "-"
        )


def per_s(value: float) -> str:
    return f"{value:,.0f}/s" if value >= 100 else f"{value:,.1f}/s"


# -- the in-process stack -------------------------------------------------------------------------


@dataclass
class Env:
    moto_url: str
    settings: Any
    handlers: dict[str, Callable[..., dict[str, Any]]]
    ddb: Any  # a bare boto3 DynamoDB client, for the baselines
    sink: Any = field(default_factory=io.StringIO)

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        """One invocation, as Lambda makes it. The handler's stdout (one EMF metrics line per call, as
        in Lambda) goes to a sink, so the serialisation is paid but the terminal stays readable."""
        from loyalty_tools.apigw import LocalContext

        context = LocalContext(function_name=f"loyalty-{function}")
        with contextlib.redirect_stdout(self.sink):
            result = self.handlers[function](event, context)
        self.sink.seek(0)
        self.sink.truncate()
        return result

    def post_transaction(self, body: dict[str, Any]) -> dict[str, Any]:
        from loyalty_tools.apigw import proxy_event

        event = proxy_event(
            "POST",
            "/v1/transactions",
            "/v1/transactions",
            None,
            {"content-type": "application/json", "x-api-key": "bench"},
            "",
            json.dumps(body).encode(),
        )
        result = self.invoke("ingest", event)
        if result["statusCode"] != 201:
            raise RuntimeError(f"ingest answered {result['statusCode']}: {result['body']}")
        return json.loads(result["body"])

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        from loyalty_tools.apigw import proxy_event

        event = proxy_event(
            "GET",
            f"/v1/customers/{customer_id}",
            "/v1/customers/{customer_id}",
            {"customer_id": customer_id},
            {"x-api-key": "bench"},
        )
        result = self.invoke("points", event)
        if result["statusCode"] != 200:
            raise RuntimeError(f"points answered {result['statusCode']}: {result['body']}")
        return json.loads(result["body"])


@contextmanager
def moto_env() -> Iterator[Env]:
    """moto server in this process (MotoServer + create_resources), the real handlers loaded from
    functions/<name>/handler.py with the environment the local stack gives them."""
    import boto3
    from loyalty.settings import Settings, get_settings
    from loyalty_tools.gateway import load_handler
    from loyalty_tools.localstack import FAKE_CREDENTIALS, MotoServer, create_resources, local_environment

    saved = dict(os.environ)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    settings = Settings.from_env()
    moto = MotoServer().start()
    try:
        os.environ.update(local_environment(moto.url, settings))
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"  # emit EMF per call, as in Lambda
        get_settings.cache_clear()
        create_resources(settings, moto.url)
        handlers = {name: load_handler(name) for name in ("ingest", "points")}
        ddb = boto3.client("dynamodb", endpoint_url=moto.url, region_name=REGION)
        yield Env(moto.url, settings, handlers, ddb)
    finally:
        moto.stop()
        os.environ.clear()
        os.environ.update(saved)


def purchase(customer_id: str, amount: str, when: datetime | None = None, txn: str | None = None):
    when = when or datetime.now(UTC) - timedelta(hours=1)
    return {
        "transaction_id": txn or f"T-{uuid.uuid4().hex}",
        "customer_id": customer_id,
        "store_id": "S042",
        "channel": "store",
        "occurred_at": when.astimezone(UTC).isoformat(timespec="seconds"),
        "currency": "EUR",
        "amount": amount,
        "lines": [
            {"sku": "SKU-1", "category": "beauty", "quantity": 1, "unit_price": amount},
        ],
    }


@contextmanager
def recording_calls() -> Iterator[list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """Every botocore call made inside: (operation, params, response)."""
    from unittest import mock

    import botocore.client

    real = botocore.client.BaseClient._make_api_call
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    def recording(self, operation_name, api_params):  # type: ignore[no-untyped-def]
        response = real(self, operation_name, api_params)
        calls.append((operation_name, api_params, response))
        return response

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", recording):
        yield calls
