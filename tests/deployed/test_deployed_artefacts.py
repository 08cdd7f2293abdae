"""Issue 10, item 1: every function of the synthesized template, from its cdk.out assets, laid out and
run as Lambda runs it (tests/deployed/conftest.py), against moto: a purchase, a card read, a
redemption, an erasure and every step of the monthly reclassification, in the order the state machine
runs them. Then what the stack watches is checked against what this run wrote: every alarm and
dashboard metric in the handlers' EMF namespace must be one the handlers emitted, with those
dimensions (issue 10, item 5).

It fails when the code cannot start in Lambda's layout: with `parents[4]` back in loyalty/settings.py,
every function's init phase raises IndexError (/opt/python/loyalty/settings.py has four parents).
"""

from __future__ import annotations

import json
import sysconfig
import uuid
from pathlib import Path
from typing import Any

import pytest
from loyalty.settings import ERASURE, INGEST, POINTS, RECLASSIFY, REDEMPTIONS
from loyalty_tools.apigw import proxy_event

from infra.observability import METRICS_NAMESPACE
from tests.deployed.conftest import RUNNER, DeployedFunction, Synthesized, cli_synth, powertools_version_of
from tests.helpers import purchase_body

pytestmark = pytest.mark.slow
PRINT_POWERTOOLS_VERSION = "from aws_lambda_powertools.shared.version import VERSION; print(VERSION)"
STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def by_name(deployed: dict[str, DeployedFunction]) -> dict[str, DeployedFunction]:
    """Function name (loyalty.settings) -> deployed function, by the name its template env gives."""
    return {fn.environment["POWERTOOLS_METRICS_FUNCTION_NAME"]: fn for fn in deployed.values()}


def call(fn: DeployedFunction, method: str, path: str, resource: str, body: Any = None) -> tuple[int, Any]:
    params = dict(zip(resource.split("/"), path.split("/"), strict=True))
    path_parameters = {k[1:-1]: v for k, v in params.items() if k.startswith("{")}
    event = proxy_event(
        method,
        path,
        resource,
        path_parameters=path_parameters,
        headers={"content-type": "application/json", "x-api-key": "deployed-test"},
        body=json.dumps(body).encode() if body is not None else None,
        stage="prod",
    )
    answer = fn.invoke(event)
    text = answer.get("body") or ""
    return answer["statusCode"], json.loads(text) if text else None


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def journey(deployed: dict[str, DeployedFunction]) -> dict[str, Any]:
    """The money path, the erasure and a monthly run, through the deployed functions only."""
    fns = by_name(deployed)
    assert set(fns) == {INGEST, POINTS, REDEMPTIONS, ERASURE, RECLASSIFY}
    kept, erased = new_id("C"), new_id("C")
    out: dict[str, Any] = {}
    for customer, amount in ((kept, "1000.00"), (erased, "120.00")):
        body = purchase_body(new_id("T"), customer, amount)
        out[f"purchase {customer}"] = call(fns[INGEST], "POST", "/v1/transactions", "/v1/transactions", body)
    out["card"] = call(fns[POINTS], "GET", f"/v1/customers/{kept}", "/v1/customers/{customer_id}")
    out["redemption"] = call(
        fns[REDEMPTIONS],
        "POST",
        f"/v1/customers/{kept}/redemptions",
        "/v1/customers/{customer_id}/redemptions",
        {"redemption_id": new_id("R"), "points": 500},
    )
    out["card after"] = call(fns[POINTS], "GET", f"/v1/customers/{kept}", "/v1/customers/{customer_id}")
    out["erasure"] = call(fns[ERASURE], "DELETE", f"/v1/customers/{erased}", "/v1/customers/{customer_id}")
    out["erased card"] = call(fns[POINTS], "GET", f"/v1/customers/{erased}", "/v1/customers/{customer_id}")

    # The state machine's path (infra/reclassification.py): prepare, stats per segment when needed,
    # merge, classify per segment, summarize; each event as the state machine builds it.
    reclassify = fns[RECLASSIFY]
    steps: dict[str, list[Any]] = {}

    def step(event: dict[str, Any]) -> Any:
        result = reclassify.invoke(event)
        steps.setdefault(event["step"], []).append(result)
        return result

    prepared = step({"step": "prepare", "as_of": "2026-04-01", "total_segments": 2, "run_id": new_id("run")})
    run = prepared["run"]
    if run["needs_stats"]:
        for segment in prepared["segments"]:
            step({"step": "stats", "run": run, "segment": segment})
    cuts = step({"step": "merge", "run": run})
    for segment in prepared["segments"]:
        step({"step": "classify", "run": run, "cuts": cuts, "segment": segment})
    step({"step": "summarize", "run": run, "cuts": cuts})
    out.update(kept=kept, erased=erased, steps=steps, prepared=prepared)
    return out


