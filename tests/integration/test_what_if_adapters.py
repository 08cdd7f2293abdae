"""The what-if's run adapters: Step Functions under moto (start once per name, the state of an
execution by its name, an unknown name None) and the local stack's in-process runner (its state in
the run store, a failure recorded as Step Functions records a Lambda's)."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from loyalty.adapters.local_runs import LocalRuns
from loyalty.adapters.stepfunctions import StepFunctionsRuns, execution_arn
from loyalty.errors import ApiError
from loyalty.fakes import InMemoryRunStore
from loyalty.ports import RunAlreadyStarted
from moto import mock_aws

from tests.integration.test_reclassify_sfn import asl_template  # noqa: F401 (the fixture)

NAME = "what-if-2026-11-" + "a" * 32
INPUT = {"as_of": "2026-12-01", "dry_run": True, "programme": "what-if/candidates/x.json"}


@pytest.fixture
def machine():
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        arn = sfn.create_state_machine(
            name="LoyaltyStack-reclassification",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/states",
        )["stateMachineArn"]
        yield sfn, arn


def test_step_functions_starts_one_execution_per_name_with_the_dry_run_input(machine):
    sfn, arn = machine
    runs = StepFunctionsRuns(arn, sfn)
    assert runs.state(NAME) is None
    runs.start(NAME, INPUT)
    with pytest.raises(RunAlreadyStarted):
        runs.start(NAME, {**INPUT, "as_of": "2026-12-02"})  # another input under the same name
    (execution,) = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert execution["executionArn"] == execution_arn(arn, NAME)
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == INPUT
    assert runs.state(NAME).status in ("RUNNING", "SUCCEEDED")


def test_an_execution_arn_comes_from_the_machine_and_the_name():
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:LoyaltyStack-reclassification"
    assert execution_arn(arn, "n1") == (
        "arn:aws:states:eu-west-1:123456789012:execution:LoyaltyStack-reclassification:n1"
    )
    with pytest.raises(ValueError):
        execution_arn("arn:aws:lambda:eu-west-1:1:function:f", "n1")


def _join(name: str) -> None:
    for thread in threading.enumerate():
        if thread.name == name:
            thread.join()


def test_the_local_runner_runs_once_per_name_and_keeps_its_state_in_the_run_store():
    store, release, seen = InMemoryRunStore(), threading.Event(), []

    def run(name, run_input):  # type: ignore[no-untyped-def]
        seen.append((name, run_input))
        release.wait()

    runs = LocalRuns(store, run)
    assert runs.state(NAME) is None
    runs.start(NAME, INPUT)
    assert runs.state(NAME).status == "RUNNING"
    with pytest.raises(RunAlreadyStarted):
        runs.start(NAME, INPUT)
    release.set()
    _join(NAME)
    assert runs.state(NAME).status == "SUCCEEDED"
    assert seen == [(NAME, INPUT)]
    # Another worker process reads the same state from the run bucket.
    assert LocalRuns(store, run).state(NAME).status == "SUCCEEDED"


def test_a_local_run_that_raises_is_failed_with_its_error_and_message():
    store = InMemoryRunStore()

    def run(name, run_input):  # type: ignore[no-untyped-def]
        raise ValueError("programme: no document at 'what-if/candidates/x.json' in the run bucket")

    runs = LocalRuns(store, run)
    runs.start(NAME, INPUT)
    _join(NAME)
    state = runs.state(NAME)
    assert (state.status, state.error) == ("FAILED", "ValueError")
    assert json.loads(state.cause)["errorMessage"].startswith("programme: no document")


def test_the_what_ifs_start_reaches_prepare_of_the_synthesized_state_machine(asl_template) -> None:  # noqa: F811
    """The service's start, through the Step Functions adapter, on the ASL as CDK synthesizes it (moto
    runs it with queued Lambda answers): Prepare gets the dry run, the candidate's run-bucket key, the
    normalised as_of and the execution's name as run_id (where the report will be)."""
    from loyalty.fakes import InMemoryCandidates
    from loyalty.service.back_office import BackOfficeService

    from tests.helpers import default_programme
    from tests.integration.test_reclassify_sfn import (
        CUTS,
        RUN,
        SUMMARY,
        WORKER,
        asl_with,
        lambda_function,
        queue_answers,
    )

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        definition = asl_with(asl_template["definition"], asl_template["function_id"], lambda_function())
        arn = sfn.create_state_machine(
            name="LoyaltyStack-reclassification",
            definition=definition,
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        prepared = {
            "run": {**RUN, "needs_stats": False, "total_segments": 1, "dry_run": True},
            "segments": [0],
        }
        queue_answers([prepared, {**CUTS, "method": "fixed"}, WORKER, {**SUMMARY, "published": False}])
        store = InMemoryRunStore()
        service = BackOfficeService(
            store, default_programme(), StepFunctionsRuns(arn, sfn), InMemoryCandidates(store)
        )
        candidate = json.loads(json.dumps(dict(default_programme().source)))
        started = service.start_what_if(candidate, as_of="2026-12-09")
        execution = execution_arn(arn, started["what_if_id"])
        for _ in range(200):
            if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
                break
            threading.Event().wait(0.05)
        events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        inputs = [
            json.loads(e["lambdaFunctionScheduledEventDetails"]["input"])
            for e in events
            if "lambdaFunctionScheduledEventDetails" in e
        ]
        with pytest.raises(ApiError) as caught:  # the queued answers wrote no report: said in words
            service.what_if(started["what_if_id"])
        assert caught.value.status == 409 and "left no report" in caught.value.message
    prepare = inputs[0]
    assert prepare["step"] == "prepare" and prepare["dry_run"] is True
    assert prepare["programme"].startswith("what-if/candidates/") and prepare["programme"] in store.documents
    assert (prepare["as_of"], prepare["run_id"]) == ("2026-12-01", started["what_if_id"])
