"""`make local`: moto + tables + bus + the real handlers behind the gateway, in the foreground."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from loyalty.settings import Settings, env_name

from loyalty_tools.gateway import DEFAULT_ADMIN_API_KEY, DEFAULT_API_KEY, REPO_ROOT, Gateway
from loyalty_tools.localstack import MotoServer, create_resources, local_environment

STATE_DIR_ENV = "LOYALTY_STATE_DIR"  # where the running stack is recorded (tests use their own)


def state_dir() -> Path:
    """.loyalty/ in the repository, or $LOYALTY_STATE_DIR: a test suite's stack and the engineer's
    `make local` never share a state file."""
    return Path(os.environ.get(STATE_DIR_ENV) or REPO_ROOT / ".loyalty")


def state_file() -> Path:
    return state_dir() / "local.json"


class ProgrammeRefused(RuntimeError):
    """The programme file does not load: the stack does not start (as `cdk synth` fails)."""


@dataclass
class LocalStack:
    moto: MotoServer
    gateway: Gateway
    env: dict[str, str]
    resources: dict[str, str]

    @property
    def api_url(self) -> str:
        return self.gateway.url

    @property
    def api_key(self) -> str:
        return self.gateway.api_key

    @property
    def admin_api_key(self) -> str:
        return self.gateway.admin_api_key

    @property
    def moto_url(self) -> str:
        return self.moto.url

    def stop(self) -> None:
        self.gateway.stop()
        self.moto.stop()


def start_local_stack(
    port: int | None = None,
    api_key: str | None = None,
    moto_port: int = 0,
    workers: int = 4,
    programme_path: str | None = None,
) -> LocalStack:
    port = int(os.environ.get("LOYALTY_LOCAL_PORT", "3000")) if port is None else port
    api_key = api_key or os.environ.get("LOYALTY_LOCAL_API_KEY", DEFAULT_API_KEY)
    if programme_path:
        os.environ[env_name("programme_path")] = str(Path(programme_path).resolve())
    settings = Settings.from_env()
    check_programme(settings.programme_file)  # before anything starts: the workers load it lazily
    moto = MotoServer(port=moto_port).start()
    env = local_environment(moto.url, settings)
    os.environ.update(env)
    resources = create_resources(settings, moto.url)
    admin_api_key = os.environ.get("LOYALTY_LOCAL_ADMIN_API_KEY", DEFAULT_ADMIN_API_KEY)
    log_dir = str(state_dir() / "logs")
    gateway = Gateway(
        env, api_key=api_key, admin_api_key=admin_api_key, port=port, workers=workers, log_dir=log_dir
    ).start()
    return LocalStack(moto, gateway, env, resources)


def check_programme(path: str) -> None:
    from loyalty.programme import ProgrammeError, load_programme

    try:
        load_programme(path)
    except ProgrammeError as exc:
        raise ProgrammeRefused(f"{path}: {exc}") from exc


@contextmanager
def local_stack(**kwargs) -> Iterator[LocalStack]:  # type: ignore[no-untyped-def]
    stack = start_local_stack(**kwargs)
    try:
        yield stack
    finally:
        stack.stop()


def write_state(stack: LocalStack) -> None:
    """The stack's endpoints and its programme: every CLI command pointed at it applies that file."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "api_url": stack.api_url,
                "api_key": stack.api_key,
                "admin_api_key": stack.admin_api_key,
                "moto_url": stack.moto_url,
                "queue_url": stack.resources["queue_url"],
                "run_bucket": stack.resources["run_bucket"],
                "programme_path": stack.env.get(env_name("programme_path")) or Settings().programme_file,
                "pid": os.getpid(),
            },
            indent=2,
        )
    )


def read_state() -> dict[str, str] | None:
    """The running local stack's endpoints, if `make local` is up."""
    try:
        state = json.loads(state_file().read_text())
        os.kill(int(state["pid"]), 0)
        return state
    except (OSError, ValueError, KeyError):
        return None


def run_forever(port: int | None = None, workers: int = 4, programme: str | None = None) -> None:
    try:
        stack = start_local_stack(port=port, workers=workers, programme_path=programme)
    except ProgrammeRefused as exc:
        print(f"error: the programme does not load, the local stack does not start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    write_state(stack)
    key = stack.api_key
    ready = {"api_url": stack.api_url, "api_key": key, "admin_api_key": stack.admin_api_key}
    ready |= {"moto_url": stack.moto_url, **stack.resources}
    print("READY " + json.dumps(ready), flush=True)  # tests and scripts wait for this line
    print(f"Local stack up. API {stack.api_url}  (x-api-key: {key})")
    print(f"  back-office key (docs/api-keys.md): {stack.admin_api_key}")
    print(f"  moto (AWS) at {stack.moto_url}")
    print(f"  OpenAPI {stack.api_url}/openapi.json  Swagger UI {stack.api_url}/docs")
    print(f"  try: curl -s -H 'x-api-key: {key}' {stack.api_url}/v1/customers/C1")
    print("Ctrl-C stops everything.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping...", flush=True)
        # The record goes first: from here on the stack serves nothing, and a stop cut short (an error
        # while its workers die of the same SIGTERM, a SIGKILL after a slow stop) leaves no record behind.
        state_file().unlink(missing_ok=True)
        stack.stop()
        print("stopped.", flush=True)
