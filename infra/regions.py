"""Where the stack can be deployed: the regions that have every resource it needs but AWS does not
offer everywhere. A synth for a known region outside the list fails, naming the region and what it
lacks; a region-agnostic template carries the same check as a CloudFormation rule, so a deploy to such
a region stops before it creates anything.

Sources (check them when a new region opens, then extend the sets):
- The Powertools layer (AWSLambdaPowertoolsPythonV3 and its public SSM parameters): the regions of the
  Powertools release workflow, .github/workflows/update_ssm.yml of aws-powertools/powertools-lambda-python
  (commercial regions only: no China, GovCloud or ISO partitions).
- The EventBridge schema registry (AWS::EventSchemas::Registry / Schema): the CloudFormation resource
  types of each region, as cfn-lint 1.58 ships them (cfnlint/data/schemas/providers/<region>.json);
  tests/infra/test_infra_regions.py checks this set against cfn-lint's data.
"""

from __future__ import annotations

from typing import Any

POWERTOOLS_LAYER = "Powertools for AWS Lambda (Python) layer"
SCHEMA_REGISTRY = "EventBridge schema registry (AWS::EventSchemas::Registry)"


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


POWERTOOLS_LAYER_REGIONS = _names(
    """af-south-1 ap-east-1 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-south-2
    ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-7
    ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 eu-west-1
    eu-west-2 eu-west-3 il-central-1 mx-central-1 sa-east-1 us-east-1 us-east-2 us-west-1
    us-west-2"""
)
SCHEMA_REGISTRY_REGIONS = _names(
    """af-south-1 ap-east-1 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-southeast-1
    ap-southeast-2 ap-southeast-3 ca-central-1 cn-north-1 cn-northwest-1 eu-central-1 eu-central-2
    eu-isoe-west-1 eu-north-1 eu-south-1 eu-south-2 eu-west-1 eu-west-2 eu-west-3 eusc-de-east-1
    me-central-1 sa-east-1 us-east-1 us-east-2 us-gov-east-1 us-gov-west-1 us-iso-east-1 us-iso-west-1
    us-isob-east-1 us-isob-west-1 us-isof-east-1 us-isof-south-1 us-west-1 us-west-2"""
)
NEEDS = {POWERTOOLS_LAYER: POWERTOOLS_LAYER_REGIONS, SCHEMA_REGISTRY: SCHEMA_REGISTRY_REGIONS}
SUPPORTED_REGIONS = frozenset.intersection(*NEEDS.values())


class UnsupportedRegion(ValueError):
    """The stack needs a resource that the region does not offer."""


def missing_in(region: str) -> list[str]:
    """What the stack needs and `region` lacks (empty: the region is supported)."""
    return [name for name, regions in NEEDS.items() if region not in regions]


def check_region(region: str) -> None:
    missing = missing_in(region)
    if missing:
        raise UnsupportedRegion(
            f"region {region} has no {' and no '.join(missing)}, which this stack needs; "
            f"deploy to one of: {', '.join(sorted(SUPPORTED_REGIONS))} (docs/deploy.md, infra/regions.py)"
        )


def nag_partition_and_region(stack: Any) -> tuple[str, str]:
    """The partition and region as cdk-nag writes them in a finding's id: pseudo parameters in a
    region-agnostic template, literals in a template bound to one region (so that one acknowledgement
    covers both syntheses)."""
    from aws_cdk import Token
    from aws_cdk.region_info import RegionInfo

    if Token.is_unresolved(stack.region):
        return "<AWS::Partition>", "<AWS::Region>"
    return RegionInfo.get(stack.region).partition or "aws", stack.region


def nag_arn_prefix(stack: Any, service: str) -> str:
    """`arn:<partition>:<service>:<region>` as cdk-nag writes it (nag_partition_and_region)."""
    partition, region = nag_partition_and_region(stack)
    return f"arn:{partition}:{service}:{region}"
