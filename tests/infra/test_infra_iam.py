"""Each function's role grants exactly what its adapter methods declare (permissions.py), on exact
resources, plus writing to its own log group; nothing else, no wildcards."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import fields

import pytest
from loyalty.adapters.models import MODELS
from loyalty.adapters.permissions import ADAPTER_CALLS, ADAPTER_MODULES, FUNCTION_USES, accesses_for
from loyalty.settings import Settings

from infra.functions import FUNCTIONS

NAMES = [spec.name for spec in FUNCTIONS]
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}


def _grants(synth, name) -> set[tuple[str, str]]:
    """(action, resource) pairs of every policy attached to the function's role."""
    role_id = synth.logical_id(synth.stack.functions.roles[name])
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
    arn["event_bus_name"] = f"${{{synth.logical_id(synth.stack.bus)}.Arn}}"
    pairs = set()
    for access in accesses_for(name):
        resource = arn[access.resource] + (f"/index/{access.index}" if access.index else "")
        pairs |= {(action, resource) for action in access.actions}
    log_group = synth.stack.functions.functions[name].log_group
    pairs |= {(action, f"${{{synth.logical_id(log_group)}.Arn}}") for action in LOG_ACTIONS}
    return pairs


@pytest.mark.parametrize("name", NAMES)
def test_role_grants_exactly_the_declared_calls(synth, name):
    assert _grants(synth, name) == _expected(synth, name)


@pytest.mark.parametrize("name", NAMES)
def test_role_has_no_wildcards_and_no_managed_policies(synth, name):
    for action, resource in _grants(synth, name):
        assert "*" not in action, action
        assert "*" not in resource, resource
    role = synth.template["Resources"][synth.logical_id(synth.stack.functions.roles[name])]["Properties"]
    assert not role.get("ManagedPolicyArns")
    assert not role.get("Policies")


def test_every_role_belongs_to_a_function(synth):
    assert len(synth.resources("AWS::IAM::Role")) == len(FUNCTIONS)


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
            if access.index is not None:
                schema = MODELS[access.resource]._get_schema()
                names = {ix["index_name"] for ix in schema.get("global_secondary_indexes", [])}
                names |= {ix["index_name"] for ix in schema.get("local_secondary_indexes", [])}
                assert access.index in names, f"{method}: no index {access.index!r} on {access.resource}"


def test_function_uses_name_declared_methods():
    for function, methods in FUNCTION_USES.items():
        assert set(methods) <= set(ADAPTER_CALLS), function
