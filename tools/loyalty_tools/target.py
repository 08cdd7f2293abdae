"""Where the `loyalty` commands point: a running local stack (`make local`) or a deployed stack.

Resolved once per command by `resolve_target()`, then `Target.activate()` sets the process
environment (endpoint, credentials, table and bus names) and binds the pynamodb models, so every
command after that just uses boto3 / pynamodb / the API URL as if it were in AWS.

- local (the default when `make local` is up): the endpoints and the programme file in
  .loyalty/local.json ($LOYALTY_STATE_DIR/local.json; read_state()), AWS_ENDPOINT_URL = the moto
  server, fake credentials, default table names.
- aws: the usual AWS settings (AWS_PROFILE, AWS_REGION, ...); table names, bus, API URL, the
  reclassification bucket and state machine come from the CloudFormation outputs of the stack
  (LoyaltyStack); the programme is the one deployed in the functions' layer (deployed_programme()).
- env: AWS_ENDPOINT_URL is already set (a test, a script): used as is.

Whatever the target, the process gets the Powertools settings the handlers need outside Lambda
(CLI_POWERTOOLS): the CLI runs handler code in process and must not depend on what a test sets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loyalty.settings import Settings

STACK_NAME = "LoyaltyStack"
TARGETS = ("auto", "local", "aws", "env")
# What a handler run in this process needs and Lambda's environment would give it. Metrics off: no
# CloudWatch agent reads a laptop's stdout, and EMF lines would mix with the command's own output.
CLI_POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": "loyalty-cli",
    "POWERTOOLS_METRICS_NAMESPACE": "Loyalty",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


class TargetError(RuntimeError):
    """No stack to point at, or a stack without the outputs we need."""


@dataclass
class Target:
    kind: str  # local | aws | env
    env: dict[str, str] = field(default_factory=dict)  # set in os.environ by activate()
    api_url: str | None = None
    api_key: str | None = None
    moto_url: str | None = None
    queue_url: str | None = None
    run_bucket: str | None = None
    state_machine_arn: str | None = None
    description: str = ""

    def activate(self) -> Settings:
        """Point this process at the target: environment, then the pynamodb models."""
        from loyalty.bootstrap import bind
        from loyalty.settings import get_settings

        for name, value in CLI_POWERTOOLS.items():
            os.environ.setdefault(name, value)
        os.environ.update(self.env)
        get_settings.cache_clear()
        settings = Settings.from_env()
        bind(settings)
        return settings


def resolve_target(kind: str = "auto", stack_name: str = STACK_NAME) -> Target:
    if kind not in TARGETS:
        raise TargetError(f"--target must be one of {', '.join(TARGETS)} (got {kind!r})")
    if kind == "env" or (kind == "auto" and os.environ.get("AWS_ENDPOINT_URL")):
        return _from_env()
    if kind in ("auto", "local"):
        target = _local()
        if target is not None:
            return target
        if kind == "local":
            raise TargetError("no local stack is running: start one with `make local` (or `loyalty local`)")
    if kind == "auto" and not _aws_configured():
        raise TargetError(
            "nothing to point at: start the local stack with `make local`, or set AWS_PROFILE / "
            "AWS credentials and AWS_REGION for a deployed stack (--target aws)"
        )
    return _aws(stack_name)


def local_target(
    api_url: str,
    api_key: str,
    moto_url: str,
    queue_url: str | None = None,
    programme_path: str | None = None,
    run_bucket: str | None = None,
) -> Target:
    from loyalty.settings import env_name

    from loyalty_tools.localstack import FAKE_CREDENTIALS

    env = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_url}
    if programme_path:  # the stack's programme, not whatever this shell says
        env[env_name("programme_path")] = programme_path
    if run_bucket:
        env[env_name("run_bucket")] = run_bucket
    return Target(
        kind="local",
        env=env,
        api_url=api_url,
        api_key=api_key,
        moto_url=moto_url,
        queue_url=queue_url,
        run_bucket=run_bucket or os.environ.get(env_name("run_bucket")),
        description=f"local stack: API {api_url}, moto {moto_url}",
    )


def _local() -> Target | None:
    from loyalty_tools.local import read_state

    state = read_state()
    if state is None:
        return None
    return local_target(
        state["api_url"],
        state["api_key"],
        state["moto_url"],
        state.get("queue_url"),
        state.get("programme_path"),
        state.get("run_bucket"),
    )


def _from_env() -> Target:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    return Target(
        kind="env",
        api_url=os.environ.get("LOYALTY_API_URL"),
        api_key=os.environ.get("LOYALTY_API_KEY"),
        moto_url=endpoint or None,
        run_bucket=os.environ.get("LOYALTY_RUN_BUCKET"),
        description=f"endpoint from the environment: {endpoint or 'AWS'}",
    )


def _aws_configured() -> bool:
    names = (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    )
    return any(os.environ.get(name) for name in names)


def output_env(outputs: dict[str, str]) -> dict[str, str]:
    """Stack outputs -> the LOYALTY_* environment. Table outputs are named after the settings
    field (customers_table -> CustomersTableName), as infra/stack.py writes them."""
    from dataclasses import fields

    env: dict[str, str] = {}
    for f in fields(Settings):
        key = "".join(part.capitalize() for part in f.name.split("_")) + "Name"
        if key in outputs:
            env[f.metadata["env"]] = outputs[key]
    if "EventBusName" in outputs:
        env["LOYALTY_EVENT_BUS"] = outputs["EventBusName"]
    bucket = next((v for k, v in outputs.items() if "RunBucket" in k or "ReclassificationBucket" in k), None)
    if bucket:
        env["LOYALTY_RUN_BUCKET"] = bucket
    return env


def _aws(stack_name: str) -> Target:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as exc:
        raise TargetError(f"cannot read the outputs of stack {stack_name}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    env = output_env(outputs)
    if "LOYALTY_CUSTOMERS_TABLE" not in env:
        raise TargetError(f"stack {stack_name} has no CustomersTableName output: is it the loyalty stack?")
    api_key = os.environ.get("LOYALTY_API_KEY")
    if api_key is None and "ApiKeyId" in outputs:
        try:
            api_key = boto3.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)[
                "value"
            ]
        except (BotoCoreError, ClientError):
            api_key = None  # the commands that need the API say so
    region = boto3.session.Session().region_name
    state_machine = outputs.get("ReclassificationStateMachineArn")
    if state_machine:
        from loyalty.settings import env_name

        programme = deployed_programme(state_machine)
        env[env_name("programme_path")] = str(programme)
    return Target(
        kind="aws",
        env=env,
        api_url=(outputs.get("ApiUrl") or "").rstrip("/") or None,
        api_key=api_key,
        run_bucket=env.get("LOYALTY_RUN_BUCKET"),
        state_machine_arn=state_machine,
        description=f"AWS stack {stack_name} in {region}",
    )


def deployed_programme(state_machine_arn: str, clients: Any = None) -> Path:
    """The programme the deployed functions run: the state machine names the reclassify function,
    whose layer ships the validated programme (loyalty/programme.json, see infra/functions.py).
    Written to a cache file and returned as its path. `clients`: a boto3-like factory (tests)."""
    import hashlib
    import io
    import json
    import tempfile
    import zipfile
    from urllib.request import urlopen

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = clients or boto3.client
    try:
        definition = json.loads(
            client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn)["definition"]
        )
        function = _function_of(definition)
        if function is None:
            raise TargetError(f"the state machine {state_machine_arn} invokes no Lambda function")
        layers = client("lambda").get_function_configuration(FunctionName=function).get("Layers", [])
        for layer in layers:
            location = client("lambda").get_layer_version_by_arn(Arn=layer["Arn"])["Content"]["Location"]
            with urlopen(location, timeout=60) as response:  # a presigned https URL
                archive = zipfile.ZipFile(io.BytesIO(response.read()))
            if LAYER_PROGRAMME in archive.namelist():
                digest = hashlib.sha256(layer["Arn"].encode()).hexdigest()[:16]
                out = Path(tempfile.gettempdir()) / f"loyalty-deployed-programme-{digest}.json"
                out.write_bytes(archive.read(LAYER_PROGRAMME))
                return out
    except (BotoCoreError, ClientError, OSError, ValueError, KeyError) as exc:
        raise TargetError(f"cannot read the deployed programme: {exc}") from exc
    raise TargetError(f"no layer of {function} ships {LAYER_PROGRAMME}: is it the loyalty stack?")


LAYER_PROGRAMME = "python/loyalty/programme.json"  # infra/functions.py PROGRAMME_IN_LAYER, under python/


def _function_of(node: Any) -> str | None:
    """The first Lambda FunctionName in a state machine definition (every task calls the same one)."""
    if isinstance(node, dict):
        params = node.get("Parameters") or node.get("Arguments") or {}
        if isinstance(params, dict) and isinstance(params.get("FunctionName"), str):
            return str(params["FunctionName"])
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _function_of(child)
        if found:
            return found
    return None
