"""The local stack: moto in server mode as AWS, with the tables, bus and a marketing queue
created from the same definitions the code and CDK use."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from loyalty.settings import Settings

REGION = "eu-west-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}
MARKETING_QUEUE = "loyalty-marketing-events"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def local_environment(moto_url: str, settings: Settings | None = None) -> dict[str, str]:
    settings = settings or Settings.from_env()
    env = dict(FAKE_CREDENTIALS)
    env.update(settings.as_env())
    env.update(
        {
            "AWS_ENDPOINT_URL": moto_url,
            "MOTO_PORT": moto_url.rsplit(":", 1)[1],
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
            "POWERTOOLS_SERVICE_NAME": "loyalty-local",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }
    )
    return env


@dataclass
class MotoServer:
    """moto's WSGI app on a single-threaded werkzeug server: requests run one at a time, so a
    TransactWriteItems is atomic against concurrent callers, as it is on DynamoDB."""

    host: str = "127.0.0.1"
    port: int = 0
    _server: Any = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines
        self.port = self.port or free_port()
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self.host, self.port, app, threaded=False, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def create_resources(settings: Settings, moto_url: str) -> dict[str, str]:
    """Tables from the pynamodb models, the event bus, and an SQS queue subscribed to the bus."""
    import boto3
    from loyalty.adapters.models import MODELS, bind_models

    os.environ.update(local_environment(moto_url, settings))
    bind_models(settings)
    for model in MODELS.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)

    events = boto3.client("events", endpoint_url=moto_url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    bus_arn = events.create_event_bus(Name=settings.event_bus_name)["EventBusArn"]
    queue_url = sqs.create_queue(QueueName=MARKETING_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="to-marketing-queue",
        EventBusName=settings.event_bus_name,
        EventPattern=json.dumps({"source": [settings.event_source]}),
    )
    events.put_targets(
        Rule="to-marketing-queue",
        EventBusName=settings.event_bus_name,
        Targets=[{"Id": "marketing", "Arn": queue_arn}],
    )
    return {"bus_arn": bus_arn, "queue_url": queue_url}
