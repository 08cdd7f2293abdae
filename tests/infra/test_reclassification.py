"""The reclassification as LoyaltyStack deploys it (the session's synthesized template): the state
machine's path, the monthly schedule in the programme's time zone, the schema registry from
schemas/events, the run bucket, the function's environment and the failure alarm. cdk-nag, cfn-lint and
the IAM of its roles are checked with the rest of the stack (test_infra_checks, test_infra_iam)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from loyalty.events import json_schemas
from loyalty.service.reclassify import WORKER_THREADS
from loyalty.settings import RECLASSIFY, env_name

from infra.config import NEW_TABLE_WRITE_UNITS, DeployConfig
from infra.functions import FUNCTIONS
from infra.reclassification import DEFAULT_MAP_CONCURRENCY, SCHEMAS, schedule_expression
from infra.storage import RUN_BUCKET
from tests.helpers import default_programme


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


def test_the_stack_has_one_state_machine_invoking_its_reclassify_function(synth) -> None:
    construct = synth.stack.reclassification
    assert construct.function is synth.stack.functions.functions[RECLASSIFY]
    [(machine_id, machine)] = resources(synth.template, "AWS::StepFunctions::StateMachine").items()
    assert machine_id == synth.logical_id(construct.state_machine)
    text = render(machine["Properties"]["DefinitionString"])
    assert f"${{{synth.logical_id(construct.function)}.Arn}}" in text
    assert machine["Properties"]["TracingConfiguration"] == {"Enabled": True}
    assert machine["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def test_the_state_machine_path(synth) -> None:
    asl = definition(synth.template)
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
        assert fan_out["MaxConcurrency"] == DEFAULT_MAP_CONCURRENCY == 40
        assert fan_out["ResultPath"] is None  # the workers' results stay out of the state
        # A Distributed Map (child executions, no inline cap of 40), Standard children (a worker may
        # take Lambda's 15 minutes), no failure tolerated.
        config = fan_out["ItemProcessor"]["ProcessorConfig"]
        assert config == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        assert "ToleratedFailurePercentage" not in fan_out and "ToleratedFailureCount" not in fan_out
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


def test_the_schedule_runs_monthly_in_the_programme_time_zone(synth) -> None:
    programme = default_programme()
    [schedule] = resources(synth.template, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == schedule_expression(programme) == "cron(0 3 1 * ? *)"
    assert props["ScheduleExpressionTimezone"] == programme.timezone == "Europe/Paris"
    assert props.get("State", "ENABLED") == "ENABLED"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert json.loads(props["Target"]["Input"]) == {"as_of": "<aws.scheduler.scheduled-time>"}
    construct = synth.stack.reclassification
    assert props["Target"]["Arn"] == {"Ref": synth.logical_id(construct.state_machine)}
    assert props["Target"]["RoleArn"] == {"Fn::GetAtt": [synth.logical_id(construct.scheduler_role), "Arn"]}


def test_every_event_schema_is_registered(synth) -> None:
    schemas = resources(synth.template, "AWS::EventSchemas::Schema")
    registered = {
        s["Properties"]["SchemaName"]: json.loads(s["Properties"]["Content"]) for s in schemas.values()
    }
    files = {path.stem: json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")}
    assert files, "schemas/events/*.json"
    assert registered == {f"loyalty@{name}": schema for name, schema in files.items()}
    assert files == json_schemas()  # the files are the ones loyalty.events generates
    assert {s["Properties"]["Type"] for s in schemas.values()} == {"JSONSchemaDraft4"}
    [registry_id] = resources(synth.template, "AWS::EventSchemas::Registry")
    assert all(
        s["Properties"]["RegistryName"] == {"Fn::GetAtt": [registry_id, "RegistryName"]}
        for s in schemas.values()
    )


def test_the_run_bucket_is_private_encrypted_tls_only_and_expires(synth) -> None:
    bucket = synth.stack.buckets[RUN_BUCKET.setting]
    assert synth.stack.reclassification.bucket is bucket
    [bucket_id] = synth.resources("AWS::S3::Bucket")  # the console's pages bucket aside
    assert bucket_id == synth.logical_id(bucket)
    resource = synth.template["Resources"][bucket_id]
    props = resource["Properties"]
    assert resource["DeletionPolicy"] == "Retain"
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    [encryption] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == RUN_BUCKET.expiration_days and rule["Status"] == "Enabled"
    assert "BucketName" not in props, "named by CloudFormation, passed through settings"
    [policy] = synth.resources("AWS::S3::BucketPolicy").values()
    [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    output = synth.template["Outputs"]["RunBucketName"]  # loyalty_tools.target reads it
    assert output["Value"] == {"Ref": bucket_id}


def test_the_function_gets_the_settings_and_the_run_bucket(synth) -> None:
    fn = synth.stack.reclassification.function
    props = synth.template["Resources"][synth.logical_id(fn)]["Properties"]
    env = props["Environment"]["Variables"]
    bucket = synth.stack.buckets[RUN_BUCKET.setting]
    assert env[env_name("run_bucket")] == {"Ref": synth.logical_id(bucket)}
    assert {"LOYALTY_CUSTOMERS_TABLE", "LOYALTY_EVENT_BUS", "LOYALTY_PROGRAMME_PATH"} <= set(env)
    spec = next(s for s in FUNCTIONS if s.name == RECLASSIFY)
    assert props["Timeout"] == spec.timeout.to_seconds() == 900
    assert props["MemorySize"] == spec.memory_mb
    assert props["Handler"] == "handler.handler"


def test_a_failed_run_raises_an_alarm(synth) -> None:
    construct = synth.stack.reclassification
    alarm = synth.template["Resources"][synth.logical_id(construct.alarm)]["Properties"]
    assert alarm["MetricName"] == "ExecutionsFailed" and alarm["Namespace"] == "AWS/States"
    assert alarm["Dimensions"] == [
        {"Name": "StateMachineArn", "Value": {"Ref": synth.logical_id(construct.state_machine)}}
    ]
    assert alarm["Threshold"] == 1
    assert construct.alarm in synth.stack.observability.alarms


# -- the run against the account's quotas (issue 19, item 3) ----------------------------------------


def reclassify_env(synth: Any) -> dict[str, Any]:
    fn = synth.stack.reclassification.function
    return synth.template["Resources"][synth.logical_id(fn)]["Properties"]["Environment"]["Variables"]


def test_each_worker_gets_its_share_of_the_quotas_as_token_bucket_rates(synth) -> None:
    env = reclassify_env(synth)
    config = DeployConfig()
    # Defaults: half of the table's 40,000 WRU/s kept for checkout, 20 % of PutEvents' 10,000/s for
    # ingest; the rest over the Map's 40 workers (16 threads each share one bucket).
    assert float(env["LOYALTY_RECLASSIFY_WRITE_UNITS"]) == 40_000 * 0.5 / 40 == 500
    assert float(env["LOYALTY_RECLASSIFY_EVENTS"]) == 10_000 * 0.8 / 40 == 200
    assert config.worker_rates() == (500, 200)
    per_thread = config.worker_rates()[0] / WORKER_THREADS
    assert per_thread * WORKER_THREADS * config.reclassify_map_concurrency == 20_000  # checkout keeps 20,000


def test_the_customers_table_is_warm_for_the_run(synth) -> None:
    tables = synth.stack.tables
    props = synth.template["Resources"][synth.logical_id(tables["customers_table"])]["Properties"]
    assert props["WarmThroughput"] == {"ReadUnitsPerSecond": 40_000, "WriteUnitsPerSecond": 40_000}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    others = [t for name, t in tables.items() if name != "customers_table"]
    assert others and all(
        "WarmThroughput" not in synth.template["Resources"][synth.logical_id(t)]["Properties"] for t in others
    )


def test_a_cold_table_halves_nothing_but_paces_at_the_new_table_rate() -> None:
    cold = DeployConfig(customers_warm_write_units=0, reclassify_map_concurrency=8)
    assert cold.run_write_units == NEW_TABLE_WRITE_UNITS * 0.5 == 2_000
    assert cold.worker_rates()[0] == 250
    assert cold.reclassify_reserved_concurrency == 8  # follows the Map's concurrency


def test_quota_context_is_validated_naming_the_key(cdk_context, tmp_path) -> None:
    from infra.stack import build_app

    for context, message in (
        ({"checkoutWriteShare": "100"}, "context checkoutWriteShare: expected between 0 and 99, got 100"),
        ({"reclassifyMapConcurrency": "0"}, "context reclassifyMapConcurrency: expected between 1 and 10000"),
        ({"putEventsLimit": "lots"}, "context putEventsLimit: expected a whole number, got 'lots'"),
        (
            {"reclassifyMapConcurrency": "64", "reclassifyReservedConcurrency": "16"},
            "context reclassifyReservedConcurrency: 16 is below reclassifyMapConcurrency 64",
        ),
    ):
        with pytest.raises(ValueError, match=message):
            build_app(context=cdk_context(**context), outdir=str(tmp_path))


def test_the_points_function_is_given_the_arn_of_the_one_state_machine(synth) -> None:
    """The back office's what-if starts the machine from the points function: the ARN in its
    environment is the machine's own (its fixed name), with no reference that would order the two."""
    from loyalty.settings import POINTS

    (machine,) = resources(synth.template, "AWS::StepFunctions::StateMachine").values()
    name = machine["Properties"]["StateMachineName"]
    assert name == f"{synth.stack.stack_name}-reclassification"
    points = synth.stack.functions.functions[POINTS]
    env = synth.template["Resources"][synth.logical_id(points)]["Properties"]["Environment"]["Variables"]
    arn = render(env[env_name("reclassify_state_machine")])
    assert arn == f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{name}"
    assert synth.logical_id(synth.stack.reclassification.state_machine) not in json.dumps(env)
    assert env_name("reclassify_state_machine") not in reclassify_env(synth)  # the API's setting only
