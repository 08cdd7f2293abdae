"""The ReclassifyRuns port on Step Functions: StartExecution of the monthly run's state machine (a
what-if's dry-run input) and DescribeExecution of one of its executions, named by the caller."""

from __future__ import annotations

import json
from typing import Any

from loyalty.ports import RunAlreadyStarted, RunState


def execution_arn(state_machine_arn: str, name: str) -> str:
    """arn:<partition>:states:<region>:<account>:stateMachine:<machine> -> ...:execution:<machine>:<name>
    (the ARN Step Functions gives the execution: known from its name, no lookup)."""
    head, marker, machine = state_machine_arn.rpartition(":stateMachine:")
    if not marker:
        raise ValueError(f"not a state machine ARN: {state_machine_arn!r}")
    return f"{head}:execution:{machine}:{name}"


class StepFunctionsRuns:
    def __init__(self, state_machine_arn: str, client: Any = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("stepfunctions")
        return self._client

    def start(self, name: str, run_input: dict[str, Any]) -> None:
        # A standard workflow answers a second start of the same name and input with the first
        # execution (no error) while it runs, ExecutionAlreadyExists after it ended or for another
        # input: either way the run of that name stands, and the caller answers as the first time.
        try:
            self.client.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(run_input, sort_keys=True)
            )
        except self.client.exceptions.ExecutionAlreadyExists:
            raise RunAlreadyStarted(name) from None

    def state(self, name: str) -> RunState | None:
        try:
            execution = self.client.describe_execution(
                executionArn=execution_arn(self.state_machine_arn, name)
            )
        except self.client.exceptions.ExecutionDoesNotExist:
            return None
        return RunState(
            str(execution["status"]), str(execution.get("error") or ""), str(execution.get("cause") or "")
        )
