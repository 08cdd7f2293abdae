"""DynamoDB tables, defined once as pynamodb models.

CDK, the local stack and the tests all derive key schemas and indexes from these classes
(see `table_definitions`), so they cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from loyalty.settings import Settings


class CustomerItem(Model):
    """One item per customer: balance, tier, monthly buckets and the last classification.

    The stored form is adapters/customer_form.py's: short attribute names (attr_name=...) except the
    hash key and the attributes other writers update in place, and the 13 month buckets packed into
    one binary attribute. Old items (long names, a `months` map) are read as they are
    (`_container_deserialize` below, items.profile_from_raw for the scan) and rewritten in this form
    by the next write, which always puts the whole item.

    Size (DynamoDB's rules, tests/unit/test_item_size.py; old form in brackets): a year of weekly
    shopping in 4 categories, every classification field set, is 648 bytes (1,381), one write unit
    (<= 1,024, tested; 864 with rolling 12-month lots and a 30-day return window). Worst cases, every
    day for two years in 40 categories of 32 characters: 1,632 bytes with the default expiry policy
    (bound 1,800); 2,994 with the largest lot and pending settings (rolling 24 months or calendar 2
    years, pending_days 60; bound 3,200, one 4 KB read unit); 2,929 with the membership at its largest
    (20 consent changes, 5 preferred categories, 13 interaction buckets) and a 128-character card
    number (3,903; bound 3,200); 4,122 with both (5,055; bound 4,500: two read units).
    """

    class Meta:
        table_name = "loyalty-customers"
        billing_mode = "PAY_PER_REQUEST"

    customer_id = UnicodeAttribute(hash_key=True)
    # Kept names: redemptions, adjustments and erasure change these in place (UpdateItem ADD/SET and
    # conditions), on old and new items alike.
    version = NumberAttribute(default=0)
    points_balance = NumberAttribute(default=0)
    points_redeemed = NumberAttribute(default=0)
    points_adjusted = NumberAttribute(default=0)
    erased = BooleanAttribute(default=False)
    # The points lifecycle (domain/lots.py): {"2026-03": points} per lot.
    lots = MapAttribute(default=dict)
    # Short names (customer_form.RENAMED gives the old ones).
    tier = UnicodeAttribute(attr_name="t")
    tier_since = UnicodeAttribute(attr_name="ts", null=True)
    points_earned = NumberAttribute(attr_name="pe", default=0)
    points_expired = NumberAttribute(attr_name="px", default=0)
    first_purchase_at = UnicodeAttribute(attr_name="fp", null=True)
    last_purchase_at = UnicodeAttribute(attr_name="lp", null=True)
    folded_purchase_days = NumberAttribute(attr_name="fd", default=0)
    lifetime_spend = NumberAttribute(attr_name="ls", default=0)
    lifetime_purchases = NumberAttribute(attr_name="lc", default=0)
    # The month buckets, packed (customer_form.pack_months); absent before the first purchase.
    months = BinaryAttribute(attr_name="mb", legacy_encoding=False, null=True)
    # What the monthly run keeps (segment, favourite category; RFM scores and P(alive) are computed
    # from the profile and the period's cuts, not stored), the period it last wrote, and the last
    # purchase day of the silence CustomerOverdue announced.
    segment = UnicodeAttribute(attr_name="sg", null=True)
    favourite_category = UnicodeAttribute(attr_name="fc", null=True)
    classified_period = UnicodeAttribute(attr_name="cp", null=True)
    overdue_for = UnicodeAttribute(attr_name="od", null=True)
    # Enrolment, status, consents (and their last 20 changes), preferences, interaction buckets: see
    # adapters/items.py member_to_item. Absent for a card only ever seen on purchases.
    member = MapAttribute(attr_name="mm", null=True)
    # Points still pending per earning day ({"2026-03-14": points}), absent when none.
    pending = MapAttribute(attr_name="pd", null=True)
    expiry_warned_through = UnicodeAttribute(attr_name="ew", null=True)  # last date PointsExpiring announced

    # Old items read as they are: their attribute values in the new form first. pynamodb decodes a
    # GetItem, TransactGetItems or query answer with from_raw_data and an UpdateItem's with deserialize.
    @classmethod
    def from_raw_data(cls, data: dict[str, Any]) -> CustomerItem:
        from loyalty.adapters.customer_form import upgrade

        return super().from_raw_data(upgrade(data))

    def deserialize(self, attribute_values: dict[str, dict[str, Any]]) -> None:
        from loyalty.adapters.customer_form import upgrade

        super().deserialize(upgrade(attribute_values))


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
    # Earning rules (docs/rules-and-rewards.md): a purchase's rule points with the spend they are on
    # (compact JSON, absent without rules) and what its returns took per category so far.
    points_breakdown = UnicodeAttribute(null=True)
    returned_categories = MapAttribute(null=True)
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
    # Rewards (docs/rules-and-rewards.md); absent on a redemption's voucher: kind value, cause redemption.
    kind = UnicodeAttribute(null=True)  # value | percent
    percent = NumberAttribute(null=True)
    cause = UnicodeAttribute(null=True)  # redemption | tier_reward | season
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


class RuleCounterItem(Model):
    """The bonus points each capped earning rule gave one customer in one programme month
    (earning.rules[].cap), kept in the redemptions table under a key no caller's redemption_id can
    take (`#cap#<customer>#<month>`: ids start with a letter or digit). Written in the purchase's
    TransactWriteItems, conditioned on `version`, so a cap is never exceeded under retries or races."""

    class Meta:
        table_name = "loyalty-redemptions"
        billing_mode = "PAY_PER_REQUEST"

    redemption_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    counts = MapAttribute(default=dict)  # rule name -> bonus points given this month
    version = NumberAttribute(default=0)


class ReferralItem(Model):
    """Referrals, in the redemptions table: `#refcode#<CODE>` names the code's owner, and
    `#referrer#<hash of the customer>` keeps the customer's code and the days of the referrals that
    rewarded them (the last 12 months), conditioned on `version` when a referral is rewarded."""

    class Meta:
        table_name = "loyalty-redemptions"
        billing_mode = "PAY_PER_REQUEST"

    redemption_id = UnicodeAttribute(hash_key=True)
    customer_id = UnicodeAttribute()
    code = UnicodeAttribute(null=True)
    rewarded = ListAttribute(of=UnicodeAttribute, null=True)
    version = NumberAttribute(default=0)


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


# Models of items kept in another model's table (same key schema; the table is defined by MODELS).
SHARED_TABLES: dict[str, tuple[type[Model], ...]] = {"redemptions_table": (RuleCounterItem, ReferralItem)}


def batch_get(model: type[Model], keys: list[str]) -> Iterator[Any]:
    """Strongly consistent BatchGetItem of these hash keys, 100 a call (DynamoDB's limit); the items
    found, in no particular order."""
    for start in range(0, len(keys), 100):
        yield from model.batch_get(keys[start : start + 100], consistent_read=True)


def bind_models(settings: Settings, extra: dict[str, type[Model]] | None = None) -> None:
    """Point every model at the tables named in settings (and at a local endpoint if set)."""
    host = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    shared = [(setting, model) for setting, models in SHARED_TABLES.items() for model in models]
    for setting, model in [*{**MODELS, **(extra or {})}.items(), *shared]:
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
