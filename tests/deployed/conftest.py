"""The stack's Lambda functions as Lambda runs them: from the assets of a real `cdk synth`, laid out as
Lambda lays them out, in an interpreter that holds only what Lambda and the Powertools layer provide.

- One `cdk synth` (the CLI, offline, as `make synth` runs it) into a temporary cdk.out, once per session.
- One virtual environment with boto3 (the runtime's) and aws-lambda-powertools[all] at the version the
  template's Powertools layer names (the layer is built from exactly that install, bar boto3 and its
  dependencies), cached under build/lambda-runtime/ and reused between runs.
- The layers' python/ folders extracted into a folder of the same depth as /opt/python (a fresh folder
  directly under /tmp), the function's code as the task root, `python -I` so that nothing of the repo,
  the project venv or PYTHONPATH is importable; tests/deployed/lambda_runtime.py is the runtime loop.
- A moto server with the template's tables (key schema and indexes from the template), buckets, bus and
  secret, and each function's environment from the template, its Refs resolved to those resources.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from infra import ROOT

RUNNER = Path(__file__).resolve().parent / "lambda_runtime.py"
VENV_ROOT = ROOT / "build" / "lambda-runtime"
LAMBDA_OPT_PYTHON = PurePosixPath("/opt/python")  # where Lambda extracts the layers' python/ folders
REGION = "eu-west-1"


# -- the synth -----------------------------------------------------------------------------------


@dataclass
class Synthesized:
    outdir: Path
    template: dict[str, Any]

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}

    def our_functions(self) -> dict[str, dict[str, Any]]:
        """The stack's own functions: not CDK's BucketDeployment provider (CDK's code and its awscli
        layer, run by CloudFormation at deploy time only to copy the console's pages)."""
        return {
            k: r
            for k, r in self.resources("AWS::Lambda::Function").items()
            if not k.startswith("CustomCDKBucketDeployment")
        }

    def asset_dir(self, logical_id: str) -> Path:
        """The asset of a function or layer, by the metadata CDK writes on the resource."""
        metadata = self.template["Resources"][logical_id].get("Metadata", {})
        path = metadata.get("aws:asset:path")
        assert path, f"{logical_id}: no aws:asset:path metadata (is the asset in cdk.out?)"
        return self.outdir / path


def cli_synth(outdir: Path, region: str, extra: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }
    for name in ("AWS_ENDPOINT_URL", "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION"):
        env.pop(name, None)
    command = ["npx", "--no-install", "cdk", "synth", "--no-notices", "--quiet", "-o", str(outdir)]
    return subprocess.run(
        command + (extra or []), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = tmp_path_factory.mktemp("deployed-cdk.out")
    done = cli_synth(outdir, REGION)
    assert done.returncode == 0, done.stderr[-4000:]
    template = json.loads((outdir / "LoyaltyStack.template.json").read_text())
    return Synthesized(outdir=outdir, template=template)


# -- the runtime's packages ------------------------------------------------------------------------


def powertools_version_of(template: dict[str, Any]) -> str:
    """The version in the Powertools layer's SSM parameter (/aws/service/powertools/.../<version>)."""
    names = {
        p["Default"]
        for p in template.get("Parameters", {}).values()
        if str(p.get("Default", "")).startswith("/aws/service/powertools/python/")
    }
    assert len(names) == 1, f"expected one Powertools layer parameter, got {names}"
    return names.pop().rsplit("/", 1)[1]


def runtime_requirements(powertools: str) -> list[str]:
    # The Powertools layer: aws-lambda-powertools[all] (its build removes boto3 and boto3's own
    # dependencies, which the runtime has). pydantic is held at the pin the project tests with.
    pydantic = next(pin for pin in _project_pins() if pin.startswith("pydantic=="))
    return [f"aws-lambda-powertools[all]=={powertools}", pydantic, "boto3"]


def _project_pins() -> list[str]:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.fixture(scope="session")
def lambda_python(synthesized: Synthesized) -> Path:
    requirements = runtime_requirements(powertools_version_of(synthesized.template))
    key = hashlib.sha256(json.dumps([sys.version_info[:2], requirements]).encode()).hexdigest()[:12]
    venv = VENV_ROOT / key
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements],
            check=True,
        )
        (venv / ".complete").write_text("\n".join(requirements) + "\n")
    return python


