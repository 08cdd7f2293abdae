"""Issue 10, items 3-6 and 8 (and issue 12, item 11) on the synthesized template: what a fresh account
needs (the API Gateway CloudWatch role, the region check, partition-aware ARNs, the recommended feature
flags), the monthly run's retries and reserved concurrency, the alarms and where they go, the API's
limits by context, tracing. One extra synth with every deploy-time choice changed (`custom`)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk
import pytest

from infra import ROOT
from infra.config import DeployConfig, context_key
from infra.reclassification import APP_TRANSIENT_ERRORS, DEFAULT_MAP_CONCURRENCY, TRANSIENT_ERRORS
from infra.regions import SCHEMA_REGISTRY_REGIONS, SUPPORTED_REGIONS, UnsupportedRegion, missing_in
from tests.infra.conftest import CONSOLE_IDS, Synth

OPS_TOPIC = "arn:aws:sns:eu-west-1:123456789012:retailer-ops"
CUSTOM = {
    "apiGatewayCloudwatchRole": "false",
    "alarmTopicArn": OPS_TOPIC,
    "apiRateLimit": "50",
    "apiBurstLimit": "80",
    "apiQuotaPerDay": "20000",
    "apiStageRateLimit": "300",
    "apiStageBurstLimit": "400",
    "reclassifyReservedConcurrency": "0",
    "reclassifyMapConcurrency": "100",
    "tableWriteLimit": "80000",
    "checkoutWriteShare": "75",
    "putEventsLimit": "20000",
    "ingestEventsShare": "50",
    "customersWarmWriteUnits": "0",
    "customersWarmReadUnits": "30000",
}


@pytest.fixture(scope="module")
def custom(cdk_context, tmp_path_factory) -> Synth:
    """The stack with every context choice changed, as `-c key=value` gives them (strings)."""
    from infra.stack import build_app

    outdir = tmp_path_factory.mktemp("custom.out")
    app, stack = build_app(context=cdk_context(**CUSTOM), outdir=str(outdir))
    template = app.synth().get_stack_by_name(stack.stack_name).template
    return Synth(app=app, stack=stack, outdir=outdir, template=template)


# -- a fresh account -------------------------------------------------------------------------------


def test_the_stack_provides_the_api_gateway_cloudwatch_role(synth):
    (account,) = synth.resources("AWS::ApiGateway::Account").values()
    role_id = account["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = synth.template["Resources"][role_id]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["DeletionPolicy"] == "Retain"  # region-wide: other APIs of the account rely on it
    assert [s["Principal"] for s in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]] == [
        {"Service": "apigateway.amazonaws.com"}
    ]
    (stage,) = synth.resources("AWS::ApiGateway::Stage").values()
    assert stage["DependsOn"] == [next(iter(synth.resources("AWS::ApiGateway::Account")))]


def test_an_account_that_manages_the_role_centrally_opts_out(custom):
    assert not custom.resources("AWS::ApiGateway::Account")
    roles = custom.resources("AWS::IAM::Role").values()
    assert not [r for r in roles if "apigateway.amazonaws.com" in json.dumps(r)]


def test_no_arn_hard_codes_the_partition(synth):
    text = json.dumps(synth.template)
    assert "arn:aws:" not in text and "arn:aws-cn:" not in text


def test_a_region_without_the_schema_registry_fails_the_synth_naming_it(cdk_context, tmp_path):
    from infra.stack import build_app

    region = "ca-west-1"  # has the Powertools layer, not the schema registry
    assert missing_in(region) and region not in SCHEMA_REGISTRY_REGIONS
    with pytest.raises(UnsupportedRegion) as error:
        build_app(context=cdk_context(), outdir=str(tmp_path), region=region)
    assert "region ca-west-1" in str(error.value) and "schema registry" in str(error.value)
    with pytest.raises(UnsupportedRegion, match="region cn-north-1 has no Powertools for AWS Lambda"):
        build_app(context=cdk_context(), outdir=str(tmp_path / "cn"), region="cn-north-1")


def test_a_region_agnostic_template_checks_the_region_at_deploy(synth):
    rule = synth.template["Rules"]["SupportedRegion"]
    (assertion,) = rule["Assertions"]
    regions, region = assertion["Assert"]["Fn::Contains"]
    assert region == {"Ref": "AWS::Region"} and sorted(regions) == sorted(SUPPORTED_REGIONS)
    assert {"eu-west-1", "eu-west-3", "us-east-1"} <= set(regions)


def test_the_schema_registry_regions_are_cfn_lints(synth):
    """infra/regions.py's table against its source: cfn-lint's CloudFormation resource types per region."""
    import cfnlint

    providers = Path(cfnlint.__file__).parent / "data" / "schemas" / "providers"
    regions = {
        path.stem
        for path in providers.glob("*.json")
        if path.stem != "sam" and "AWS::EventSchemas::Registry" in json.loads(path.read_text())
    }
    assert regions == SCHEMA_REGISTRY_REGIONS


def _recommended_flags() -> dict[str, Any]:
    """aws-cdk-lib's recommended-feature-flags.json (what `cdk init` writes), from the installed lib."""
    jsii = Path(aws_cdk.__file__).parent / "_jsii"
    (tarball,) = jsii.glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        return json.load(member)


