"""The CLI's targets: `--target aws` reclassify starts the deployed state machine and reads the deployed
programme; every target gives in-process handler code the Powertools settings it needs; progress
lines off a terminal."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from loyalty_tools import reclassify_aws, target
from loyalty_tools.cli import app
from loyalty_tools.progress import PlainProgress, eta_text
from rich.console import Console
from typer.testing import CliRunner

ARN = "arn:aws:states:eu-west-3:123456789012:stateMachine:Reclassification"


class FakeStepFunctions:
    def __init__(self, statuses: list[str], output: dict[str, Any] | None = None) -> None:
        self.statuses = statuses
        self.output = output or {}
        self.started: list[dict[str, Any]] = []

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        return {"executionArn": ARN.replace("stateMachine", "execution") + ":" + kwargs["name"]}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        status = self.statuses.pop(0)
        out: dict[str, Any] = {"status": status}
        if status == "SUCCEEDED":
            out["output"] = json.dumps(self.output)
        if status == "FAILED":
            out.update(error="States.TaskFailed", cause="boom")
        return out


def test_aws_reclassify_starts_the_state_machine_and_returns_its_summary() -> None:
    summary = {"period": "2026-11", "customers": 12, "changed": 3, "events": {}, "published": True}
    sfn = FakeStepFunctions(["RUNNING", "RUNNING", "SUCCEEDED"], {"summary": summary, "prepared": {}})
    polls: list[str] = []
    result = reclassify_aws.start_and_wait(
        ARN, date(2026, 12, 1), 8, client=sfn, on_poll=lambda s, _: polls.append(s), sleep=lambda _: None
    )
    assert result == summary
    assert polls == ["RUNNING", "RUNNING", "SUCCEEDED"]
    (call,) = sfn.started
    assert call["stateMachineArn"] == ARN
    assert json.loads(call["input"]) == {"as_of": "2026-12-01", "total_segments": 8}


def test_a_failed_execution_is_an_error_naming_its_cause() -> None:
    sfn = FakeStepFunctions(["FAILED"])
    with pytest.raises(RuntimeError, match=r"FAILED: States\.TaskFailed boom"):
        reclassify_aws.start_and_wait(ARN, date(2026, 12, 1), client=sfn, sleep=lambda _: None)


def test_the_cli_with_target_aws_runs_the_state_machine_not_the_steps_here(monkeypatch) -> None:
    aws = target.Target(kind="aws", state_machine_arn=ARN, description="AWS stack LoyaltyStack")
    monkeypatch.setattr(target, "resolve_target", lambda kind, stack: aws)
    monkeypatch.setattr(target.Target, "activate", lambda self: None)
    calls: list[tuple[str, date, int | None]] = []

    def fake_start(arn: str, as_of: date, segments: int | None, **_: Any) -> dict[str, Any]:
        calls.append((arn, as_of, segments))
        return {"period": "2026-11", "customers": 5, "published": True}

    def no_local_run(**_: Any) -> None:
        raise AssertionError("the steps ran on the laptop")

    monkeypatch.setattr(reclassify_aws, "start_and_wait", fake_start)
    monkeypatch.setattr("loyalty_tools.reclassify_local.run_reclassification", no_local_run)
    result = CliRunner().invoke(app, ["reclassify", "--as-of", "2026-12-01", "--target", "aws"])
    assert result.exit_code == 0, result.output
    assert calls == [(ARN, date(2026, 12, 1), None)]
    assert json.loads(result.stdout)["customers"] == 5


def test_the_deployed_programme_is_read_from_the_reclassify_functions_layer(tmp_path: Path) -> None:
    programme = {"name": "deployed", "currency": "EUR"}
    layer_zip = tmp_path / "layer.zip"
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("python/loyalty/__init__.py", "")
        archive.writestr(target.LAYER_PROGRAMME, json.dumps(programme))
    definition = {
        "StartAt": "Defaults",
        "States": {
            "Prepare": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "LoyaltyStack-Reclassify-abc", "Payload": {}},
            }
        },
    }
    seen: dict[str, Any] = {}

    class Clients:
        def describe_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
            return {"definition": json.dumps(definition)}

        def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
            seen["function"] = FunctionName
            return {"Layers": [{"Arn": "arn:aws:lambda:eu-west-3:1:layer:powertools:27"},
                               {"Arn": "arn:aws:lambda:eu-west-3:1:layer:loyalty:4"}]}  # fmt: skip

        def get_layer_version_by_arn(self, Arn: str) -> dict[str, Any]:
            if "powertools" in Arn:
                other = tmp_path / "other.zip"
                with zipfile.ZipFile(other, "w") as archive:
                    archive.writestr("python/aws_lambda_powertools/__init__.py", "")
                return {"Content": {"Location": other.as_uri()}}
            return {"Content": {"Location": layer_zip.as_uri()}}

    path = target.deployed_programme(ARN, clients=lambda _name: Clients())
    assert seen["function"] == "LoyaltyStack-Reclassify-abc"
    assert json.loads(path.read_text()) == programme


def test_every_target_gives_handler_code_its_powertools_settings(monkeypatch) -> None:
    for name in target.CLI_POWERTOOLS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")  # what the user sets wins
    target.Target(kind="env").activate()
    import os

    assert os.environ["POWERTOOLS_METRICS_NAMESPACE"] == "Loyalty"
    assert os.environ["POWERTOOLS_LOG_LEVEL"] == "DEBUG"


def test_plain_progress_prints_a_line_every_few_seconds_with_rate_and_eta() -> None:
    now = [0.0]
    lines: list[str] = []
    progress = PlainProgress(Console(file=io.StringIO()), every=5, clock=lambda: now[0], emit=lines.append)
    with progress:
        task = progress.add_task("import", total=1000, unit="rows")
        for _ in range(10):
            now[0] += 1
            progress.advance(task, 50)
    assert lines == [
        "import: 250/1,000 rows (25%), 50.0 rows/s, ETA 15s",  # at 5 s
        "import: 500/1,000 rows (50%), 50.0 rows/s, ETA 10s",  # at 10 s
        "import: 500/1,000 rows (50%), 50.0 rows/s, ETA 10s",  # the closing line
    ]


def test_eta_reads_like_a_duration() -> None:
    assert [eta_text(s) for s in (None, 7.4, 125, 7300)] == ["ETA ?", "ETA 7s", "ETA 2m05s", "ETA 2h01m"]
