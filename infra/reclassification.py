"""The monthly reclassification: one Lambda (functions/reclassify, a handler per step), a Step Functions
state machine that fans it out over DynamoDB parallel-scan segments, an EventBridge Scheduler
schedule in the programme's time zone, the run bucket, and the event schema registry.

    Defaults -> Prepare -> NeedsStatistics? -> Statistics (Map over segments) -> Merge
             -> Classify (Map over segments) -> Summarize (ReclassificationCompleted + EMF) -> Done

Everything that travels in the state is small (the run, the cut points, per-segment counts); the
per-segment statistics and tallies go to the run bucket (loyalty.ports.RunStore on S3).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from loyalty.adapters.permissions import ADAPTER_CALLS, ADAPTER_MODULES, FUNCTION_USES, Access
from loyalty.programme import Programme
from loyalty.service.reclassify import RUN_BUCKET_ENV
from loyalty.settings import RECLASSIFY

from infra import ROOT
from infra.functions import FunctionSpec

SCHEMAS = ROOT / "schemas" / "events"
DEFAULT_INPUT = '{"as_of":null,"total_segments":null}'  # a manual start may give either or none
MAX_CONCURRENCY = 40  # workers at a time per Map (DynamoDB on-demand absorbs 40 parallel scans)
RUN_RETENTION_DAYS = 400  # the run documents (statistics, tallies, summaries) are kept 13 months
SPEC = FunctionSpec(
    RECLASSIFY,
    "Monthly reclassification steps (prepare, stats, merge, classify, summarize)",
    memory_mb=1769,  # one full vCPU
    timeout=Duration.minutes(15),
)

# The adapter methods the reclassify function uses and the calls they make (the same declaration
# format as loyalty.adapters.permissions, which builds the function's IAM from it).
ADAPTER_DECLARATIONS: dict[str, tuple[Access, ...]] = {
    "DynamoCustomerScan.scan_segment": (Access("customers_table", ("dynamodb:Scan",)),),
    "DynamoCustomerScan.save_classification": (Access("customers_table", ("dynamodb:UpdateItem",)),),
    "DynamoCustomerScan.get": (Access("customers_table", ("dynamodb:GetItem",)),),
    "DynamoCustomerScan.approximate_count": (Access("customers_table", ("dynamodb:DescribeTable",)),),
}
USES = (*ADAPTER_DECLARATIONS, "EventBridgePublisher.publish")


def declare_permissions() -> None:
    """Register the reclassify function's adapter calls (idempotent). S3 on the run bucket is granted
    by this construct, on that bucket only."""
    ADAPTER_CALLS.update(ADAPTER_DECLARATIONS)
    ADAPTER_MODULES.setdefault("DynamoCustomerScan", "loyalty.adapters.dynamodb")
    FUNCTION_USES[RECLASSIFY] = USES


def schedule_expression(programme: Programme) -> str:
    """Monthly, on programme.schedule_day at programme.schedule_hour (in programme.timezone)."""
    return f"cron(0 {programme.schedule_hour} {programme.schedule_day} * ? *)"


def schema_documents() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(SCHEMAS.glob("*.json"))}


class Reclassification(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stack: Any) -> None:
        """`stack` is the LoyaltyStack: its functions, tables, bus, programme and observability."""
        super().__init__(scope, construct_id)
        programme: Programme = stack.programme
        declare_permissions()

        self.bucket = s3.Bucket(
            self,
            "Runs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(RUN_RETENTION_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.function = stack.add_function(SPEC)
        self.function.add_environment(RUN_BUCKET_ENV, self.bucket.bucket_name)
        self.bucket.grant_read_write(self.function)

        self.state_machine = self._state_machine()
        self.schedule = self._schedule(programme)
        self.registry, self.schemas = self._schemas()
        self._observe(stack)
        self._acknowledge()

    # -- the state machine ---------------------------------------------------------------------

    def _invoke(self, name: str, payload: dict[str, Any], **kwargs: Any) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            **kwargs,
        )
        # Every step is idempotent (a rerun writes nothing twice): retrying a failed worker is safe.
        task.add_retry(errors=["States.ALL"], interval=Duration.seconds(10), max_attempts=2, backoff_rate=3)
        return task

    def _segment_map(self, name: str, step: str, extra: dict[str, Any]) -> sfn.Map:
        fan_out = sfn.Map(
            self,
            name,
            items_path="$.prepared.segments",
            item_selector={
                "step": step,
                "run.$": "$.prepared.run",
                "segment.$": "$$.Map.Item.Value",
                **extra,
            },
            max_concurrency=MAX_CONCURRENCY,
            result_path=sfn.JsonPath.DISCARD,
        )
        fan_out.item_processor(
            self._invoke(f"{name}Worker", {"step": step, "run.$": "$.run", **_worker(extra)})
        )
        return fan_out

    def _state_machine(self) -> sfn.StateMachine:
        defaults = sfn.Pass(
            self,
            "Defaults",
            parameters={"input.$": f"States.JsonMerge(States.StringToJson('{DEFAULT_INPUT}'), $, false)"},
            output_path="$.input",
        )
        prepare = self._invoke(
            "Prepare",
            {
                "step": "prepare",
                "as_of.$": "$.as_of",
                "total_segments.$": "$.total_segments",
                "run_id.$": "$$.Execution.Name",
            },
            result_path="$.prepared",
        )
        statistics = self._segment_map("Statistics", "stats", {})
        merge = self._invoke("Merge", {"step": "merge", "run.$": "$.prepared.run"}, result_path="$.cuts")
        classify = self._segment_map("Classify", "classify", {"cuts.$": "$.cuts"})
        summarize = self._invoke(
            "Summarize",
            {"step": "summarize", "run.$": "$.prepared.run", "cuts.$": "$.cuts"},
            result_selector={
                "period.$": "$.period",
                "customers.$": "$.customers",
                "changed.$": "$.changed",
                "events.$": "$.events",
                "published.$": "$.published",
            },
            result_path="$.summary",
        )
        needs_statistics = (
            sfn.Choice(self, "NeedsStatistics")
            .when(sfn.Condition.boolean_equals("$.prepared.run.needs_stats", True), statistics.next(merge))
            .otherwise(merge)
        )
        merge.next(classify).next(summarize).next(sfn.Succeed(self, "Done"))
        definition = defaults.next(prepare).next(needs_statistics)
        log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        return sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(6),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            comment="Monthly reclassification: statistics and classify passes over parallel-scan segments",
        )

    # -- schedule, schemas, observability --------------------------------------------------------

    def _schedule(self, programme: Programme) -> scheduler.CfnSchedule:
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler: start the monthly reclassification",
        )
        self.state_machine.grant_start_execution(role)
        return scheduler.CfnSchedule(
            self,
            "Monthly",
            description=f"Monthly reclassification ({programme.name})",
            schedule_expression=schedule_expression(programme),
            schedule_expression_timezone=programme.timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=role.role_arn,
                input=json.dumps({"as_of": "<aws.scheduler.scheduled-time>"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3),
            ),
        )

    def _schemas(self) -> tuple[eventschemas.CfnRegistry, list[eventschemas.CfnSchema]]:
        registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=f"{Stack.of(self).stack_name}-loyalty-events",
            description="Loyalty events: the detail of each detail-type (from loyalty.events)",
        )
        schemas = []
        for name, content in schema_documents().items():
            schema = eventschemas.CfnSchema(
                self,
                f"Schema{name}",
                registry_name=registry.attr_registry_name,
                schema_name=f"loyalty@{name}",
                type="JSONSchemaDraft4",
                content=content,
                description=json.loads(content).get("description", name)[:256],
            )
            schemas.append(schema)
        return registry, schemas

    def _observe(self, stack: Any) -> None:
        failed = self.state_machine.metric_failed(period=Duration.hours(1), statistic="Sum")
        stack.observability.add_alarm(
            cw.Alarm(
                self,
                "RunFailed",
                metric=failed,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
                alarm_description="The monthly reclassification failed: rerun it (reruns are idempotent)",
            )
        )
        stack.observability.add_widgets(
            cw.GraphWidget(
                title="reclassification: customers changed, events published",
                left=[
                    cw.Metric(namespace="Loyalty", metric_name=name, statistic="Sum", period=Duration.days(1))
                    for name in ("CustomersClassified", "CustomersChanged", "EventsPublished")
                ],
                width=12,
            )
        )

    def _acknowledge(self) -> None:
        """Findings accepted on this construct's own resources (granular cdk-nag ids)."""
        bucket = Stack.of(self).get_logical_id(self.bucket.node.default_child)  # type: ignore[arg-type]
        function = Stack.of(self).get_logical_id(self.function.node.default_child)  # type: ignore[arg-type]
        bucket, function = Stack.of(self).resolve(bucket), Stack.of(self).resolve(function)
        run_objects = "The run bucket's objects are written per period, run and segment (bucket/*) by this "
        Validations.of(self.bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="The run bucket holds only the reclassification's intermediate JSON (statistics and "
                "counts per scan segment), written and read by one function; CloudTrail logs its API use.",
            )
        )
        s3_actions = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
        Validations.of(self.function.role).acknowledge(  # the role lives under Functions
            *[
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[Action::{action}]",
                    reason=run_objects + "function only: grant_read_write on that one bucket, nothing else.",
                )
                for action in s3_actions
            ],
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/*]",
                reason=run_objects + "function only; the bucket is private to this construct.",
            ),
        )
        Validations.of(self.function).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="Python 3.12 on purpose: the AWS-managed Powertools layer pinned in "
                "infra/functions.py is built for it; move both together.",
            )
        )
        Validations.of(self.state_machine).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::<{function}.Arn>:*]",
                reason="Step Functions invokes the reclassify function of this stack, any of its versions "
                "(LambdaInvoke grants function:* for qualified calls).",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray tracing and CloudWatch Logs delivery for the state machine: these actions "
                "take no resource ARN (AWS requires Resource *).",
            ),
        )


def _worker(extra: dict[str, Any]) -> dict[str, Any]:
    """The worker's payload: what the Map's item selector put in the item (a JSON path per key)."""
    return {"segment.$": "$.segment", **{key: f"$.{key[:-2]}" for key in extra if key.endswith(".$")}}