def test_cdk_json_sets_the_recommended_feature_flags():
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    flags = _recommended_flags()
    assert len(flags) > 50
    assert {key: context.get(key) for key in flags} == flags


# -- the monthly run -------------------------------------------------------------------------------


def _tasks(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, state in asl["States"].items():
        if state["Type"] == "Task":
            found[name] = state
        if "ItemProcessor" in state:
            found |= _tasks(state["ItemProcessor"])
    return found


def test_every_step_retries_lambda_throttles_with_jitter_and_never_a_timeout(synth):
    from tests.infra.test_reclassification import definition

    tasks = _tasks(definition(synth.template))
    assert set(tasks) == {"Prepare", "StatisticsWorker", "Merge", "ClassifyWorker", "Summarize"}
    never = {"States.ALL", "States.TaskFailed", "States.Timeout", "Sandbox.Timedout"}
    for name, task in tasks.items():
        lambda_retry, app_retry = task["Retry"]
        assert set(lambda_retry["ErrorEquals"]) == set(TRANSIENT_ERRORS), name
        assert {"Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= set(TRANSIENT_ERRORS)
        assert set(app_retry["ErrorEquals"]) == set(APP_TRANSIENT_ERRORS) == {"Throttled", "PublishFailed"}
        for retry in task["Retry"]:
            assert retry["JitterStrategy"] == "FULL" and retry["BackoffRate"] > 1, name
            assert retry["MaxAttempts"] >= 3 and "MaxDelaySeconds" in retry, name
            assert not never & set(retry["ErrorEquals"]), name
        assert "Catch" not in task, name  # a failure fails the run (RunFailed alarm), never hidden


def test_the_retried_app_errors_are_the_ports_exceptions():
    import loyalty.ports as ports

    for name in APP_TRANSIENT_ERRORS:
        assert issubclass(getattr(ports, name), Exception), name


def test_the_reclassify_function_has_reserved_concurrency_for_the_map(synth, custom):
    assert DeployConfig().reclassify_reserved_concurrency == DEFAULT_MAP_CONCURRENCY
    for name, fn in synth.stack.functions.functions.items():
        props = synth.template["Resources"][synth.logical_id(fn)]["Properties"]
        expected = DEFAULT_MAP_CONCURRENCY if name == "reclassify" else None
        assert props.get("ReservedConcurrentExecutions") == expected, name
    fn = custom.stack.functions.functions["reclassify"]
    assert (
        "ReservedConcurrentExecutions"
        not in custom.template["Resources"][custom.logical_id(fn)]["Properties"]
    )


def test_the_run_s_concurrency_quotas_and_warm_throughput_come_from_context(custom):
    from tests.infra.test_reclassification import definition, reclassify_env

    states = definition(custom.template)["States"]
    assert states["Classify"]["MaxConcurrency"] == states["Statistics"]["MaxConcurrency"] == 100
    env = reclassify_env(custom)
    # No warm throughput: paced at a new table's 4,000 WRU/s (of the 80,000 quota), 25 % of it for the run.
    assert float(env["LOYALTY_RECLASSIFY_WRITE_UNITS"]) == 4_000 * 0.25 / 100
    assert float(env["LOYALTY_RECLASSIFY_EVENTS"]) == 20_000 * 0.5 / 100
    customers = custom.stack.tables["customers_table"]
    props = custom.template["Resources"][custom.logical_id(customers)]["Properties"]
    assert props["WarmThroughput"] == {"ReadUnitsPerSecond": 30_000}


def test_the_schedule_has_a_dead_letter_queue_and_its_own_group(synth):
    construct = synth.stack.reclassification
    (schedule,) = synth.resources("AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["Target"]["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": [synth.logical_id(construct.dead_letters), "Arn"]}
    }
    group_id = synth.logical_id(construct.schedule_group)
    assert props["GroupName"] == synth.template["Resources"][group_id]["Properties"]["Name"]
    assert group_id in schedule["DependsOn"]


# -- alarms ---------------------------------------------------------------------------------------


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def test_the_run_and_the_schedule_alarm_on_every_way_to_fail(synth):
    construct = synth.stack.reclassification
    machine = {"Ref": synth.logical_id(construct.state_machine)}
    by_metric = {(a["Namespace"], a["MetricName"]): a for a in _alarms(synth.template).values()}
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        alarm = by_metric[("AWS/States", metric)]
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": machine}], metric
    errors = by_metric[("AWS/Scheduler", "TargetErrorCount")]
    assert errors["Dimensions"] == [
        {"Name": "ScheduleGroup", "Value": construct.schedule_group.schedule_group_name}
    ]
    dead = by_metric[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]
    assert dead["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {"Fn::GetAtt": [synth.logical_id(construct.dead_letters), "QueueName"]},
        }
    ]
    for alarm in by_metric.values():
        assert alarm["Threshold"] == 1 and alarm["TreatMissingData"] == "notBreaching"


def test_the_5xx_alarm_names_this_api(synth):
    (api,) = synth.resources("AWS::ApiGateway::RestApi").values()
    name = api["Properties"]["Name"]
    assert name == f"{synth.stack.stack_name}-api"
    (alarm,) = [a for a in _alarms(synth.template).values() if a["MetricName"] == "5XXError"]
    assert alarm["Dimensions"] == [{"Name": "ApiName", "Value": name}]


def test_every_alarm_notifies_the_stacks_topic(synth):
    (topic_id,) = synth.resources("AWS::SNS::Topic")
    alarms = _alarms(synth.template)
    assert len(alarms) >= 2 * 5 + 1 + 5  # per function errors and throttles, the API, the run
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}], name
    assert synth.template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": topic_id}
    (policy,) = synth.resources("AWS::SNS::TopicPolicy").values()  # TLS only
    assert "aws:SecureTransport" in json.dumps(policy)


def test_every_alarm_notifies_the_topic_from_context(custom):
    assert not custom.resources("AWS::SNS::Topic")
    for name, alarm in _alarms(custom.template).items():
        assert alarm["AlarmActions"] == [OPS_TOPIC], name


# -- API limits, tracing ----------------------------------------------------------------------------


def test_usage_plan_limits_come_from_context(synth, custom):
    default = DeployConfig()
    for template, rate, burst, quota in (
        (synth.template, default.api_rate_limit, default.api_burst_limit, default.api_quota_per_day),
        (custom.template, 50, 80, 20000),
    ):
        (plan,) = (
            r["Properties"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::ApiGateway::UsagePlan" and "store systems" in r["Properties"]["Description"]
        )
        assert plan["Throttle"] == {"RateLimit": rate, "BurstLimit": burst}
        assert plan["Quota"] == {"Limit": quota, "Period": "DAY"}
    for template, rate, burst in (
        (synth.template, default.api_stage_rate_limit, default.api_stage_burst_limit),
        (custom.template, 300, 400),
    ):
        (stage,) = (
            r["Properties"]
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::ApiGateway::Stage" and not k.startswith(CONSOLE_IDS)  # the store API's
        )
        (settings,) = stage["MethodSettings"]
        assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (rate, burst)
        assert settings["LoggingLevel"] == "ERROR" and settings["DataTraceEnabled"] is False
    assert default.api_stage_rate_limit >= 10 * default.api_rate_limit  # room for ten keys


def test_context_keys_are_the_documented_ones():
    text = (ROOT / "docs" / "deploy.md").read_text()
    for field in DeployConfig.__dataclass_fields__:
        assert f"`{context_key(field)}`" in text, field
    assert set(CUSTOM) == {context_key(f) for f in DeployConfig.__dataclass_fields__}


def test_a_bad_context_value_fails_naming_the_key(cdk_context, tmp_path):
    from infra.stack import build_app

    with pytest.raises(ValueError, match="context apiRateLimit: expected a whole number, got 'fast'"):
        build_app(context=cdk_context(apiRateLimit="fast"), outdir=str(tmp_path))


def test_every_function_traces(synth):
    for fn in synth.resources("AWS::Lambda::Function").values():
        assert fn["Properties"]["TracingConfig"] == {"Mode": "Active"}
    for name in ("erasure", "ingest", "points", "redemptions", "reclassify"):
        handler = (ROOT / "functions" / name / "handler.py").read_text()
        assert "Tracer(patch_modules=TRACED_MODULES)" in handler, name


def test_deploy_doc_names_every_output_and_has_a_runbook_row_per_alarm(synth):
    text = (ROOT / "docs" / "deploy.md").read_text()
    for output in synth.template["Outputs"]:
        assert f"`{output}`" in text, output
    runbook = text[text.index("### Alarms and what to do (runbook)") :]
    rows = [line for line in runbook.splitlines() if line.startswith("| `")]
    for alarm in synth.stack.observability.alarms:
        name = alarm.node.id
        for label in (n.capitalize() for n in synth.stack.functions.functions):
            name = name.replace(label, "<Function>", 1) if name.startswith(label) else name
        assert any(f"`{name}`" in row.split("|")[1] for row in rows), alarm.node.id
