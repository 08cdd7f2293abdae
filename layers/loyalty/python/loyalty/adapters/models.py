"""DynamoDB tables, defined once as pynamodb models.

CDK, the local stack and the tests all derive key schemas and indexes from these classes
(see `table_definitions`), so they cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from loyalty.settings import Settings


class CustomerItem(Model):
    """One item per customer: balance, tier, monthly buckets and the last classification.

    Size bound: under 3.2 KB (13 month buckets of <= 5 categories of <= 32 chars) with the default
    expiry policy, and under 4,000 bytes (so one 4 KB read unit) with the largest lot and pending settings
    (expiry rolling 24 months or calendar 2 years, pending_days 60: <= 36 lots, <= 60 pending days), see
    tests/unit/test_item_size.py; a year of weekly shopping in 4 categories is about 1.4 KB (1.6 KB with
    rolling 12 months and a 30-day return window). The membership (20 consent changes, 5 preferred
    categories, 13 interaction buckets) adds up to about 1.2 KB: with both at their largest the item is
    5,055 bytes measured, two read units (bound 8,000 in tests/unit/test_item_size.py).
    """

    class Meta:
        table_name = "loyalty-customers"
        billing_mode = "PAY_PER_REQUEST"

    customer_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(default=0)
    tier = UnicodeAttribute()
    tier_since = UnicodeAttribute(null=True)
    points_balance = NumberAttribute(default=0)
    points_earned = NumberAttribute(default=0)
    points_redeemed = NumberAttribute(default=0)
    points_expired = NumberAttribute(default=0)
    first_purchase_at = UnicodeAttribute(null=True)
    last_purchase_at = UnicodeAttribute(null=True)
    folded_purchase_days = NumberAttribute(default=0)
    lifetime_spend = NumberAttribute(default=0)
    lifetime_purchases = NumberAttribute(default=0)
    # {"2026-03": {"s": spend, "v": visits, "p": points, "d": day bitmask, "c": {category: spend}}}
    months = MapAttribute(default=dict)
    segment = UnicodeAttribute(null=True)
    rfm = UnicodeAttribute(null=True)
    favourite_category = UnicodeAttribute(null=True)
    classified_period = UnicodeAttribute(null=True)
    erased = BooleanAttribute(default=False)
    p_alive = UnicodeAttribute(null=True)  # BG/NBD, decimal strings (the monthly run)
    expected_purchases_90d = UnicodeAttribute(null=True)
    overdue_for = UnicodeAttribute(null=True)  # last purchase day of the silence CustomerOverdue announced
    # Enrolment, status, consents (and their last 20 changes), preferences, interaction buckets: see
    # adapters/items.py member_to_item. Absent for a card only ever seen on purchases.
    member = MapAttribute(null=True)
    # The points lifecycle (domain/lots.py): {"2026-03": points} per lot, {"2026-03-14": points} pending.
    lots = MapAttribute(default=dict)
    pending = MapAttribute(default=dict)
    points_adjusted = NumberAttribute(default=0)
    expiry_warned_through = UnicodeAttribute(null=True)  # last expiry date PointsExpiring announced


class ByCustomerIndex(GlobalSecondaryIndex["TransactionItem"]):
    """A customer's history, newest first (query with scan_index_forward=False)."""

    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    occurred_key = UnicodeAttribute(range_key=True)


class TransactionItem(Model):
    """One item per store transaction id: a retry of the same id can never count twice."""

    class Meta:
        table_name = "loyalty-transactions"
        billing_mode = "PAY_PER_REQUEST"

    transaction_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    occurred_key = UnicodeAttribute()  # UTC ISO instant + "#" + transaction_id: sortable, unique
    kind = UnicodeAttribute()  # purchase | return
    occurred_at = UnicodeAttribute()  # as sent, with its offset
    store_id = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    currency = UnicodeAttribute()
    amount = NumberAttribute()  # minor units
    returned = NumberAttribute(default=0)  # purchases: minor units returned so far
    points_rate = NumberAttribute(default=0)
    points_earned = NumberAttribute(default=0)
    categories = MapAttribute(default=dict)
    original_transaction_id = UnicodeAttribute(null=True)
    body_hash = UnicodeAttribute()  # same id with another body -> 409
    response = MapAttribute(default=dict)  # the first answer, replayed on retries
    by_customer = ByCustomerIndex()


class VoucherByCustomerIndex(GlobalSecondaryIndex["VoucherItem"]):
    """A customer's vouchers, newest first (query with scan_index_forward=False)."""

    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    issued_key = UnicodeAttribute(range_key=True)


class VoucherItem(Model):
    """One item per voucher, keyed by its unguessable code. `status` is issued, used or cancelled
    (both final); expired is derived from `expires_at` when read, and use and cancel condition on both."""

    class Meta:
        table_name = "loyalty-vouchers"
        billing_mode = "PAY_PER_REQUEST"

    code = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    issued_key = UnicodeAttribute()  # UTC ISO instant + "#" + code: sortable, unique
    redemption_id = UnicodeAttribute()
    points = NumberAttribute()
    value = NumberAttribute()  # minor units
    currency = UnicodeAttribute()
    issued_at = UnicodeAttribute()  # UTC ISO instant
    expires_on = UnicodeAttribute()  # last valid day, programme time zone
    expires_at = UnicodeAttribute()  # UTC ISO instant the voucher stops being valid
    status = UnicodeAttribute(default="issued")  # issued | used | cancelled
    used_at = UnicodeAttribute(null=True)
    use_id = UnicodeAttribute(null=True)  # the till's id of the use: its retry replays rather than 409
    cancelled_at = UnicodeAttribute(null=True)
    balance_after_cancel = NumberAttribute(null=True)  # replayed to a retried cancel
    by_customer = VoucherByCustomerIndex()


