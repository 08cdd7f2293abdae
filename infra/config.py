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
from infra.reclassification import DEFAULT_MAP_CONCURRENCY

# DynamoDB on demand: a table's default limit (account quota, per table) and what a new table takes
# at once before it has seen traffic, unless warm throughput says more. PutEvents: per account and region.
TABLE_WRITE_LIMIT = 40_000
NEW_TABLE_WRITE_UNITS = 4_000
PUT_EVENTS_LIMIT = 10_000
# Step Functions' Distributed Map runs at most 10,000 child executions at a time.
MAP_CONCURRENCY_LIMIT = 10_000
FOLLOW_MAP = -1  # reclassify_reserved_concurrency not given: the Map's concurrency


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
    reclassify_reserved_concurrency: int = FOLLOW_MAP
    # Workers at a time in the run's Distributed Maps (statistics and classify passes).
    reclassify_map_concurrency: int = DEFAULT_MAP_CONCURRENCY
    # The quotas the run shares with checkout (docs/deploy.md "The run and the account's quotas"): the
    # customers table's write units a second and the percentage of them kept for checkout's ingest;
    # PutEvents requests a second (account and region; a request carries up to 10 events) and the
    # percentage kept for ingest's events.
    table_write_limit: int = TABLE_WRITE_LIMIT
    checkout_write_share: int = 50
    put_events_limit: int = PUT_EVENTS_LIMIT
    ingest_events_share: int = 20
    # WarmThroughput of the customers table (what it takes at once; 0: none, a new table takes 4,000
    # write units a second until it has seen more).
    customers_warm_write_units: int = TABLE_WRITE_LIMIT
    customers_warm_read_units: int = TABLE_WRITE_LIMIT

    def __post_init__(self) -> None:
        for name, low, high in (
            ("reclassify_map_concurrency", 1, MAP_CONCURRENCY_LIMIT),
            ("table_write_limit", 1, None),
            ("put_events_limit", 1, None),
            ("checkout_write_share", 0, 99),
            ("ingest_events_share", 0, 99),
        ):
            value = getattr(self, name)
            if value < low or (high is not None and value > high):
                bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise ValueError(f"context {context_key(name)}: expected {bounds}, got {value}")
        if self.reclassify_reserved_concurrency == FOLLOW_MAP:
            object.__setattr__(self, "reclassify_reserved_concurrency", self.reclassify_map_concurrency)
        reserved = self.reclassify_reserved_concurrency
        if 0 < reserved < self.reclassify_map_concurrency:
            raise ValueError(
                f"context reclassifyReservedConcurrency: {reserved} is below reclassifyMapConcurrency "
                f"{self.reclassify_map_concurrency}: the Map's workers would be throttled by Lambda; "
                "reserve at least the Map's concurrency, or 0 for no reservation"
            )

    @property
    def run_write_units(self) -> float:
        """Write units a second the whole run may use: its share of what the table takes at once."""
        table = min(self.table_write_limit, self.customers_warm_write_units or NEW_TABLE_WRITE_UNITS)
        return table * (100 - self.checkout_write_share) / 100

    @property
    def run_events(self) -> float:
        return self.put_events_limit * (100 - self.ingest_events_share) / 100

    def worker_rates(self) -> tuple[float, float]:
        """(write units/s, PutEvents requests/s) of one worker: the run's share over the Map's
        concurrency (each of its threads gets a WORKER_THREADS-th of that, from one shared bucket)."""
        workers = self.reclassify_map_concurrency
        return self.run_write_units / workers, self.run_events / workers

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
