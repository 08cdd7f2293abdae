"""The state machine's ASL, as CDK synthesizes it, run by moto's Step Functions executor. Lambda tasks
only return queued answers there (no code runs), so this checks the path through the states: the
statistics pass only when the run needs it, one worker per scan segment, then merge, classify, summarize.

The passes are Distributed Maps over the segment list in the state (ItemsPath; moto's executor, taken
from LocalStack's, runs them as map runs with child executions). The workers' states run in the child
executions, which moto does not list, so one worker per segment is counted from the map runs
(ListMapRuns / DescribeMapRun: items succeeded, the concurrency) rather than from the parent's history."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from tests.infra.test_reclassification import render

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def asl_template() -> dict[str, Any]:
    import json as _json

    from aws_cdk import App

    from infra.stack import STACK_NAME, LoyaltyStack
    from tests.helpers import REPO

    app = App(context=_json.loads((REPO / "cdk.json").read_text())["context"])
    stack = LoyaltyStack(app, STACK_NAME)
    construct = stack.reclassification  # the stack wires it in
    template = app.synth().get_stack_by_name(STACK_NAME).template
    [machine] = [r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"]
    function_id = stack.resolve(stack.get_logical_id(construct.function.node.default_child))
    return {"definition": machine["Properties"]["DefinitionString"], "function_id": function_id}


def asl_with(definition: Any, function_id: str, function_arn: str) -> str:
    text = render(definition)
    assert "${" + function_id + ".Arn}" in text
    return text.replace("${" + function_id + ".Arn}", function_arn)


def queue_answers(answers: list[dict[str, Any]]) -> None:
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/lambda-simple/response",
        json={"results": [json.dumps(a) for a in answers], "region": REGION},
        timeout=5,
    )
    assert response.status_code == 201


def map_runs(execution: str) -> list[dict[str, Any]]:
    """Each Distributed Map run of the execution: its concurrency and item counts, in start order."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    listed = sfn.list_map_runs(executionArn=execution)["mapRuns"]
    described = [sfn.describe_map_run(mapRunArn=m["mapRunArn"]) for m in listed]
    return sorted(described, key=lambda m: m["startDate"])


LAST: dict[str, Any] = {}  # the last execution run() started (for map_runs)


def run(
    definition: str, answers: list[dict[str, Any]], execution_input: dict[str, Any]
) -> tuple[str, list[str]]:
    queue_answers(answers)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name=f"reclassify-{len(answers)}", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))[
        "executionArn"
    ]
    for _ in range(200):
        status = sfn.describe_execution(executionArn=execution)["status"]
        if status != "RUNNING":
            break
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    LAST["execution"] = execution
    return status, entered


def lambda_function() -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="reclassify", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="reclassify", Runtime="python3.12", Role=role, Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]  # fmt: skip


RUN = {"period": "2026-02", "as_of": "2026-03-01", "run_id": "x", "total_segments": 3}
CUTS = {"method": "quintiles", "recency": [1, 2, 3, 4], "frequency": [], "monetary": [], "active": 0}
WORKER = {"segment": 0, "customers": 10, "classified": 10, "changed": 3, "conflicts": 0, "events": 4}
SUMMARY = {"period": "2026-02", "customers": 30, "changed": 9, "events": {}, "published": True}


@pytest.fixture
def moto_sfn() -> Any:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        yield


def test_quintiles_run_the_statistics_pass_then_classify_every_segment(
    moto_sfn: Any, asl_template: dict
) -> None:
    definition = asl_with(asl_template["definition"], asl_template["function_id"], lambda_function())
    prepared = {"run": {**RUN, "needs_stats": True}, "segments": [0, 1, 2]}
    stats = {"segment": 0, "customers": 10, "active": 9}
    answers = [prepared, stats, stats, stats, CUTS, WORKER, WORKER, WORKER, SUMMARY]
    status, entered = run(definition, answers, {"as_of": "2026-03-01T03:00:00+01:00"})
    assert status == "SUCCEEDED", entered
    assert [s for s in entered if not s.endswith("Worker")] == [
        "Defaults", "Prepare", "NeedsStatistics", "Statistics", "Merge", "Classify", "Summarize", "Done",
    ]  # fmt: skip
    statistics, classify = map_runs(LAST["execution"])
    for fan_out in (statistics, classify):
        assert fan_out["itemCounts"]["total"] == fan_out["itemCounts"]["succeeded"] == 3
        assert fan_out["itemCounts"]["failed"] == 0
        assert fan_out["maxConcurrency"] == 40  # infra.reclassification.DEFAULT_MAP_CONCURRENCY


def test_fixed_scoring_without_dormancy_skips_the_statistics_pass(moto_sfn: Any, asl_template: dict) -> None:
    definition = asl_with(asl_template["definition"], asl_template["function_id"], lambda_function())
    prepared = {"run": {**RUN, "needs_stats": False, "total_segments": 2}, "segments": [0, 1]}
    answers = [prepared, {**CUTS, "method": "fixed"}, WORKER, WORKER, SUMMARY]
    status, entered = run(definition, answers, {})  # a manual start without input: defaults apply
    assert status == "SUCCEEDED", entered
    assert "Statistics" not in entered
    [classify] = map_runs(LAST["execution"])
    assert classify["itemCounts"]["succeeded"] == classify["itemCounts"]["total"] == 2
    assert entered[-2:] == ["Summarize", "Done"]


def scheduled_inputs(execution_input: dict[str, Any], answers: list[dict[str, Any]], definition: str) -> list:
    """What each Lambda task of one execution was invoked with."""
    queue_answers(answers)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    name = f"reclassify-inputs-{len(answers)}-{int(time.monotonic() * 1000)}"
    machine = sfn.create_state_machine(
        name=name, definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))[
        "executionArn"
    ]
    for _ in range(200):
        if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
            break
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return [
        json.loads(e["lambdaFunctionScheduledEventDetails"]["input"])
        for e in events
        if "lambdaFunctionScheduledEventDetails" in e
    ]


def test_the_dry_run_input_reaches_prepare_and_a_scheduled_start_is_not_a_dry_run(
    moto_sfn: Any, asl_template: dict
) -> None:
    definition = asl_with(asl_template["definition"], asl_template["function_id"], lambda_function())
    prepared = {"run": {**RUN, "needs_stats": False, "total_segments": 1, "dry_run": True}, "segments": [0]}
    answers = [prepared, {**CUTS, "method": "fixed"}, WORKER, {**SUMMARY, "published": False}]
    candidate = {"name": "candidate", "tiers": [{"name": "member"}]}
    inputs = scheduled_inputs(
        {"as_of": "2026-04-01", "dry_run": True, "programme": candidate}, answers, definition
    )
    assert inputs[0]["step"] == "prepare"
    assert (inputs[0]["dry_run"], inputs[0]["programme"], inputs[0]["as_of"]) == (
        True,
        candidate,
        "2026-04-01",
    )
    # The classify worker runs in the Distributed Map's child execution (not in this history); its
    # input (the run from the state, the segment, the cuts) is checked on the ASL in tests/infra.
    assert [i["step"] for i in inputs] == ["prepare", "merge", "summarize"]
    assert all(i["run"]["dry_run"] for i in inputs[1:])  # the run prepare returned travels to every step

    plain = scheduled_inputs({"as_of": "2026-04-01T03:00:00+02:00"}, answers, definition)[0]
    assert (plain["dry_run"], plain["programme"]) == (False, None)
