"""The Lambda functions: one FunctionSpec per function, one shared layer, least-privilege roles.

Adding a function is one entry in FUNCTIONS (plus its adapter methods in
loyalty.adapters.permissions.FUNCTION_USES): its code is functions/<name>/, its environment comes
from loyalty.settings, its IAM from the permissions declaration, its alarms from observability.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct
from loyalty.adapters.permissions import Access, accesses_for
from loyalty.adapters.stepfunctions import execution_arn
from loyalty.programme import Programme
from loyalty.settings import ERASURE, INGEST, POINTS, RECLASSIFY, REDEMPTIONS, Settings

from infra import ROOT
from infra.function_env import powertools_env
from infra.observability import Observability

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64


def powertools_version() -> str:
    """The aws-lambda-powertools version pinned in pyproject.toml (the one the tests run): the one
    place it is pinned. The layer is the AWS-managed build of exactly that version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"aws-lambda-powertools(\[[\w,]+\])?==([\w.]+)", requirement.replace(" ", ""))
        if match:
            return match.group(2)
    raise RuntimeError("pyproject.toml: pin aws-lambda-powertools with == (the layer follows that pin)")


POWERTOOLS_VERSION = powertools_version()
# The public SSM parameter AWS publishes per release, architecture and runtime, whose value is that
# release's layer ARN in the deploying region (resolved by CloudFormation at deploy, no lookup at synth).
POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/{ARCHITECTURE.name}/{RUNTIME.name}/{POWERTOOLS_VERSION}"
)
LAYER_MOUNT = "/opt/python"  # where Lambda mounts a layer's python/ folder
LAYER_SOURCE = ROOT / "layers" / "loyalty" / "python" / "loyalty"
LAYER_PACKAGES = ("pynamodb",)  # pure-Python packages copied from the venv into the layer
PROGRAMME_IN_LAYER = "loyalty/programme.json"  # settings.py prefers this file when present
LOG_RETENTION = logs.RetentionDays.ONE_YEAR
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # a loyalty.settings function name; code in functions/<name>/
    description: str
    memory_mb: int = 512
    timeout: Duration = field(default_factory=lambda: Duration.seconds(10))
    handler: str = "handler.handler"
    # Reserve concurrency (from infra/config.py, reclassify_reserved_concurrency) for this function.
    reserves_concurrency: bool = False


FUNCTIONS: tuple[FunctionSpec, ...] = (
    FunctionSpec(INGEST, "POST /v1/transactions: purchases and returns"),
    FunctionSpec(POINTS, "GET a customer's card and history"),
    FunctionSpec(REDEMPTIONS, "Points to vouchers, a customer's vouchers, spending a voucher"),
    FunctionSpec(ERASURE, "DELETE a customer (GDPR erasure)", timeout=Duration.minutes(5)),
    # One handler per Step Functions state (infra/reclassification.py); a worker scans one segment.
    FunctionSpec(
        RECLASSIFY,
        "Monthly reclassification steps (prepare, stats, merge, classify, summarize)",
        memory_mb=1769,  # one full vCPU
        timeout=Duration.minutes(15),
        reserves_concurrency=True,  # the run and the API cannot starve each other
    ),
)


def stage_layer(target: Path, programme: Programme) -> Path:
    """Build the layer folder offline, without Docker: the loyalty package, the pure-Python packages it
    needs beyond the Lambda runtime and the Powertools layer, and the validated programme."""
    if target.exists():
        shutil.rmtree(target)
    python = target / "python"
    shutil.copytree(LAYER_SOURCE, python / "loyalty", ignore=_IGNORE)
    for package in LAYER_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"{package} is not installed in this venv: run `make install`")
        shutil.copytree(Path(next(iter(spec.submodule_search_locations))), python / package, ignore=_IGNORE)
    (python / PROGRAMME_IN_LAYER).write_text(programme.to_json() + "\n", encoding="utf-8")
    return target


def arn_of(access: Access, arns: Mapping[str, str]) -> str:
    """The exact ARN: a table's index for a query on it, a bucket's objects (those under a prefix when
    it has one) for S3 object actions, a state machine's executions for execution calls."""
    if access.resource not in arns:
        raise KeyError(f"{access.resource}: no resource in the stack for this settings field")
    arn = arns[access.resource]
    if access.index:
        return f"{arn}/index/{access.index}"
    if access.executions:
        # The state machine's ARN is spelled out (infra/stack.py names the machine), so its
        # executions' ARN is too, as the adapter derives one execution's: here any execution name.
        return execution_arn(arn, "*")
    return f"{arn}/{access.prefix}*" if access.objects else arn


class Functions(Construct):
    """`functions` maps each function name to its Lambda; `add(spec)` creates one with its env, role,
    layer and alarms. `arns` maps each settings field naming a resource to that resource's ARN."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        arns: Mapping[str, str],
        programme: Programme,
        layer_build_dir: Path,
        observability: Observability,
        reserved_concurrency: int = 0,
    ):
        super().__init__(scope, construct_id)
        self.reserved_concurrency = reserved_concurrency
        self.settings = settings
        self.arns = dict(arns)
        self.observability = observability
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        staged = stage_layer(layer_build_dir, programme)
        self.layer = lambda_.LayerVersion(
            self,
            "LoyaltyLayer",
            code=lambda_.Code.from_asset(str(staged)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="loyalty runtime package, pynamodb and the validated programme",
        )
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER),
        )

    def environment(self, name: str) -> dict[str, str]:
        return {**self.settings.env_for(name), **powertools_env(name)}

    def add(self, spec: FunctionSpec) -> lambda_.Function:
        label = spec.name.capitalize()
        log_group = logs.LogGroup(
            self, f"{label}Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        role = iam.Role(
            self,
            f"{label}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{spec.name}: exactly the calls its adapters declare, and its own log group",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        for access in accesses_for(spec.name):
            role.add_to_policy(
                iam.PolicyStatement(actions=list(access.actions), resources=[arn_of(access, self.arns)])
            )
        fn = lambda_.Function(
            self,
            label,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=lambda_.Code.from_asset(
                str(ROOT / "functions" / spec.name), exclude=["__pycache__", "*.pyc"]
            ),
            handler=spec.handler,
            layers=[self.powertools, self.layer],
            environment=self.environment(spec.name),
            memory_size=spec.memory_mb,
            timeout=spec.timeout,
            role=role,
            log_group=log_group,
            reserved_concurrent_executions=(
                self.reserved_concurrency or None if spec.reserves_concurrency else None
            ),
            tracing=lambda_.Tracing.ACTIVE,  # the Powertools Tracer's segments; CDK grants xray:Put*
        )
        self.functions[spec.name] = fn
        self.roles[spec.name] = role
        self.observability.watch_function(spec.name, fn)
        return fn
