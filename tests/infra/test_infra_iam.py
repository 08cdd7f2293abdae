"""Each function's role grants exactly what its adapter methods declare (permissions.py), on exact
resources, plus writing to its own log group; nothing else, no wildcards (bar `<bucket arn>/*` for S3
object actions, the narrowest resource S3 has for them). The only other roles are the reclassification's
service roles (Step Functions, EventBridge Scheduler), each granted exactly what it needs."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import fields

import pytest
from loyalty.adapters.models import MODELS
from loyalty.adapters.permissions import ADAPTER_CALLS, ADAPTER_MODULES, FUNCTION_USES, accesses_for
from loyalty.settings import ERASURE, Settings

from infra.functions import FUNCTIONS

NAMES = [spec.name for spec in FUNCTIONS]
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
# Active tracing (the Powertools Tracer): X-Ray takes no resource ARN for these (acknowledged IAM5).
TRACING = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}
S3_OBJECT_ACTIONS = {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}  # the ones with a key in the ARN


def _grants(synth, name) -> set[tuple[str, str]]:
    """(action, resource) pairs of every policy attached to the function's role."""
    return _role_grants(synth, synth.stack.functions.roles[name])


def _role_grants(synth, role) -> set[tuple[str, str]]:
    role_id = synth.logical_id(role)
    pairs = set()
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            assert "NotAction" not in statement and "NotResource" not in statement
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            pairs |= {(a, synth.render(r)) for a in actions for r in resources}
    return pairs


def _expected(synth, name) -> set[tuple[str, str]]:
    arn = {setting: f"${{{synth.logical_id(table)}.Arn}}" for setting, table in synth.stack.tables.items()}
    arn |= {setting: f"${{{synth.logical_id(b)}.Arn}}" for setting, b in synth.stack.buckets.items()}
    arn["event_bus_name"] = f"${{{synth.logical_id(synth.stack.bus)}.Arn}}"
    arn["erasure_pepper_secret"] = f"${{{synth.logical_id(synth.stack.secrets.erasure_pepper)}}}"  # Ref: ARN
    # The state machine's name is fixed (infra/reclassification.py): its ARN and its executions' spelled out.
    machine = f"{synth.stack.stack_name}-reclassification"
    arn["reclassify_state_machine"] = (
        f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{machine}"
    )
    executions = arn["reclassify_state_machine"].replace(":stateMachine:", ":execution:") + ":*"
    pairs = set()
    for access in accesses_for(name):
        resource = arn[access.resource] + (f"/index/{access.index}" if access.index else "")
        resource += f"/{access.prefix}*" if access.objects else ""
        resource = executions if access.executions else resource
        pairs |= {(action, resource) for action in access.actions}
    log_group = synth.stack.functions.functions[name].log_group
    pairs |= {(action, f"${{{synth.logical_id(log_group)}.Arn}}") for action in LOG_ACTIONS}
    return pairs | TRACING


@pytest.mark.parametrize("name", NAMES)
def test_role_grants_exactly_the_declared_calls(synth, name):
    assert _grants(synth, name) == _expected(synth, name)


@pytest.mark.parametrize("name", NAMES)
def test_role_has_no_wildcards_and_no_managed_policies(synth, name):
    buckets = {f"${{{synth.logical_id(bucket)}.Arn}}" for bucket in synth.stack.buckets.values()}
    machine = f":execution:{synth.stack.stack_name}-reclassification:*"
    for action, resource in _grants(synth, name) - TRACING:
        assert "*" not in action, action
        bucket = resource.split("/", 1)[0]
        if resource.endswith("*") and bucket in buckets:  # the objects of one bucket (under a prefix)
            assert action in S3_OBJECT_ACTIONS, (action, resource)
            resource = resource[:-1]
        if resource.endswith(machine):  # the executions of the one state machine
            assert action == "states:DescribeExecution", (action, resource)
            resource = resource[:-1]
        assert "*" not in resource, resource
    role = synth.template["Resources"][synth.logical_id(synth.stack.functions.roles[name])]["Properties"]
    assert not role.get("ManagedPolicyArns")
    assert not role.get("Policies")


def test_only_the_erasure_function_may_read_the_pepper_and_only_that_secret(synth):
    """GetSecretValue on the pepper secret's exact ARN (its Ref, with Secrets Manager's random suffix),
    for the erasure function alone; no other secretsmanager action anywhere."""
    secret = f"${{{synth.logical_id(synth.stack.secrets.erasure_pepper)}}}"
    for name in NAMES:
        secrets = {(a, r) for a, r in _grants(synth, name) if a.startswith("secretsmanager:") or r == secret}
        expected = {("secretsmanager:GetSecretValue", secret)} if name == ERASURE else set()
        assert secrets == expected, name
    roles = [synth.stack.reclassification.state_machine.role, synth.stack.reclassification.scheduler_role]
    for role in roles:
        assert not {a for a, _ in _role_grants(synth, role) if a.startswith("secretsmanager:")}


