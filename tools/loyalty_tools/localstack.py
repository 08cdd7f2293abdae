"""The local stack: moto in server mode as AWS, with the tables, bus and a marketing queue
created from the same definitions the code and CDK use."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from loyalty.bootstrap import LOCAL_RUNS
from loyalty.settings import Settings, env_name

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
            "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
            "POWERTOOLS_SERVICE_NAME": "loyalty-local",
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        }
    )
    # No state machine here: the back office's what-if runs its steps in the points process, through
    # the same port and route as in AWS (loyalty.adapters.local_runs).
    env.setdefault(env_name("reclassify_state_machine"), LOCAL_RUNS)
    return env


@dataclass
class MotoServer:
    """moto's WSGI app on a single-threaded werkzeug server, in its own process.

    Single-threaded: requests run one at a time, so a TransactWriteItems is atomic against
    concurrent callers, as it is on DynamoDB. Its own process: it does not share a GIL with the
    gateway or the tests that drive it.
    """

    host: str = "127.0.0.1"
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        self.port = self.port or free_port()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "loyalty_tools.localstack", self.host, str(self.port)],
            env={**os.environ, **FAKE_CREDENTIALS},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("moto server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None


def serve_moto(host: str, port: int) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from loyalty_tools.moto_fast import cache_backend_lookup, install_all

    install_all()  # tools/loyalty_tools/moto_fast*.py: costs that do not grow with tables, queues, items
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request lines
    app = DomainDispatcherApplication(create_backend_app)
    cache_backend_lookup(app)
    server = make_server(host, port, app, threaded=False, request_handler=MotoRequestHandler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    exit_with_parent()
    profile = os.environ.get(PROFILE_ENV)
    if profile:
        Profiled(profile)
    server.serve_forever()


def exit_with_parent(poll_seconds: float = 1.0) -> None:
    """End this server when the process that started it is gone. A `loyalty local` killed outright
    (SIGKILL, a crashed terminal) cannot stop its moto server, which would keep its port and memory;
    once orphaned, the server's parent is no longer the one it started with."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


PROFILE_ENV = "LOYALTY_MOTO_PROFILE"


class Profiled:
    """cProfile over the server's one thread (every request): SIGUSR1 writes what was recorded since
    the last one to PREFIX-N.prof and starts afresh; SIGTERM writes the rest and exits. For
    bench/local_stack.py --profile (the server is another process: the bench cannot profile it)."""

    def __init__(self, prefix: str) -> None:
        import cProfile

        self.prefix, self.count, self.new = prefix, 0, cProfile.Profile
        self.profiler = self.new()
        signal.signal(signal.SIGUSR1, self.dump)
        signal.signal(signal.SIGTERM, self.stop)
        self.profiler.enable()

    def dump(self, *_: object) -> None:
        self.profiler.disable()
        self.profiler.dump_stats(f"{self.prefix}-{self.count}.prof")
        self.count += 1
        self.profiler = self.new()
        self.profiler.enable()

    def stop(self, *_: object) -> None:
        self.dump()
        self.profiler.disable()
        sys.exit(0)


def create_resources(settings: Settings, moto_url: str) -> dict[str, str]:
    """Tables from the pynamodb models, the event bus, the run bucket (settings.run_bucket) and an SQS
    queue subscribed to the bus."""
    import boto3
    from loyalty.adapters.models import MODELS
    from loyalty.bootstrap import bind

    os.environ.update(local_environment(moto_url, settings))
    bind(settings)
    for model in MODELS.values():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)

    events = boto3.client("events", endpoint_url=moto_url, region_name=REGION)
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION)
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name=REGION)
    s3.create_bucket(Bucket=settings.run_bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
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
    return {"bus_arn": bus_arn, "queue_url": queue_url, "run_bucket": settings.run_bucket}


if __name__ == "__main__":
    serve_moto(sys.argv[1], int(sys.argv[2]))
