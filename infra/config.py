"""The deploy-time choices a retailer makes with `-c key=value` (or in cdk.json's "context"), their
defaults, and how they are read. docs/deploy.md lists them; nothing else reads the context.

`-c` values arrive as strings ("false", "200"); cdk.json values arrive typed. Both are accepted, and a
value that is neither fails the synth naming the key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from constructs import Construct

from infra.api import Limits
from infra.reclassification import MAX_CONCURRENCY


@dataclass(frozen=True)
class DeployConfig:
    # The region-wide API Gateway CloudWatch role (AWS::ApiGateway::Account): created by this stack
    # unless the account manages it centrally. Access logging fails without one.
    api_gateway_cloudwatch_role: bool = True
    # An existing SNS topic for every alarm; empty: the stack creates one (output AlarmTopicArn).
    alarm_topic_arn: str = ""
    # Per API key (usage plan): steady requests per second, burst, and requests per day; and the
    # stage's cap across all keys (defaults: infra/api.py Limits; their sizing: docs/deploy.md).
    api_rate_limit: int = int(Limits.rate_limit)
    api_burst_limit: int = Limits.burst_limit
    api_quota_per_day: int = Limits.quota_per_day
    api_stage_rate_limit: int = int(Limits.stage_rate_limit)
    api_stage_burst_limit: int = Limits.stage_burst_limit
    # Concurrent executions reserved for the reclassify function: the Map's concurrency, so the monthly
    # run is never throttled by API traffic and can never take the API's concurrency. 0: no reservation
    # (for accounts whose concurrency quota is below reservation + 100, as new accounts' often is).
    reclassify_reserved_concurrency: int = MAX_CONCURRENCY

    @classmethod
    def from_context(cls, scope: Construct) -> DeployConfig:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = scope.node.try_get_context(context_key(f.name))
            if raw is None:
                continue
            values[f.name] = _parse(context_key(f.name), raw, type(f.default))
        return cls(**values)


def context_key(field_name: str) -> str:
    """The context key of a field: api_rate_limit -> apiRateLimit."""
    first, *rest = field_name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _parse(key: str, raw: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true"
        raise ValueError(f"context {key}: expected true or false, got {raw!r}")
    if kind is int:
        try:
            value = int(str(raw))
        except ValueError:
            raise ValueError(f"context {key}: expected a whole number, got {raw!r}") from None
        if value < 0:
            raise ValueError(f"context {key}: expected 0 or more, got {value}")
        return value
    return str(raw)
