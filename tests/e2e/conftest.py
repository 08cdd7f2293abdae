"""The local stack (`loyalty local`) in a subprocess, driven over real HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from loyalty_tools.localstack import free_port


@dataclass
class Stack:
    api_url: str
    api_key: str
    moto_url: str
    queue_url: str
    session: requests.Session
    admin_api_key: str = ""

    def call(self, method: str, path: str, body: Any = None, key: str | None = "default", **kw: Any):
        """`key`: "default" the store (till) key, "admin" the back-office key, None no key, else as given."""
        headers = {"content-type": "application/json"}
        if key is not None:
            headers["x-api-key"] = {"default": self.api_key, "admin": self.admin_api_key}.get(key, key)
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        response = self.session.request(
            method, self.api_url + path, data=data, headers=headers, timeout=60, **kw
        )
        try:
            payload = response.json()
        except ValueError:
            payload = response.text
        return response.status_code, payload


def start_stack(extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict[str, str]]:
    env = {
        **os.environ,
        "LOYALTY_LOCAL_API_KEY": "e2e-key",
        "LOYALTY_LOCAL_ADMIN_API_KEY": "e2e-admin-key",
        **(extra_env or {}),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "loyalty_tools.cli", "local", "--port", str(free_port()), "--workers", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("READY "):
            return proc, json.loads(line[6:])
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("local stack did not start")


@contextlib.contextmanager
def running_stack(extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A local stack of its own, stopped on exit. Unless told otherwise it keeps its state record in a
    folder of its own: stopping it removes that record, and were it the suite's, the CLI tests that run
    after it would find no stack (the session's `stack` alone writes the suite's record)."""
    with contextlib.ExitStack() as cleanup:
        env = dict(extra_env or {})
        if "LOYALTY_STATE_DIR" not in env:
            env["LOYALTY_STATE_DIR"] = cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix="stack-state-")
            )
        yield from _run(env)


def _run(extra_env: dict[str, str]) -> Iterator[Stack]:
    proc, info = start_stack(extra_env)
    # Drain the stack's output so it never blocks on a full pipe.
    import threading

    threading.Thread(target=lambda: proc.stdout and proc.stdout.read(), daemon=True).start()
    session = requests.Session()
    try:
        urls = (info["api_url"], info["api_key"], info["moto_url"], info["queue_url"])
        yield Stack(*urls, session, info["admin_api_key"])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()  # its moto server exits when it sees its parent gone (localstack.exit_with_parent)
            proc.wait()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """The suite's stack: its record is the suite's (tests/conftest.py), which the CLI tests read."""
    with running_stack({"LOYALTY_STATE_DIR": os.environ["LOYALTY_STATE_DIR"]}) as shared:
        yield shared
