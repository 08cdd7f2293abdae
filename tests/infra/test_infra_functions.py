"""Functions: code, runtime, layers and environment, all derived from settings and the function table."""

from __future__ import annotations

import importlib.util
import json
import tomllib
from pathlib import Path

import pytest
from loyalty.adapters.permissions import FUNCTION_USES
from loyalty.api.routes import api_routes
from loyalty.programme import load_programme
from loyalty.settings import ALL_FUNCTIONS, ERASURE, Settings, env_name, env_names_for

from infra import ROOT
from infra.functions import (
    FUNCTIONS,
    LAYER_PACKAGES,
    POWERTOOLS_LAYER_PARAMETER,
    POWERTOOLS_VERSION,
    PROGRAMME_IN_LAYER,
    RUNTIME,
)
from infra.observability import METRICS_NAMESPACE, SERVICE_NAME

NAMES = [spec.name for spec in FUNCTIONS]
# Settings deliberately left unset in AWS: the local stack's public pepper (the erasure function gets
# the secret's ARN instead, LOYALTY_ERASURE_PEPPER_SECRET).
NOT_DEPLOYED = {ERASURE: {env_name("erasure_pepper")}}


def _function(synth, name):
    return synth.template["Resources"][synth.logical_id(synth.stack.functions.functions[name])]["Properties"]


def test_function_table_is_consistent():
    assert len(set(NAMES)) == len(NAMES)
    assert set(NAMES) <= set(ALL_FUNCTIONS)
    assert {route.function for route in api_routes()} <= set(NAMES), "a route's function is not deployed"
    assert set(NAMES) <= set(FUNCTION_USES), (
        "a deployed function declares no adapter methods (permissions.py)"
    )
    for spec in FUNCTIONS:
        module_name, attribute = spec.handler.rsplit(".", 1)
        path = ROOT / "functions" / spec.name / f"{module_name}.py"
        loader = importlib.util.spec_from_file_location(f"infra_check_{spec.name}", path)
        assert loader and loader.loader, path
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        assert callable(getattr(module, attribute, None)), f"{path} has no {attribute}()"


def test_one_lambda_per_function(synth):
    assert len(synth.resources("AWS::Lambda::Function")) == len(FUNCTIONS)


@pytest.mark.parametrize("name", NAMES)
def test_runtime_and_layers(synth, name):
    props = _function(synth, name)
    assert props["Runtime"] == RUNTIME.name
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == next(s.handler for s in FUNCTIONS if s.name == name)
    layers = props["Layers"]  # their files do not overlap, so their order does not matter
    loyalty = {"Ref": synth.logical_id(synth.stack.functions.layer)}
    assert loyalty in layers and len(layers) == 2
    (powertools,) = (layer for layer in layers if layer != loyalty)
    parameter = synth.template["Parameters"][powertools["Ref"]]
    assert parameter == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": POWERTOOLS_LAYER_PARAMETER}


