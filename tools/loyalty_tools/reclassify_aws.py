"""`loyalty reclassify --target aws`: start the deployed state machine, as the schedule does, and wait.

The steps run in AWS (the Lambdas, the Map states over parallel-scan segments), not on the laptop:
the laptop only starts the execution and reports its summary. The execution's input is what the
schedule sends plus the run date (the state machine's Defaults state fills the rest).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import date
from typing import Any

POLL_SECONDS = 5.0


def execution_name(as_of: date) -> str:
    # Names are unique per state machine for 90 days: the date plus a clock suffix keeps reruns apart.
    return re.sub(r"[^A-Za-z0-9-_]", "-", f"cli-{as_of.isoformat()}-{int(time.time())}")


def start_and_wait(
    state_machine_arn: str,
    as_of: date,
    total_segments: int | None = None,
    *,
    client: Any = None,
    on_poll: Callable[[str, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Start one execution and return its summary (the output's "summary"). Raises RuntimeError
    when the execution does not succeed, with its error and cause."""
    import boto3

    sfn = client or boto3.client("stepfunctions")
    payload: dict[str, Any] = {"as_of": as_of.isoformat()}
    if total_segments:
        payload["total_segments"] = total_segments
    started = time.monotonic()
    arn = sfn.start_execution(
        stateMachineArn=state_machine_arn, name=execution_name(as_of), input=json.dumps(payload)
    )["executionArn"]
    while True:
        execution = sfn.describe_execution(executionArn=arn)
        status = execution["status"]
        if on_poll is not None:
            on_poll(status, time.monotonic() - started)
        if status == "SUCCEEDED":
            output = json.loads(execution.get("output") or "{}")
            return dict(output.get("summary") or output)
        if status != "RUNNING":
            raise RuntimeError(
                f"execution {arn} ended {status}: {execution.get('error', '')} {execution.get('cause', '')}"
            )
        sleep(POLL_SECONDS)
