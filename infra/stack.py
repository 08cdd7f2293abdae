"""LoyaltyStack: the whole system as one deployable stack, and build_app() for app.py and the tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    App,
    Aws,
    CfnOutput,
    CfnRule,
    CfnRuleAssertion,
    Environment,
    Fn,
    Stack,
    Token,
    Validations,
)
from cdk_nag import AwsSolutionsChecks
from constructs import Construct
from loyalty.adapters.permissions import accesses_for
from loyalty.api.routes import Route, api_routes
from loyalty.programme import Programme, load_programme
from loyalty.settings import Settings

from infra import ROOT
from infra.api import Api, Limits
from infra.auth import BackOfficeAuth
from infra.config import DeployConfig
from infra.console import Console, acknowledge_console_findings
from infra.events import Events
from infra.functions import FUNCTIONS, LAYER_MOUNT, PROGRAMME_IN_LAYER, Functions, FunctionSpec
from infra.observability import Observability
from infra.reclassification import Reclassification, state_machine_arn, state_machine_name
from infra.regions import SUPPORTED_REGIONS, check_region, nag_arn_prefix
from infra.secrets import Secrets
from infra.storage import Storage, construct_id

STACK_NAME = "LoyaltyStack"
DEFAULT_PROGRAMME = "programmes/default.json"


def programme_path(scope: Construct) -> Path:
    """`-c programme=...` (relative paths are from the repository root), default programmes/default.json."""
    path = Path(str(scope.node.try_get_context("programme") or DEFAULT_PROGRAMME))
    return path if path.is_absolute() else ROOT / path


class LoyaltyStack(Stack):
    """Tables from MODELS, buckets from BUCKETS, the bus, the erasure pepper secret, functions from
    FUNCTIONS, routes from api_routes(), and the monthly reclassification (state machine, schedule,
    schema registry).

    Extension points: `add_function(spec)`, `tables`, `buckets`, `bus`, `functions.layer`,
    `observability` (alarms, widgets, alarm actions); a new route comes from api_routes()."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str = STACK_NAME,
        *,
        functions: tuple[FunctionSpec, ...] = FUNCTIONS,
        routes: list[Route] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id_, **kwargs)
        self.config = DeployConfig.from_context(self)
        self._check_region()
        self.programme_file = programme_path(self)
        # A bad programme stops the synth here, with the key named (ProgrammeError).
        self.programme: Programme = load_programme(self.programme_file)

        self.storage = Storage(
            self,
            "Storage",
            warm={
                "customers_table": (
                    self.config.customers_warm_read_units,
                    self.config.customers_warm_write_units,
                )
            },
        )
        self.events = Events(self, "Events")
        self.observability = Observability(self, "Observability", alarm_topic_arn=self.config.alarm_topic_arn)
        self.secrets = Secrets(self, "Secrets")
        self.settings = Settings(
            **{setting: table.table_name for setting, table in self.tables.items()},
            **{setting: bucket.bucket_name for setting, bucket in self.buckets.items()},
            event_bus_name=self.bus.event_bus_name,
            programme_path=f"{LAYER_MOUNT}/{PROGRAMME_IN_LAYER}",
            # The pepper's ARN only; the value never enters an environment. Empty settings are left out
            # of the environment (Settings.env_for), so the public local default is not deployed.
            erasure_pepper="",
            erasure_pepper_secret=self.secrets.erasure_pepper.secret_arn,
            reclassify_state_machine=state_machine_arn(self),  # its name is fixed: infra/reclassification.py
            # Each reclassify worker's token buckets: its share of the table's and PutEvents' quotas.
            **dict(
                zip(
                    ("reclassify_write_units", "reclassify_events"),
                    (f"{rate:.1f}" for rate in self.config.worker_rates()),
                    strict=True,
                )
            ),
        )
        arns = {setting: table.table_arn for setting, table in self.tables.items()}
        arns |= {setting: bucket.bucket_arn for setting, bucket in self.buckets.items()}
        arns["event_bus_name"] = self.bus.event_bus_arn
        arns |= self.secrets.arns
        arns["reclassify_state_machine"] = self.settings.reclassify_state_machine
        self.functions = Functions(
            self,
            "Functions",
            settings=self.settings,
            arns=arns,
            programme=self.programme,
            layer_build_dir=Path(App.of(self).outdir) / ".layer-build",  # type: ignore[union-attr]
            observability=self.observability,
            reserved_concurrency=self.config.reclassify_reserved_concurrency,
        )
        for spec in functions:
            self.add_function(spec)
        self.api = Api(
            self,
            "Api",
            functions=self.functions.functions,
            routes=api_routes() if routes is None else routes,
            limits=Limits(
                rate_limit=self.config.api_rate_limit,
                burst_limit=self.config.api_burst_limit,
                quota_per_day=self.config.api_quota_per_day,
                stage_rate_limit=self.config.api_stage_rate_limit,
                stage_burst_limit=self.config.api_stage_burst_limit,
            ),
            cloud_watch_role=self.config.api_gateway_cloudwatch_role,
        )
        self.observability.watch_api(self.api.rest_api)
        # The back-office console: its users (Cognito groups) and its pages and API (docs/back-office.md).
        self.auth = BackOfficeAuth(self, "BackOfficeAuth")
        self.console = Console(
            self,
            "Console",
            functions=self.functions.functions,
            routes=api_routes() if routes is None else routes,
            user_pool=self.auth.user_pool,
        )
        client = self.auth.add_console_client(self.console.url)
        self.console.add_sign_in(self.auth.domain_url, client.user_pool_client_id)
        self.reclassification = Reclassification(self, "Reclassification", stack=self)

        CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL (LOYALTY_API_URL)")
        CfnOutput(
            self,
            "ApiKeyId",
            value=self.api.api_key.key_id,
            description="aws apigateway get-api-key --include-value",
        )
        CfnOutput(
            self,
            "AdminApiKeyId",
            value=self.api.admin_key.key_id,
            description="The back-office key (docs/api-keys.md): aws apigateway get-api-key --include-value",
        )
        CfnOutput(
            self,
            "EventBusName",
            value=self.bus.event_bus_name,
            description="EventBridge bus for marketing tools",
        )
        for setting, table in self.tables.items():
            CfnOutput(self, f"{construct_id(setting)}Name", value=table.table_name, description=setting)
        for setting, bucket in self.buckets.items():
            CfnOutput(self, f"{construct_id(setting)}Name", value=bucket.bucket_name, description=setting)
        CfnOutput(
            self,
            "ReclassificationStateMachineArn",
            value=self.reclassification.state_machine.state_machine_arn,
            description="Start a reclassification by hand: aws stepfunctions start-execution",
        )
        CfnOutput(self, "ConsoleUrl", value=self.console.url, description="The back-office console")
        CfnOutput(
            self,
            "ConsoleUserPoolId",
            value=self.auth.user_pool.user_pool_id,
            description="Add employees to the groups support or marketing (docs/back-office.md)",
        )
        CfnOutput(self, "ConsoleClientId", value=client.user_pool_client_id)
        CfnOutput(self, "DashboardName", value=self.observability.dashboard.dashboard_name)
        CfnOutput(
            self,
            "AlarmTopicArn",
            value=self.observability.topic.topic_arn,
            description="Every alarm notifies this SNS topic: subscribe the on-call address to it",
        )
        CfnOutput(
            self,
            "ErasurePepperSecretArn",
            value=self.secrets.erasure_pepper.secret_arn,
            description="The erasure pepper (retained, never rotate): back it up with the tables",
        )
        acknowledge_nag_findings(self)

    def _check_region(self) -> None:
        """A known region must offer what the stack needs (infra/regions.py): the synth fails naming
        what is missing. A region-agnostic template checks the same at deploy, before creating anything."""
        if not Token.is_unresolved(self.region):
            check_region(self.region)
            return
        CfnRule(
            self,
            "SupportedRegion",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_contains(sorted(SUPPORTED_REGIONS), Aws.REGION),
                    assert_description="This stack needs the Powertools layer and the EventBridge schema "
                    "registry, which this region lacks: see infra/regions.py and docs/deploy.md",
                )
            ],
        )

    @property
    def tables(self) -> Mapping[str, Any]:
        return self.storage.tables

    @property
    def buckets(self) -> Mapping[str, Any]:
        return self.storage.buckets

    @property
    def bus(self) -> Any:
        return self.events.bus

    def add_function(self, spec: FunctionSpec) -> Any:
        return self.functions.add(spec)


