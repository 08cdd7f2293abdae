"""Synthesize LoyaltyStack once per test session, in process, exactly as `cdk synth` does (same
context from cdk.json, same cdk-nag plugin), and share the template with every infra test."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

from infra import ROOT


def _cdk_context(**overrides: Any) -> dict[str, Any]:
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, **overrides}


@pytest.fixture(scope="session")
def cdk_context() -> Any:
    """The context `cdk synth` gets from cdk.json, with overrides: cdk_context(programme=...)."""
    return _cdk_context


CONSOLE_IDS = ("Console", "CustomCDKBucketDeployment")  # logical ids of infra/console.py's resources


@dataclass
class Synth:
    app: Any
    stack: Any
    outdir: Path
    template: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        """The stack's resources of a kind, but the back-office console's (its own API, pages bucket and
        role, and CDK's BucketDeployment provider): test_infra_console.py checks those."""
        return {k: r for k, r in self.all_resources(kind).items() if not k.startswith(CONSOLE_IDS)}

    def all_resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}

    def logical_id(self, construct: Any) -> str:
        child = getattr(construct.node, "default_child", None) or construct
        return self.stack.get_logical_id(child)

    @staticmethod
    def render(value: Any) -> str:
        return render(value)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from infra.stack import build_app

    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app(context=_cdk_context(), outdir=str(outdir))
    assembly = app.synth()  # runs the cdk-nag plugin: any unacknowledged finding fails here
    template = assembly.get_stack_by_name(stack.stack_name).template
    return Synth(app=app, stack=stack, outdir=outdir, template=template)


def render(value: Any) -> str:
    """A CloudFormation value as text: Fn::GetAtt -> ${Id.Attr}, Ref -> ${Id}, Fn::Join joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Fn::GetAtt":
            return f"${{{arg[0]}.{arg[1]}}}"
        if fn == "Ref":
            return f"${{{arg}}}"
        if fn == "Fn::Join":
            return arg[0].join(render(part) for part in arg[1])
        if fn == "Fn::Sub" and isinstance(arg, str):
            return arg
        if fn == "Fn::Select" and isinstance(arg[1], dict) and "Fn::Split" in arg[1]:
            separator, source = arg[1]["Fn::Split"]
            return f"${{{render(source)[2:-1]}.split({separator!r})[{arg[0]}]}}"
    raise AssertionError(f"cannot render {value!r}")