def test_powertools_layer_is_the_tested_version():
    """The layer's SSM parameter names the release pyproject.toml pins, which is the one installed."""
    from importlib.metadata import version

    pins = [d for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    assert f"aws-lambda-powertools[tracer]=={POWERTOOLS_VERSION}" in pins
    assert version("aws-lambda-powertools") == POWERTOOLS_VERSION
    expected = f"/aws/service/powertools/python/arm64/python3.12/{POWERTOOLS_VERSION}"
    assert expected == POWERTOOLS_LAYER_PARAMETER


@pytest.mark.parametrize("name", NAMES)
def test_environment_covers_settings(synth, name):
    env = _function(synth, name)["Environment"]["Variables"]
    missing = env_names_for(name) - set(env) - NOT_DEPLOYED.get(name, set())
    assert not missing, f"{name} lacks {sorted(missing)}"
    assert not NOT_DEPLOYED.get(name, set()) & set(env), f"{name}: must not be deployed"
    assert env["POWERTOOLS_SERVICE_NAME"] == SERVICE_NAME
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE


@pytest.mark.parametrize("name", NAMES)
def test_environment_names_the_real_resources(synth, name):
    """Table and bus variables reference the stack's own resources, not the local defaults."""
    env = _function(synth, name)["Environment"]["Variables"]
    names = Settings.__dataclass_fields__
    for setting, table in synth.stack.tables.items():
        var = names[setting].metadata["env"]
        if var in env_names_for(name):
            assert env[var] == {"Ref": synth.logical_id(table)}, var
    for setting, bucket in synth.stack.buckets.items():
        var = names[setting].metadata["env"]
        if var in env_names_for(name):
            assert env[var] == {"Ref": synth.logical_id(bucket)}, var
    bus_var = names["event_bus_name"].metadata["env"]
    if bus_var in env_names_for(name):
        assert env[bus_var] == {"Ref": synth.logical_id(synth.stack.bus)}
    assert env[names["programme_path"].metadata["env"]] == f"/opt/python/{PROGRAMME_IN_LAYER}"


def test_erasure_gets_the_pepper_secret_arn_never_the_pepper(synth):
    """The deployed erasure function reads the pepper from Secrets Manager by ARN: no pepper value (and
    so not the public local default) in its environment, nor in any other function's."""
    secret = synth.stack.secrets.erasure_pepper
    env = _function(synth, ERASURE)["Environment"]["Variables"]
    assert env_name("erasure_pepper") not in env
    assert env[env_name("erasure_pepper_secret")] == {"Ref": synth.logical_id(secret)}
    default = Settings().erasure_pepper
    for name in NAMES:
        variables = _function(synth, name)["Environment"]["Variables"]
        assert env_name("erasure_pepper") not in variables, name
        assert default not in json.dumps(variables), name
        if name != ERASURE:
            assert env_name("erasure_pepper_secret") not in variables, name
    assert default not in json.dumps(synth.template), "the local pepper must not reach the template"


def test_pepper_secret_is_generated_and_retained(synth):
    secret = synth.template["Resources"][synth.logical_id(synth.stack.secrets.erasure_pepper)]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["DeletionPolicy"] == "Retain" and secret["UpdateReplacePolicy"] == "Retain"
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 64 and generated["ExcludePunctuation"] is True
    assert "SecretString" not in secret["Properties"]
    assert not synth.resources("AWS::SecretsManager::RotationSchedule")
    outputs = synth.template["Outputs"]
    assert outputs["ErasurePepperSecretArn"]["Value"] == {
        "Ref": synth.logical_id(synth.stack.secrets.erasure_pepper)
    }


def _asset_dir(synth, construct) -> Path:
    code = synth.template["Resources"][synth.logical_id(construct)]["Properties"]
    code = code.get("Content") or code.get("Code")
    key = synth.render(code["S3Key"])
    return synth.outdir / f"asset.{key.split('.')[0]}"


def test_layer_holds_runtime_package_pynamodb_and_programme(synth):
    root = _asset_dir(synth, synth.stack.functions.layer) / "python"
    assert (root / "loyalty" / "settings.py").is_file()
    for package in LAYER_PACKAGES:
        assert (root / package / "__init__.py").is_file()
    shipped = json.loads((root / PROGRAMME_IN_LAYER).read_text())
    assert shipped == json.loads(load_programme(synth.stack.programme_file).to_json())
    assert not (root / "loyalty_tools").exists(), "the tools stay out of the layer"
    assert not list(root.rglob("__pycache__"))


@pytest.mark.parametrize("name", NAMES)
def test_function_code_is_its_folder(synth, name):
    asset = _asset_dir(synth, synth.stack.functions.functions[name])
    assert (asset / "handler.py").read_text() == (ROOT / "functions" / name / "handler.py").read_text()


def test_bad_programme_fails_synth_naming_the_key(tmp_path, cdk_context):
    from loyalty.programme import ProgrammeError

    from infra.stack import build_app

    good = json.loads((ROOT / "programmes" / "default.json").read_text())
    good["currency"] = "euro"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(good))
    with pytest.raises(ProgrammeError) as error:
        build_app(context=cdk_context(programme=str(bad)), outdir=str(tmp_path / "out"))
    assert error.value.key == "currency"
    assert "programme.currency" in str(error.value)