def acknowledge_nag_findings(stack: LoyaltyStack) -> None:
    """Every cdk-nag finding we accept, on the narrowest construct, with the reason."""
    api = stack.api.rest_api
    Validations.of(api).acknowledge(
        Acknowledgment(
            id="AwsSolutions-APIG2",
            reason="Request validation is done by the Lambdas (pydantic, via Powertools), which answer "
            "400 with the field named in the error envelope; a second, API Gateway schema would drift "
            "from the code.",
        ),
        Acknowledgment(
            id="AwsSolutions-APIG3",
            reason="No WAF web ACL by default: callers are the retailer's own store systems with an API key, "
            "throttled and capped by the usage plan. Retailers exposing the API publicly attach their WAF.",
        ),
        Acknowledgment(
            id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            reason="The region-wide API Gateway CloudWatch role (access and execution logs of every API "
            "in the account) uses the AWS managed policy made for it, which AWS keeps in step with what "
            "API Gateway needs; accounts that manage this role centrally turn it off by context.",
        ),
        Acknowledgment(
            id="AwsSolutions-APIG4",
            reason="Store systems (machines, not users) authenticate with an API key and usage plan, as the "
            "product brief specifies; there is no end-user identity to authorise.",
        ),
        Acknowledgment(
            id="AwsSolutions-COG4",
            reason="No Cognito authorizer on the store API: callers are store systems authenticated by API "
            "key (see APIG4); people use the back-office API (infra/console.py), which has one.",
        ),
    )
    acknowledge_console_findings(stack, stack.console)
    for fn in stack.functions.functions.values():
        Validations.of(fn).acknowledge(
            Acknowledgment(
                id="AwsSolutions-L1",
                reason="Python 3.12 on purpose: the AWS-managed Powertools layer (python3.12, arm64) "
                "pinned in infra/functions.py is built for it; move both together.",
            )
        )
    for role in stack.functions.roles.values():
        Validations.of(role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords, which CDK grants "
                "for the Powertools Tracer, accept no resource ARN; AWS requires Resource * for them.",
            )
        )
    Validations.of(stack.reclassification.dead_letters).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SQS3",
            reason="This queue is itself the dead-letter queue, of the monthly schedule (EventBridge "
            "Scheduler's DeadLetterConfig, which cdk-nag does not see); a DLQ of a DLQ would only move "
            "the message once more. The ScheduleDeadLetters alarm fires on its first message.",
        )
    )
    for bucket in stack.buckets.values():
        Validations.of(bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="No server access logs (they would need a second bucket): the bucket is private, "
                "TLS only, and read and written by one function's least-privilege role; CloudTrail data "
                "events record object access where a retailer needs it.",
            )
        )
    # S3 object actions are granted on `<bucket arn>/*` (permissions.py, objects=True): the objects of
    # that one bucket, the narrowest resource S3 allows for them.
    for name, role in stack.functions.roles.items():
        for access in accesses_for(name):
            if access.objects:
                bucket = logical_id(stack, stack.buckets[access.resource])
                Validations.of(role).acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::<{bucket}.Arn>/{access.prefix}*]",
                        reason=f"{name} reads and writes objects of the one bucket named by "
                        f"settings.{access.resource}"
                        + (f" under {access.prefix} only" if access.prefix else "")
                        + f", only {', '.join(access.actions)}; S3 object permissions take the "
                        "bucket's objects (bucket/*), not a single key.",
                    )
                )
            if access.executions:
                Validations.of(role).acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::{nag_arn_prefix(stack, 'states')}:<AWS::AccountId>:"
                        f"execution:{state_machine_name(stack)}:*]",
                        reason=f"{name} reads how a what-if run it started is going "
                        f"({', '.join(access.actions)}): the executions of the one reclassification "
                        "state machine, whose names the run is given; nothing else.",
                    )
                )
    Validations.of(stack.secrets.erasure_pepper).acknowledge(
        Acknowledgment(
            id="AwsSolutions-SMG4",
            reason="The erasure pepper is not rotated on purpose: a new value would change the token of "
            "every later erasure of a card and break the link with its earlier erasure records and "
            "anonymous profiles. The value never leaves Secrets Manager and the erasure Lambda (the only "
            "principal granted GetSecretValue, on this ARN only).",
        )
    )
    reclassification = stack.reclassification
    Validations.of(reclassification.state_machine).acknowledge(
        Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::<{logical_id(stack, reclassification.function)}.Arn>:*]",
            reason="Step Functions invokes this stack's reclassify function only; the LambdaInvoke task "
            "grants function:* too, so that a qualified (version or alias) invocation is allowed.",
        ),
        Acknowledgment(
            id="AwsSolutions-IAM5[Resource::*]",
            reason="X-Ray tracing and CloudWatch Logs delivery of the state machine: these actions "
            "accept no resource ARN, AWS requires Resource * for them.",
        ),
        *(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{nag_arn_prefix(stack, 'states')}:<AWS::AccountId>:"
                'execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"'
                + logical_id(stack, reclassification.state_machine)
                + f'"}}]}}]}}{suffix}]',
                reason="The Distributed Maps' child executions: CDK grants DescribeExecution and "
                "StopExecution on this state machine's own executions (execution:<its name>:*) and "
                "RedriveExecution on their map runs (/*:*), whose names Step Functions generates; "
                "nothing outside this state machine.",
            )
            for suffix in (":*", "/*:*")
        ),
    )


def logical_id(stack: Stack, construct: Construct) -> str:
    """The logical id of a construct's CloudFormation resource, as cdk-nag prints it in finding ids."""
    return str(stack.resolve(stack.get_logical_id(construct.node.default_child)))  # type: ignore[arg-type]


def build_app(
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    *,
    region: str | None = None,
    account: str | None = None,
) -> tuple[App, LoyaltyStack]:
    """The app as `cdk synth` builds it: one stack, checked by cdk-nag (AwsSolutions) at synth. app.py
    passes the CLI's region and account (CDK_DEFAULT_REGION / CDK_DEFAULT_ACCOUNT); without them the
    template is region-agnostic."""
    app = App(context=dict(context or {}), outdir=outdir, analytics_reporting=False)
    stack = LoyaltyStack(
        app,
        STACK_NAME,
        description="Serverless loyalty and customer-segmentation backend",
        env=Environment(account=account, region=region) if region or account else None,
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack
