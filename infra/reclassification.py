"""The monthly reclassification: a Step Functions state machine that fans the reclassify function
(functions/reclassify, a handler per step; its FunctionSpec is in infra/functions.FUNCTIONS) out over
DynamoDB parallel-scan segments, an EventBridge Scheduler schedule in the programme's time zone, the
event schema registry, and a failure alarm. The run bucket is a storage bucket (infra/storage.BUCKETS,
settings.run_bucket); the stack's acknowledge_nag_findings covers this construct's findings.

    Defaults -> Prepare -> NeedsStatistics? -> Statistics (Map over segments) -> Merge
             -> Classify (Map over segments) -> Summarize (ReclassificationCompleted + EMF) -> Done

Everything that travels in the state is small (the run, the cut points, per-segment counts); the
per-segment statistics and tallies go to the run bucket (loyalty.ports.RunStore on S3).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct
from loyalty.programme import Programme
from loyalty.settings import RECLASSIFY

from infra import ROOT
from infra.observability import emf_metric

SCHEMAS = ROOT / "schemas" / "events"
# A manual start may give either or none; a what-if gives "dry_run": true and a candidate "programme"
# (inline, or the key of a JSON document in the run bucket): nothing written, nothing published.
DEFAULT_INPUT = '{"as_of":null,"total_segments":null,"dry_run":false,"programme":null}'
# Workers at a time per Map (context reclassifyMapConcurrency; docs/deploy.md). A Distributed Map, so
# the inline Map's cap of 40 iterations does not apply; what bounds the run is the table's write units
# and PutEvents, which each worker's token buckets share out (the workers get the rates from CDK:
# infra/config.py worker_rates, loyalty/service/reclassify/rate_limit.py), so more workers go no
# faster than those quotas and never take checkout's share.
DEFAULT_MAP_CONCURRENCY = 40
# Errors our code raises when AWS asks it to slow down (loyalty.ports): DynamoDB throttling or a
# transaction conflict past the SDK's retries, events EventBridge did not accept. The error name Step
# Functions sees is the exception's class name.
APP_TRANSIENT_ERRORS = ("Throttled", "PublishFailed")
# Errors of the Lambda service itself (not of our code) that a later attempt can pass.
TRANSIENT_ERRORS = (
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
)


def state_machine_name(stack: Stack) -> str:
    """The state machine's name, fixed by the stack's: the points function (the back office's what-if)
    is given the machine's ARN in its environment and may start it and describe its executions. With a
    generated name the ARN is only known once the machine exists (a Ref, and the executions' ARN an
    Fn::Split of it); spelled out, the settings object holds it from the start, the grants name it
    exactly, and the points function does not depend on the machine (no ordering, no cycle)."""
    return f"{stack.stack_name}-reclassification"


def state_machine_arn(stack: Stack) -> str:
    return stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=state_machine_name(stack),
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def schedule_expression(programme: Programme) -> str:
    """Monthly, on programme.schedule_day at programme.schedule_hour (in programme.timezone)."""
    return f"cron(0 {programme.schedule_hour} {programme.schedule_day} * ? *)"


def schema_documents() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(SCHEMAS.glob("*.json"))}


class Reclassification(Construct):
    """`function` (the stack's reclassify Lambda), `bucket` (the run bucket), `state_machine`,
    `scheduler_role`, `schedule`, `registry` and `schemas`, `alarm`."""

    def __init__(self, scope: Construct, construct_id: str, *, stack: Any) -> None:
        """`stack` is the LoyaltyStack: its functions, buckets, programme, observability and config."""
        super().__init__(scope, construct_id)
        self.map_concurrency: int = stack.config.reclassify_map_concurrency
        programme: Programme = stack.programme
        self.function = stack.functions.functions[RECLASSIFY]
        self.bucket = stack.buckets["run_bucket"]

        self.state_machine = self._state_machine()
        self.scheduler_role, self.schedule = self._schedule(programme)
        self.registry, self.schemas = self._schemas()
        self.alarm = self._observe(stack)

    # -- the state machine ---------------------------------------------------------------------

    def _invoke(self, name: str, payload: dict[str, Any], **kwargs: Any) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            retry_on_service_exceptions=False,  # the retry below covers them, with jitter
            **kwargs,
        )
        # Every step is idempotent (a rerun writes nothing twice), so a retry is safe; it is useful only
        # for what passes: Lambda throttling or a service fault, with exponential backoff and full jitter
        # so 16 workers throttled together do not come back together. A worker that timed out
        # (States.Timeout, Sandbox.Timedout) or raised is not retried: it would fail the same way,
        # and the run fails, alarms (RunFailed) and is rerun by hand (docs/deploy.md runbook).
        # A throttled worker waits longer: give the table time (its next attempt skips what is done).
        for errors, interval, attempts, max_delay in (
            (TRANSIENT_ERRORS, Duration.seconds(2), 6, Duration.seconds(60)),
            (APP_TRANSIENT_ERRORS, Duration.seconds(30), 3, Duration.minutes(5)),
        ):
            task.add_retry(
                errors=list(errors),
                interval=interval,
                max_attempts=attempts,
                backoff_rate=2,
                max_delay=max_delay,
                jitter_strategy=sfn.JitterType.FULL,
            )
        return task

    def _segment_map(self, name: str, step: str, extra: dict[str, Any]) -> sfn.DistributedMap:
        # One child execution per scan segment, over the segment list Prepare put in the state (a few
        # hundred numbers: ItemsPath, no ItemReader needed). Standard children: a worker may take up to
        # Lambda's 15 minutes, longer than an Express child's 5. No failure tolerated: a segment that
        # fails fails the run (its rerun skips nothing twice).
        fan_out = sfn.DistributedMap(
            self,
            name,
            items_path="$.prepared.segments",
            item_selector={
                "step": step,
                "run.$": "$.prepared.run",
                "segment.$": "$$.Map.Item.Value",
                **extra,
            },
            max_concurrency=self.map_concurrency,
            map_execution_type=sfn.StateMachineType.STANDARD,
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
                "dry_run.$": "$.dry_run",
                "programme.$": "$.programme",
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
            state_machine_name=state_machine_name(Stack.of(self)),
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=Duration.hours(6),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            comment="Monthly reclassification: statistics and classify passes over parallel-scan segments",
        )

    # -- schedule, schemas, observability --------------------------------------------------------

    def _schedule(self, programme: Programme) -> tuple[iam.Role, scheduler.CfnSchedule]:
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler: start the monthly reclassification",
        )
        self.state_machine.grant_start_execution(role)
        # Its own group, so that the group's metrics (target errors, dead letters) are this schedule's.
        self.schedule_group = scheduler.ScheduleGroup(
            self, "Group", schedule_group_name=f"{Stack.of(self).stack_name}-reclassification"
        )
        # A start the scheduler could not make after its retries lands here (with the error), not nowhere.
        self.dead_letters = sqs.Queue(
            self,
            "ScheduleDeadLetterQueue",
            retention_period=Duration.days(14),
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        role.add_to_policy(  # SendMessage only (grant_send_messages would add GetQueueUrl/Attributes)
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[self.dead_letters.queue_arn])
        )
        schedule = scheduler.CfnSchedule(
            self,
            "Monthly",
            group_name=self.schedule_group.schedule_group_name,
            description=f"Monthly reclassification ({programme.name})",
            schedule_expression=schedule_expression(programme),
            schedule_expression_timezone=programme.timezone,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn,
                role_arn=role.role_arn,
                input=json.dumps({"as_of": "<aws.scheduler.scheduled-time>"}),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=3),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=self.dead_letters.queue_arn
                ),
            ),
        )
        schedule.node.add_dependency(self.schedule_group)  # the group's name is literal: no implicit Ref
        return role, schedule

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

    def _observe(self, stack: Any) -> cw.Alarm:
        """Alarms for every way the month's run can go wrong without anyone seeing it: an execution
        that fails, times out (6 h) or is aborted, a schedule that could not start it, a start that
        went to the dead-letter queue. Returns the RunFailed alarm."""
        observability = stack.observability
        machine = self.state_machine
        hourly = {"period": Duration.hours(1), "statistic": "Sum"}
        alarms = {
            "RunFailed": (machine.metric_failed(**hourly), "The monthly reclassification failed"),
            "RunTimedOut": (machine.metric_timed_out(**hourly), "The monthly reclassification timed out"),
            "RunAborted": (machine.metric_aborted(**hourly), "The monthly reclassification was aborted"),
            "ScheduleTargetErrors": (
                self.schedule_group.metric_target_errors(**hourly),
                "The schedule could not start the monthly reclassification",
            ),
            "ScheduleDeadLetters": (
                self.dead_letters.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                "A monthly reclassification start is in the schedule's dead-letter queue",
            ),
        }
        created = {
            name: observability.alarm_on_any(
                self, name, metric, f"{text}: see the runbook in docs/deploy.md ({name})"
            )
            for name, (metric, text) in alarms.items()
        }
        observability.add_widgets(
            cw.GraphWidget(
                title="reclassification: customers changed, events published",
                left=[
                    emf_metric(name, period=Duration.days(1))
                    for name in ("CustomersClassified", "CustomersChanged", "EventsPublished")
                ],
                width=12,
            )
        )
        return created["RunFailed"]


def _worker(extra: dict[str, Any]) -> dict[str, Any]:
    """The worker's payload: what the Map's item selector put in the item (a JSON path per key)."""
    return {"segment.$": "$.segment", **{key: f"$.{key[:-2]}" for key in extra if key.endswith(".$")}}