def test_every_role_belongs_to_a_function_or_the_reclassification(synth):
    """One role per function, plus the reclassification's two service roles and the account's API
    Gateway CloudWatch role; nothing else."""
    function_roles = {synth.logical_id(role) for role in synth.stack.functions.roles.values()}
    assert len(function_roles) == len(FUNCTIONS)
    reclassification = synth.stack.reclassification
    cloudwatch_role = synth.stack.api.rest_api.node.find_child("CloudWatchRole")
    service_roles = {
        synth.logical_id(reclassification.state_machine.role): "states.amazonaws.com",
        synth.logical_id(reclassification.scheduler_role): "scheduler.amazonaws.com",
        synth.logical_id(cloudwatch_role): "apigateway.amazonaws.com",
    }
    roles = synth.resources("AWS::IAM::Role")
    assert set(roles) == function_roles | set(service_roles)
    for role_id, props in roles.items():
        principal = service_roles.get(role_id, "lambda.amazonaws.com")
        statements = props["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in statements] == [{"Service": principal}], role_id


def test_scheduler_may_only_start_the_state_machine_and_dead_letter_a_start(synth):
    reclassification = synth.stack.reclassification
    machine = f"${{{synth.logical_id(reclassification.state_machine)}}}"
    dead_letters = f"${{{synth.logical_id(reclassification.dead_letters)}.Arn}}"
    assert _role_grants(synth, reclassification.scheduler_role) == {
        ("states:StartExecution", machine),
        ("sqs:SendMessage", dead_letters),
    }


def test_state_machine_may_only_invoke_the_reclassify_function(synth):
    """lambda:InvokeFunction on the reclassify function (and its versions); the Resource * grants are
    X-Ray and log delivery, which take no resource ARN (acknowledged as IAM5 with that reason)."""
    reclassification = synth.stack.reclassification
    fn = f"${{{synth.logical_id(reclassification.function)}.Arn}}"
    grants = _role_grants(synth, reclassification.state_machine.role)
    assert {(a, r) for a, r in grants if a.startswith("lambda:")} == {
        ("lambda:InvokeFunction", fn),
        ("lambda:InvokeFunction", f"{fn}:*"),
    }
    anywhere = {a for a, r in grants if r == "*"}
    assert anywhere == STATE_MACHINE_UNSCOPED
    # The Distributed Maps start, watch and stop this state machine's own child executions only.
    machine = synth.logical_id(reclassification.state_machine)
    executions = f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:${{{machine}.split(':')[6]}}"  # noqa: E501
    children = {(a, r) for a, r in grants if a.startswith("states:")}
    assert children == {
        ("states:StartExecution", f"${{{machine}}}"),
        ("states:DescribeExecution", f"{executions}:*"),
        ("states:StopExecution", f"{executions}:*"),
        ("states:RedriveExecution", f"{executions}/*:*"),  # a failed map run redriven by hand
    }
    assert {a for a, r in grants} == anywhere | {"lambda:InvokeFunction"} | {a for a, _ in children}


# What CDK grants a state machine with tracing and a log group: X-Ray, and CloudWatch Logs' vended log
# delivery (which AWS authorises on Resource "*" only).
STATE_MACHINE_UNSCOPED = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


# -- the declaration itself -----------------------------------------------------------------------


def _adapter_methods() -> set[str]:
    """Every public method of every class defined in the loyalty.adapters modules (bar the models and
    this declaration): each one talks to AWS, so each must say what it calls."""
    import loyalty.adapters

    found = set()
    for info in pkgutil.iter_modules(loyalty.adapters.__path__):
        if info.name in ("models", "permissions"):
            continue
        module = importlib.import_module(f"loyalty.adapters.{info.name}")
        for cls_name, cls in vars(module).items():
            if (
                not inspect.isclass(cls)
                or cls_name.startswith("_")  # a private helper of the adapters, not an adapter
                or cls.__module__ != module.__name__
                or issubclass(cls, BaseException)
            ):
                continue
            found |= {
                f"{cls_name}.{name}"
                for name, member in vars(cls).items()
                if not name.startswith("_") and inspect.isfunction(member)
            }
    return found


def test_every_adapter_method_is_declared_and_every_declaration_is_a_method():
    found, declared = _adapter_methods(), set(ADAPTER_CALLS)
    assert not found - declared, (
        f"declare these in loyalty/adapters/permissions.py: {sorted(found - declared)}"
    )
    assert not declared - found, f"no such adapter methods: {sorted(declared - found)}"
    for method in declared:
        cls_name = method.split(".")[0]
        module = importlib.import_module(ADAPTER_MODULES[cls_name])
        assert hasattr(getattr(module, cls_name), method.split(".")[1])


def test_declared_resources_are_settings_fields_and_indexes_exist():
    settings_fields = {f.name for f in fields(Settings)}
    for method, accesses in ADAPTER_CALLS.items():
        for access in accesses:
            assert access.resource in settings_fields, method
            assert access.actions and all(":" in a and "*" not in a for a in access.actions), method
            if access.objects:
                assert set(access.actions) <= S3_OBJECT_ACTIONS, method
                assert access.index is None, method
            else:
                assert not set(access.actions) & S3_OBJECT_ACTIONS, f"{method}: objects=True for these"
            if access.index is not None:
                schema = MODELS[access.resource]._get_schema()
                names = {ix["index_name"] for ix in schema.get("global_secondary_indexes", [])}
                names |= {ix["index_name"] for ix in schema.get("local_secondary_indexes", [])}
                assert access.index in names, f"{method}: no index {access.index!r} on {access.resource}"


def test_function_uses_name_declared_methods():
    for function, methods in FUNCTION_USES.items():
        assert set(methods) <= set(ADAPTER_CALLS), function
