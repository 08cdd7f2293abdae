"""Cold import of each handler module in a fresh interpreter against `import boto3` + one client.

Each sample is a new `python` process timing only the import (perf_counter around it, so interpreter
start-up is left out on both sides). Bytecode is cached in a private PYTHONPYCACHEPREFIX after one
warm-up run of each side, as a Lambda layer ships it; the two sides alternate sample by sample.
`--importtime` prints the costliest modules of each handler (python -X importtime).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import Row, judged
from infra.function_env import powertools_env

REPO = Path(__file__).resolve().parents[1]
LAYER = REPO / "layers" / "loyalty" / "python"
FUNCTIONS = REPO / "functions"

TIMED = "import time\nt = time.perf_counter()\n{body}\nprint(time.perf_counter() - t)\n"
HANDLER = "import handler"
BASELINE = "import boto3\nboto3.client('dynamodb')"


def handler_names() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS.glob("*/handler.py"))


def _env(function: str | None, cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        {
            "PYTHONPYCACHEPREFIX": cache,
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    env.update(powertools_env(function or "baseline"))  # as deployed (infra/function_env.py)
    # Lambda puts the function's directory and the layer's python/ on the path; nothing else of ours.
    paths = [str(FUNCTIONS / function)] if function else []
    # ... and says it is Lambda: the X-Ray SDK then samples locally (the function's trace header
    # decides) instead of building a botocore X-Ray client for centralised sampling at import, about
    # 130 ms that no Lambda pays. Both sides get the same variables.
    env["LAMBDA_TASK_ROOT"] = paths[0] if paths else tempfile.gettempdir()
    env["AWS_LAMBDA_FUNCTION_NAME"] = function or "baseline"
    env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}"
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(LAYER)])
    return env


def _sample(body: str, function: str | None, cache: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMED.format(body=body)],
        env=_env(function, cache),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def coldstart_rows(runs: int) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as cache:
        functions = handler_names()
        _sample(BASELINE, None, cache)
        for function in functions:
            _sample(HANDLER, function, cache)
        samples: dict[str, list[float]] = {f: [] for f in [*functions, "baseline"]}
        for r in range(runs):
            order = [*functions, "baseline"] if r % 2 == 0 else ["baseline", *functions]
            for name in order:
                if name == "baseline":
                    samples[name].append(_sample(BASELINE, None, cache))
                else:
                    samples[name].append(_sample(HANDLER, name, cache))
        base = statistics.median(samples["baseline"])
        for function in functions:
            mine = statistics.median(samples[function])
            rows.append(
                judged(
                    f"cold import: functions/{function}/handler.py / boto3 + client",
                    mine / base,
                    "<= 1.3",
                    f"{mine * 1000:.0f} ms vs {base * 1000:.0f} ms (median of {runs} fresh interpreters)",
                )
            )
    return rows


def importtime_report(function: str, top: int = 15) -> str:
    """The modules whose import costs the most (cumulative microseconds), for one handler."""
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as cache:
        _sample(HANDLER, function, cache)
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", HANDLER],
            env=_env(function, cache),
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            check=True,
        )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    lines = [f"{function}: cumulative ms  module"]
    lines += [f"  {c / 1000:8.1f}  {n}" for c, n in rows[:top]]
    return "\n".join(lines)
