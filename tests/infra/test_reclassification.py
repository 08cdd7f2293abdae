"""The reclassification construct on a LoyaltyStack: the state machine's path, the monthly schedule in
the programme's time zone, the schema registry from schemas/events, the function's environment, cdk-nag."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks
from loyalty.events import json_schemas
from loyalty.service.reclassify import RUN_BUCKET_ENV

from infra.reclassification import Reclassification, schedule_expression
from infra.stack import STACK_NAME, LoyaltyStack
from tests.helpers import REPO, default_programme


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    app = App(context=context, outdir=str(outdir))
    stack = LoyaltyStack(app, STACK_NAME)
    construct = Reclassification(stack, "Reclassification", stack=stack)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    assembly = app.synth()  # fails on any unacknowledged cdk-nag finding
    template = assembly.get_stack_by_name(STACK_NAME).template
    return {"app": app, "stack": stack, "construct": construct, "template": template}


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def render(value: Any) -> str:
    """A CloudFormation string expression flattened (tokens as ${Logical.Arn} / ${Ref})."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        return "".join(render(v) for v in value["Fn::Join"][1])
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    return json.dumps(value)


def definition(template: dict[str, Any]) -> dict[str, Any]:
    [machine] = resources(template, "AWS::StepFunctions::StateMachine").values()
    return json.loads(render(machine["Properties"]["DefinitionString"]))


def test_the_state_machine_path(built: dict[str, Any]) -> None:
    asl = definition(built["template"])
    states = asl["States"]
    assert asl["StartAt"] == "Defaults"
    assert states["Defaults"]["Next"] == "Prepare"
    assert states["Prepare"]["Next"] == "NeedsStatistics"
    choice = states["NeedsStatistics"]
    assert choice["Choices"][0]["Variable"] == "$.prepared.run.needs_stats"
    assert choice["Choices"][0]["Next"] == "Statistics" and choice["Default"] == "Merge"
    assert states["Statistics"]["Type"] == "Map" and states["Statistics"]["Next"] == "Merge"
    assert states["Merge"]["Next"] == "Classify"
    assert states["Classify"]["Type"] == "Map" and states["Classify"]["Next"] == "Summarize"
    assert states["Summarize"]["Next"] == "Done"
    for name in ("Statistics", "Classify"):
        fan_out = states[name]
        assert fan_out["ItemsPath"] == "$.prepared.segments"
        assert fan_out["MaxConcurrency"] == 40
        assert fan_out["ResultPath"] is None  # the workers' results stay out of the state
    worker = states["Classify"]["ItemProcessor"]["States"]["ClassifyWorker"]
    assert worker["Parameters"] == {
        "step": "classify",
        "run.$": "$.run",
        "segment.$": "$.segment",
        "cuts.$": "$.cuts",
    }
    assert states["Classify"]["ItemSelector"]["cuts.$"] == "$.cuts"
    assert states["Prepare"]["Parameters"]["run_id.$"] == "$$.Execution.Name"
    assert all(s["Retry"] for s in (states["Prepare"], states["Merge"], states["Summarize"]))


def test_the_schedule_runs_monthly_in_the_programme_time_zone(built: dict[str, Any]) -> None:
    programme = default_programme()
    [schedule] = resources(built["template"], "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == schedule_expression(programme) == "cron(0 3 1 * ? *)"
    assert props["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert json.loads(props["Target"]["Input"]) == {"as_of": "<aws.scheduler.scheduled-time>"}
    assert props["Target"]["Arn"] == {
        "Ref": built["stack"].get_logical_id(built["construct"].state_machine.node.default_child)
    }


def test_every_event_schema_is_registered(built: dict[str, Any]) -> None:
    schemas = resources(built["template"], "AWS::EventSchemas::Schema")
    registered = {
        s["Properties"]["SchemaName"]: json.loads(s["Properties"]["Content"]) for s in schemas.values()
    }
    assert registered == {f"loyalty@{name}": schema for name, schema in json_schemas().items()}
    assert {s["Properties"]["Type"] for s in schemas.values()} == {"JSONSchemaDraft4"}
    assert len(resources(built["template"], "AWS::EventSchemas::Registry")) == 1


def test_the_function_gets_the_settings_and_the_run_bucket(built: dict[str, Any]) -> None:
    fn = built["construct"].function
    props = built["template"]["Resources"][built["stack"].get_logical_id(fn.node.default_child)]["Properties"]
    env = props["Environment"]["Variables"]
    assert {"LOYALTY_CUSTOMERS_TABLE", "LOYALTY_EVENT_BUS", "LOYALTY_PROGRAMME_PATH", RUN_BUCKET_ENV} <= set(
        env
    )
    assert props["Timeout"] == 900 and props["Handler"] == "handler.handler"


def test_cdk_nag_passes(built: dict[str, Any]) -> None:
    report = AwsSolutionsChecks(built["app"]).validate_scope(built["app"])
    assert report.success, [v.rule_name for v in report.violations]