class RedemptionItem(Model):
    """One item per redemption_id: a retry can never redeem twice, and replays the first answer."""

    class Meta:
        table_name = "loyalty-redemptions"
        billing_mode = "PAY_PER_REQUEST"

    redemption_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    points = NumberAttribute()
    created_at = UnicodeAttribute()  # UTC ISO instant
    voucher_code = UnicodeAttribute()
    response = MapAttribute(default=dict)  # the first answer without customer_id, replayed on retries


class InteractionByCustomerIndex(GlobalSecondaryIndex["InteractionItem"]):
    """A customer's interactions (erasure deletes them all)."""

    class Meta:
        index_name = "by_customer"
        projection = AllProjection()

    customer_id = UnicodeAttribute(hash_key=True)
    occurred_key = UnicodeAttribute(range_key=True)


class InteractionItem(Model):
    """One item per interaction_id (POST /v1/customers/{id}/interactions): a retry never counts twice."""

    class Meta:
        table_name = "loyalty-interactions"
        billing_mode = "PAY_PER_REQUEST"

    interaction_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    occurred_key = UnicodeAttribute()  # UTC ISO instant + "#" + interaction_id
    kind = UnicodeAttribute()
    occurred_at = UnicodeAttribute()  # as sent, with its offset
    channel = UnicodeAttribute()
    body_hash = UnicodeAttribute()  # same id with other content -> 409
    by_customer = InteractionByCustomerIndex()


class AdjustmentItem(Model):
    """One item per adjustment_id (back office): a retry can never adjust twice, and replays the first
    answer. No customer id or note: nothing personal (see ports.Adjustment)."""

    class Meta:
        table_name = "loyalty-adjustments"
        billing_mode = "PAY_PER_REQUEST"

    adjustment_id = UnicodeAttribute(hash_key=True)
    content_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()  # UTC ISO instant
    response = MapAttribute(default=dict)


class LedgerItem(Model):
    """One item per movement of a customer's points (domain/ledger.py), written inside the movement's
    own TransactWriteItems. The sort key rises with every write of the customer: newest first is a
    query backwards. Erasure deletes the customer's items."""

    class Meta:
        table_name = "loyalty-ledger"
        billing_mode = "PAY_PER_REQUEST"

    customer_id = UnicodeAttribute(hash_key=True)
    seq = UnicodeAttribute(range_key=True)  # profile version after the write + "#" + index in it
    kind = UnicodeAttribute()
    points = NumberAttribute()
    balance_after = NumberAttribute()
    at = UnicodeAttribute()
    ref_type = UnicodeAttribute()
    ref = UnicodeAttribute()


class ErasureItem(Model):
    """One item per erased customer, keyed by the HMAC token: when, and how many items moved."""

    class Meta:
        table_name = "loyalty-erasures"
        billing_mode = "PAY_PER_REQUEST"

    token = UnicodeAttribute(hash_key=True)
    erased_at = UnicodeAttribute()
    profile_key = UnicodeAttribute()  # where the anonymous profile now lives in the customers table
    erasures = NumberAttribute(default=0)  # > 1 when a card number was reused and erased again


MODELS: dict[str, type[Model]] = {
    "customers_table": CustomerItem,
    "transactions_table": TransactionItem,
    "vouchers_table": VoucherItem,
    "redemptions_table": RedemptionItem,
    "erasures_table": ErasureItem,
    "interactions_table": InteractionItem,
    "adjustments_table": AdjustmentItem,
    "ledger_table": LedgerItem,
}


def batch_get(model: type[Model], keys: list[str]) -> Iterator[Any]:
    """Strongly consistent BatchGetItem of these hash keys, 100 a call (DynamoDB's limit); the items
    found, in no particular order."""
    for start in range(0, len(keys), 100):
        yield from model.batch_get(keys[start : start + 100], consistent_read=True)


def bind_models(settings: Settings, extra: dict[str, type[Model]] | None = None) -> None:
    """Point every model at the tables named in settings (and at a local endpoint if set)."""
    host = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    for setting, model in {**MODELS, **(extra or {})}.items():
        model.Meta.table_name = getattr(settings, setting)
        model.Meta.host = host
        model.Meta.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")
        model._connection = None  # drop a connection bound to an older name or host


def table_definitions() -> dict[str, dict[str, Any]]:
    """Key schema, attribute types and GSIs per settings field, from the models (for CDK and tests)."""
    return {setting: model_definition(model) for setting, model in MODELS.items()}


def model_definition(model: type[Model]) -> dict[str, Any]:
    """pynamodb's own schema for the model, in the shape CreateTable and CloudFormation use."""
    schema = model._get_schema()
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}

    def keys(key_schema: list[dict[str, str]]) -> list[tuple[str, str, str]]:
        return [(k["AttributeName"], k["KeyType"], types[k["AttributeName"]]) for k in key_schema]

    return {
        "key": keys(schema["key_schema"]),
        "global_indexes": {
            gsi["index_name"]: {
                "key": keys(gsi["key_schema"]),
                "projection": gsi["projection"]["ProjectionType"],
            }
            for gsi in schema.get("global_secondary_indexes", [])
        },
        "local_indexes": {
            lsi["index_name"]: {
                "key": keys(lsi["key_schema"]),
                "projection": lsi["projection"]["ProjectionType"],
            }
            for lsi in schema.get("local_secondary_indexes", [])
        },
    }
