"""One DynamoDB table per pynamodb model, shaped by pynamodb's own schema (never by literals)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from loyalty.adapters.models import MODELS
from pynamodb.models import Model

_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}


def construct_id(setting: str) -> str:
    """customers_table -> CustomersTable: stable, so logical ids (and the tables) never move."""
    return "".join(part.capitalize() for part in setting.split("_"))


def _keys(key_schema: list[dict[str, str]], types: dict[str, str]) -> dict[str, dynamodb.Attribute]:
    out = {}
    for key in key_schema:
        attribute = dynamodb.Attribute(name=key["AttributeName"], type=_TYPES[types[key["AttributeName"]]])
        out["partition_key" if key["KeyType"] == "HASH" else "sort_key"] = attribute
    return out


def _projection(projection: dict[str, Any]) -> dict[str, Any]:
    kind = projection["ProjectionType"]
    out: dict[str, Any] = {"projection_type": dynamodb.ProjectionType[kind]}
    if kind == "INCLUDE":
        out["non_key_attributes"] = list(projection["NonKeyAttributes"])
    return out


class Storage(Construct):
    """`tables` maps each settings field (customers_table, ...) to its table. A model added to MODELS
    becomes a table here, an env var on the functions that use the field, and an IAM resource."""

    def __init__(
        self, scope: Construct, construct_id_: str, *, models: Mapping[str, type[Model]] | None = None
    ):
        super().__init__(scope, construct_id_)
        self.tables: dict[str, dynamodb.Table] = {}
        for setting, model in (MODELS if models is None else models).items():
            self.add_table(setting, model)

    def add_table(self, setting: str, model: type[Model]) -> dynamodb.Table:
        schema = model._get_schema()
        types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
        table = dynamodb.Table(
            self,
            construct_id(setting),
            **_keys(schema["key_schema"], types),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=True,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for gsi in schema.get("global_secondary_indexes", []):
            table.add_global_secondary_index(
                index_name=gsi["index_name"],
                **_keys(gsi["key_schema"], types),
                **_projection(gsi["projection"]),
            )
        for lsi in schema.get("local_secondary_indexes", []):
            table.add_local_secondary_index(
                index_name=lsi["index_name"],
                sort_key=_keys(lsi["key_schema"], types)["sort_key"],
                **_projection(lsi["projection"]),
            )
        self.tables[setting] = table
        return table