# -- AWS as moto -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from loyalty_tools.localstack import MotoServer

    server = MotoServer().start()
    try:
        yield server.url
    finally:
        server.stop()


TABLE_KEYS = ("KeySchema", "AttributeDefinitions", "GlobalSecondaryIndexes", "LocalSecondaryIndexes")


@pytest.fixture(scope="session")
def deployed_resources(synthesized: Synthesized, moto_url: str) -> dict[str, str]:
    """Create the template's stateful resources in moto; logical id -> what its Ref returns."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=moto_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    refs: dict[str, str] = {}
    dynamodb, s3, events, sm = client("dynamodb"), client("s3"), client("events"), client("secretsmanager")
    suffix = secrets.token_hex(3)
    for logical_id, resource in synthesized.resources("AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        name = f"{logical_id}-{suffix}"
        dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST", **{k: props[k] for k in TABLE_KEYS if k in props}
        )
        refs[logical_id] = name
    for logical_id in synthesized.resources("AWS::S3::Bucket"):
        name = f"{logical_id.lower()[:40]}-{suffix}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        refs[logical_id] = name
    for logical_id in synthesized.resources("AWS::Events::EventBus"):
        name = f"{logical_id}-{suffix}"
        events.create_event_bus(Name=name)
        refs[logical_id] = name
    for logical_id in synthesized.resources("AWS::SecretsManager::Secret"):
        arn = sm.create_secret(Name=f"{logical_id}-{suffix}", SecretString=secrets.token_hex(32))["ARN"]
        refs[logical_id] = arn  # a secret's Ref is its ARN
    for logical_id in synthesized.resources("AWS::ApiGateway::ApiKey"):
        refs[logical_id] = f"key-id-{logical_id}"  # an API key's Ref is its id, which API Gateway passes
    # The pseudo parameters an ARN spelled out in the template is joined from (the state machine's).
    refs |= {"AWS::AccountId": "123456789012", "AWS::Partition": "aws", "AWS::Region": REGION}
    return refs


# -- X-Ray, as a daemon that records what it is sent ---------------------------------------------


@dataclass
class XRayDaemon:
    """A UDP socket where Lambda's X-Ray daemon would listen: the segment documents it receives."""

    address: str
    documents: list[dict[str, Any]] = field(default_factory=list)

    def subsegment_names(self) -> set[str]:
        names: set[str] = set()

        def walk(document: dict[str, Any]) -> None:
            names.add(str(document.get("name")))
            for child in document.get("subsegments", []):
                walk(child)

        for document in self.documents:
            walk(document)
        return names


@pytest.fixture(scope="session")
def xray_daemon() -> Iterator[XRayDaemon]:
    import socket
    import threading

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    daemon = XRayDaemon(address=f"127.0.0.1:{sock.getsockname()[1]}")
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(65536)
            except TimeoutError:
                continue
            _header, _, body = data.decode().partition("\n")  # {"format": "json", "version": 1}
            daemon.documents.append(json.loads(body))

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    try:
        yield daemon
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()


# -- a function, as Lambda runs it -----------------------------------------------------------------


