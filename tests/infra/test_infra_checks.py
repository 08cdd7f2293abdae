"""cdk-nag (AwsSolutions, 3.x API) and cfn-lint on the synthesized template; events and alarms."""

from __future__ import annotations

import json

from cdk_nag import AwsSolutionsChecks

from infra.functions import FUNCTIONS


def _acknowledgments(construct) -> dict[str, str]:
    from aws_cdk import Validations

    out: dict[str, str] = {}
    for child in construct.node.find_all():
        for entry in child.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY and entry.data:
                out.update(entry.data)
    return out


def test_cdk_nag_has_no_unacknowledged_findings(synth):
    # The synth in the fixture already ran the plugin (it fails on any finding); check the report too.
    report = AwsSolutionsChecks(synth.app).validate_scope(synth.app)
    findings = [(v.rule_name, [r.construct_path for r in v.violating_resources]) for v in report.violations]
    assert report.success, findings
    validation = json.loads((synth.outdir / "validation-report.json").read_text())
    assert validation["pluginReports"] == []


def test_every_acknowledgment_has_a_reason(synth):
    acks = _acknowledgments(synth.stack)
    assert acks, "expected the documented acknowledgments (APIG2/3/4/6, COG4, L1, S1, IAM5)"
    for rule, reason in acks.items():
        assert len(reason.split()) >= 8, f"{rule}: a reason must say why"


def test_every_acknowledgment_is_still_needed(synth, cdk_context, tmp_path, monkeypatch):
    """Without the acknowledgments, exactly the acknowledged rules fire: none is stale, and the nag
    check is live (it can fail)."""
    import infra.stack as stack_module

    monkeypatch.setattr(stack_module, "acknowledge_nag_findings", lambda stack: None)
    app, _ = stack_module.build_app(context=cdk_context(), outdir=str(tmp_path))
    report = AwsSolutionsChecks(app).validate_scope(app)
    fired = {v.rule_name for v in report.violations}
    acknowledged = {_rule_id(key) for key in _acknowledgments(synth.stack)}
    assert fired == acknowledged


def _rule_id(key: str) -> str:
    """The metadata key is "Annotation::<rule id>"; a granular id has its own "::" inside, as in
    "AwsSolutions-IAM5[Resource::<Bucket.Arn>/*]", so only the first separator is the prefix's."""
    prefix, separator, rule = key.partition("::")
    assert separator and prefix == "Annotation", key
    return rule


def test_granular_acknowledgments_keep_their_resource():
    assert _rule_id("Annotation::AwsSolutions-L1") == "AwsSolutions-L1"
    assert (
        _rule_id("Annotation::AwsSolutions-IAM5[Resource::<RunBucket1234.Arn>/*]")
        == "AwsSolutions-IAM5[Resource::<RunBucket1234.Arn>/*]"
    )


def test_cfn_lint_passes_with_informational_checks(synth):
    """cfn-lint with its informational rules too (I3042 hard-coded partitions...) on the
    region-agnostic template: nothing but W3005 (an explicit DependsOn that a Ref already implies,
    which CDK writes for the API's deployment) and I1022 (CDK builds ARNs from ${AWS::Partition} and
    ${AWS::Region} with Fn::Join, not Fn::Sub). The template of a synth for a region, as deployed,
    reports W3005 only (tests/deployed)."""
    from cfnlint.api import ManualArgs, lint_file

    path = synth.outdir / f"{synth.stack.stack_name}.template.json"
    config = ManualArgs(include_checks=["I"], regions=["eu-west-1", "eu-west-3", "us-east-1"])
    matches = lint_file(path, config=config)
    assert [str(m) for m in matches if m.rule.id not in ("W3005", "I1022")] == []


def test_bus_is_archived(synth):
    (archive,) = synth.resources("AWS::Events::Archive").values()
    props = archive["Properties"]
    assert props["SourceArn"] == {"Fn::GetAtt": [synth.logical_id(synth.stack.bus), "Arn"]}
    assert props["RetentionDays"] >= 365


def test_alarms_cover_api_5xx_and_every_function(synth):
    alarms = synth.resources("AWS::CloudWatch::Alarm").values()
    by_metric: dict[str, set[str]] = {}
    for alarm in alarms:
        props = alarm["Properties"]
        dims = {d["Name"]: json.dumps(d["Value"], sort_keys=True) for d in props.get("Dimensions", [])}
        by_metric.setdefault(props["MetricName"], set()).add(
            dims.get("FunctionName") or dims.get("ApiName", "")
        )
    assert "5XXError" in by_metric
    for spec in FUNCTIONS:
        ref = json.dumps(
            {"Ref": synth.logical_id(synth.stack.functions.functions[spec.name])}, sort_keys=True
        )
        assert ref in by_metric["Errors"] and ref in by_metric["Throttles"], spec.name
    assert synth.resources("AWS::CloudWatch::Dashboard")
