"""Commands as an engineer runs them: a shell with only PATH (the venv first, as after `make`), HOME
and a locale, nothing the test suite sets (no fake AWS credentials, no Powertools variables), and a
state directory of its own; and `make local` / `loyalty local` started and stopped like a person
would (SIGTERM here, since a background job ignores Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from loyalty_tools.localstack import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"


def clean_env(home: Path, state_dir: Path, **extra: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"])
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "LOYALTY_STATE_DIR": str(state_dir), **extra}


def run(command: str, env: dict[str, str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """One README line through bash, as written."""
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Running:
    proc: subprocess.Popen[str]
    ready: dict[str, str]
    output: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.ready["api_url"].rsplit(":", 1)[1])


@contextmanager
def started(command: str, env: dict[str, str], cwd: Path = REPO, timeout: float = 120) -> Iterator[Running]:
    """Start `make local` (or `loyalty local ...`) and wait for its READY line; stop it at the end."""
    proc = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: make, loyalty and the workers stop together
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    ready = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if line.startswith("READY "):
            ready = json.loads(line[6:])
            break
    if ready is None:
        stop_group(proc)
        raise AssertionError(f"{command} did not start:\n{''.join(lines)}")
    threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True).start()
    running = Running(proc, ready, lines)
    try:
        yield running
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the group (make, loyalty local, moto, the workers), then wait until all are gone:
    `loyalty local` removes its state file on the way out."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        proc.poll()
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def a_free_port() -> str:
    return str(free_port())