def lambda_depth_dir(prefix: str) -> Path:
    """A fresh folder at the depth of /opt/python (or /var/task): two levels below the root, so that
    code computing paths from __file__ sees as many parents as it does in Lambda."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp")).resolve()
    if len(folder.parents) != len(LAMBDA_OPT_PYTHON.parents):
        shutil.rmtree(folder)
        pytest.fail(f"{folder} is not at the depth of {LAMBDA_OPT_PYTHON}: cannot lay out Lambda's paths")
    return folder


@dataclass
class DeployedFunction:
    name: str
    logical_id: str
    handler: str
    environment: dict[str, str]
    task_root: Path
    opt_python: Path
    process: subprocess.Popen[str] | None = None
    loaded: dict[str, str] = field(default_factory=dict)  # top-level module -> its file
    _answers: Any = None
    _stdout: Any = None

    def start(self, python: Path) -> DeployedFunction:
        read, write = os.pipe()
        self._stdout = tempfile.TemporaryFile("w+")  # noqa: SIM115 (read after the process ends)
        self.process = subprocess.Popen(
            [
                str(python),
                "-I",  # no PYTHONPATH, no user site, not even the runner's folder on sys.path
                str(RUNNER),
                "--task-root",
                str(self.task_root),
                "--opt-python",
                str(self.opt_python),
                "--handler",
                self.handler,
                "--answers-fd",
                str(write),
            ],
            cwd=self.task_root,
            env=self.environment,
            stdin=subprocess.PIPE,
            stdout=self._stdout,
            stderr=subprocess.STDOUT,
            text=True,
            pass_fds=(write,),
        )
        os.close(write)
        self._answers = os.fdopen(read)
        ready = json.loads(self._answers.readline() or "{}")
        if "ready" not in ready:
            self.close()
            pytest.fail(f"{self.name}: the init phase failed\n{ready.get('message', '')}\n{self.output}")
        self.loaded = ready["ready"]
        return self

    def invoke(self, event: dict[str, Any]) -> Any:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(json.dumps(event) + "\n")
        self.process.stdin.flush()
        line = self._answers.readline()
        assert line, f"{self.name}: the runtime exited\n{self.output}"
        answer = json.loads(line)
        if "error" in answer:
            pytest.fail(f"{self.name}: the handler raised {answer['error']}\n{answer['message']}")
        return answer["result"]

    @property
    def output(self) -> str:
        """Everything the function wrote (logs, EMF), as CloudWatch Logs would have it."""
        self._stdout.flush()
        self._stdout.seek(0)
        return self._stdout.read()

    def close(self) -> None:
        if self.process is not None:
            if self.process.stdin:
                self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self._answers is not None:
            self._answers.close()


def resolve(value: Any, refs: dict[str, str], logical_id: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in refs:
        return refs[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(part, refs, logical_id) for part in parts)
    raise AssertionError(f"{logical_id}: an environment value the test cannot resolve: {value!r}")


def lay_out(
    synthesized: Synthesized, logical_id: str, refs: dict[str, str], moto_url: str, xray: str
) -> DeployedFunction:
    props = synthesized.template["Resources"][logical_id]["Properties"]
    task_root = lambda_depth_dir("task")
    shutil.copytree(synthesized.asset_dir(logical_id), task_root, dirs_exist_ok=True)
    opt_python = lambda_depth_dir("opt")
    layers = synthesized.resources("AWS::Lambda::LayerVersion")
    for layer in props.get("Layers", []):
        ref = layer.get("Ref")
        if ref in layers:  # a layer of this stack: its asset's python/ folder, merged into /opt/python
            shutil.copytree(synthesized.asset_dir(ref) / "python", opt_python, dirs_exist_ok=True)
        else:  # the AWS-managed Powertools layer: the venv holds that release (lambda_python)
            parameter = synthesized.template["Parameters"][ref]
            assert parameter["Default"].startswith("/aws/service/powertools/python/"), layer
    variables = props.get("Environment", {}).get("Variables", {})
    environment = {}
    for name, value in variables.items():
        text = resolve(value, refs, logical_id)
        if text.startswith(f"{LAMBDA_OPT_PYTHON}/"):  # the mount point, as the layout mounts it
            text = str(opt_python) + text[len(str(LAMBDA_OPT_PYTHON)) :]
        environment[name] = text
    function_name = f"LoyaltyStack-{logical_id}"
    environment |= {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(props.get("MemorySize", 128)),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(props.get("Timeout", 3)),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{props['Runtime']}",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": props["Handler"],
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": moto_url,  # the one thing Lambda would not set: AWS is moto here
        "AWS_XRAY_DAEMON_ADDRESS": xray,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    return DeployedFunction(
        name=logical_id,
        logical_id=logical_id,
        handler=props["Handler"],
        environment=environment,
        task_root=task_root,
        opt_python=opt_python,
    )


@pytest.fixture(scope="session")
def deployed(
    synthesized: Synthesized,
    lambda_python: Path,
    deployed_resources: dict[str, str],
    moto_url: str,
    xray_daemon: XRayDaemon,
) -> Iterator[dict[str, DeployedFunction]]:
    """Every function of the template, started as Lambda would start it: logical id -> function."""
    functions: dict[str, DeployedFunction] = {}
    try:
        for logical_id in synthesized.our_functions():
            functions[logical_id] = lay_out(
                synthesized, logical_id, deployed_resources, moto_url, xray_daemon.address
            )
            functions[logical_id].start(lambda_python)
        yield functions
    finally:
        for function in functions.values():
            function.close()
            shutil.rmtree(function.task_root, ignore_errors=True)
            shutil.rmtree(function.opt_python, ignore_errors=True)