def test_every_function_starts_from_its_assets_alone(deployed, lambda_python, synthesized):
    """Init succeeded in Lambda's layout; the loyalty package came from the layer, and Powertools from
    the venv standing in for the layer at the version the template's parameter names."""
    import subprocess

    assert len(deployed) == len(synthesized.our_functions()) == 5
    site_packages = str(lambda_python.parent.parent / "lib")
    for fn in deployed.values():
        origin = {name: Path(file).resolve() for name, file in fn.loaded.items()}
        assert origin["handler"] == fn.task_root / "handler.py", fn.name
        # From the stack's layer, at /opt/python's depth. pynamodb is imported by the adapters on the
        # first request (the Tracer no longer patches it at init): where it is loaded, it is the layer's.
        assert origin["loyalty"].is_relative_to(fn.opt_python), (fn.name, origin["loyalty"])
        assert (fn.opt_python / "pynamodb" / "__init__.py").is_file(), fn.name
        pynamodb = origin.get("pynamodb", fn.opt_python / "pynamodb")
        assert pynamodb.is_relative_to(fn.opt_python), (fn.name, pynamodb)
        assert str(origin["aws_lambda_powertools"]).startswith(site_packages), fn.name
        for name in ("pydantic", "boto3", "botocore"):  # the Powertools layer's and the runtime's
            assert str(origin.get(name, site_packages)).startswith(site_packages), (fn.name, name)
        # Everything else: the standard library, nothing from the repo or the project's venv.
        allowed = (fn.task_root, fn.opt_python, lambda_python.parent.parent, STDLIB, RUNNER)
        strays = {
            name: path for name, path in origin.items() if not any(path.is_relative_to(a) for a in allowed)
        }
        assert not strays, (fn.name, strays)
    installed = subprocess.run(
        [str(lambda_python), "-I", "-c", PRINT_POWERTOOLS_VERSION],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert installed == powertools_version_of(synthesized.template)


def test_purchase_card_redemption_and_erasure(journey):
    for key in (k for k in journey if k.startswith("purchase ")):
        status, body = journey[key]
        assert status == 201 and body["type"] == "purchase", (key, body)
    status, card = journey["card"]
    assert status == 200 and card["points_balance"] == 1000, card
    status, redemption = journey["redemption"]
    assert status == 201 and redemption["points_balance"] == 500, redemption
    assert redemption["voucher"]["value"] == "5.00"
    status, card = journey["card after"]
    assert status == 200 and card["points_balance"] == 500, card
    status, _ = journey["erasure"]
    assert status in (202, 204)
    if status == 204:  # erased synchronously: the id is gone
        assert journey["erased card"][0] == 404


def test_every_reclassify_step_runs(journey):
    steps = journey["steps"]
    assert set(steps) >= {"prepare", "merge", "classify", "summarize"}
    assert len(steps["classify"]) == len(journey["prepared"]["segments"]) == 2
    (summary,) = steps["summarize"]
    assert summary["period"] == "2026-03"
    assert summary["customers"] >= 2  # the kept customer and the erased one's anonymous profile


def emitted_metrics(outputs: list[str]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every EMF document the functions printed."""
    found = set()
    for output in outputs:
        for line in output.splitlines():
            if not line.startswith("{") or '"_aws"' not in line:
                continue
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                for dimension_set in directive["Dimensions"]:
                    dims = tuple(sorted((d, str(document[d])) for d in dimension_set))
                    for metric in directive["Metrics"]:
                        found.add((directive["Namespace"], metric["Name"], dims))
    return found


def watched_metrics(synthesized: Synthesized) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions) of every alarm and dashboard widget in our EMF namespace."""
    watched = set()
    for alarm in synthesized.resources("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("Namespace") == METRICS_NAMESPACE:
            dims = tuple(sorted((d["Name"], d["Value"]) for d in props.get("Dimensions", [])))
            watched.add((METRICS_NAMESPACE, props["MetricName"], dims))
    for dashboard in synthesized.resources("AWS::CloudWatch::Dashboard").values():
        body = dashboard["Properties"]["DashboardBody"]
        # The body is a Fn::Join of text and tokens (function names, region): a token stands as "0".
        parts = [body] if isinstance(body, str) else body["Fn::Join"][1]
        text = "".join(part if isinstance(part, str) else "0" for part in parts)
        for widget in json.loads(text)["widgets"]:
            for metric in widget.get("properties", {}).get("metrics", []):
                names = [m for m in metric if isinstance(m, str)]
                if names and names[0] == METRICS_NAMESPACE:
                    pairs = names[2:]
                    dims = tuple(sorted(zip(pairs[::2], pairs[1::2], strict=True)))
                    watched.add((METRICS_NAMESPACE, names[1], dims))
    return watched


def test_alarms_and_dashboard_watch_the_metrics_the_handlers_emit(journey, deployed, synthesized):
    emitted = emitted_metrics([fn.output for fn in deployed.values()])
    watched = watched_metrics(synthesized)
    assert watched, "the dashboard shows the run's EMF metrics (CustomersChanged...)"
    assert emitted, "the handlers emitted no EMF"
    missing = watched - emitted
    assert not missing, f"watched, never emitted so: {sorted(missing)}; emitted: {sorted(emitted)}"


def test_cdk_synth_for_eu_west_1_passes_and_checks_its_region(synthesized):
    """The session's `cdk synth` ran for eu-west-1 (the region from AWS_REGION, as for a deploy): the
    region was checked at synth, so the template carries no deploy-time region rule."""
    assert "SupportedRegion" not in synthesized.template.get("Rules", {})
    assert "eu-west-1" in json.dumps(synthesized.template)


def test_cdk_synth_for_a_region_without_a_schema_registry_fails_naming_it(tmp_path):
    done = cli_synth(tmp_path / "out", "ca-west-1")
    assert done.returncode != 0
    assert "region ca-west-1 has no EventBridge schema registry" in done.stderr, done.stderr[-2000:]


def test_cfn_lint_with_informational_checks_reports_only_w3005(synthesized):
    from cfnlint.api import ManualArgs, lint_file

    config = ManualArgs(include_checks=["I"], regions=["eu-west-1"])
    matches = lint_file(synthesized.outdir / "LoyaltyStack.template.json", config=config)
    assert {m.rule.id for m in matches} <= {"W3005"}, [str(m) for m in matches if m.rule.id != "W3005"]


def test_every_function_traces_its_handler_and_its_aws_calls(journey, xray_daemon):
    """The Powertools Tracer in each handler sends its subsegments to the X-Ray daemon Lambda runs:
    the handler's own, and one per AWS call (boto3 patched), DynamoDB among them."""
    names = xray_daemon.subsegment_names()
    # the handlers; DynamoDB (every function), EventBridge and S3 (reclassify), the pepper (erasure)
    assert {"## handler", "dynamodb", "events", "s3", "secretsmanager"} <= names, sorted(names)
