"""What a cold start imports for tracing: the Tracer patches botocore only (loyalty.tracing), and in
Lambda's environment the X-Ray SDK builds no X-Ray client of its own. Counted in a fresh interpreter
in Lambda's layout (function directory and layer on the path, LAMBDA_TASK_ROOT set)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "loyalty" / "python"
FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/handler.py"))

SCRIPT = """
import json, sys
import handler
print(json.dumps({
    "patches": sorted(m for m in sys.modules if m.startswith("aws_xray_sdk.ext.") and m.endswith(".patch")),
    "requests": "requests" in sys.modules,
    "sampler": type(handler.tracer.provider.sampler).__name__,
}))
"""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_cold_start_patches_botocore_alone(function: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_TRACE", "AWS_XRAY"))}
    env |= {
        "PYTHONPATH": os.pathsep.join([str(REPO / "functions" / function), str(LAYER)]),
        "LAMBDA_TASK_ROOT": str(REPO / "functions" / function),
        "POWERTOOLS_SERVICE_NAME": "loyalty",
        "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=tmp_path, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded["patches"] == ["aws_xray_sdk.ext.botocore.patch"], loaded
    assert loaded["requests"] is False  # X-Ray's requests patch imported it: about 40 ms of a cold start
    assert loaded["sampler"] == "LocalSampler"  # Lambda's trace header decides; no X-Ray client is built
