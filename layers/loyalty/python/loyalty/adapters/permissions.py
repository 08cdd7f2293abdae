"""The AWS calls each adapter method makes, and which adapter methods each function uses.

CDK grants every function exactly the union of what its adapter methods declare here, on the exact
resources named by settings fields (tables, the bus, buckets, the erasure pepper secret) and, for
queries, the exact index; for S3 object calls, the objects of that one bucket (`<bucket arn>/*`). The infra
tests check the template against this file, and an integration test records the calls the adapters
really make under moto and checks them against it, so the declaration cannot drift from the code.

Pure data: no CDK, no boto3. Keys are "AdapterClass.method" as spelled in the adapters modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from loyalty.adapters.models import InteractionItem, TransactionItem, VoucherItem
from loyalty.adapters.runstore import CANDIDATES_PREFIX
from loyalty.settings import ERASURE, INGEST, POINTS, RECLASSIFY, REDEMPTIONS


@dataclass(frozen=True, order=True)
class Access:
    """IAM actions on one resource: a settings field naming a table, the bus, a bucket or the state
    machine (and, for a query on a global secondary index, that index's name; for S3 object actions,
    objects=True: the bucket's objects, `<bucket arn>/*`, or with a prefix only those under it; for
    execution calls, executions=True: the state machine's executions)."""

    resource: str  # a Settings field: customers_table, transactions_table, event_bus_name, run_bucket...
    actions: tuple[str, ...]
    index: str | None = None
    objects: bool = False
    prefix: str = ""  # with objects: only the keys under this prefix (`<bucket arn>/<prefix>*`)
    executions: bool = False  # on a state machine: its executions (`...:execution:<machine>:*`)


# Each adapter method and the calls it makes. TransactGetItems / TransactWriteItems are authorised
# per item: GetItem for each read, PutItem for each save, UpdateItem for each update, ConditionCheckItem
# for each condition_check (none used today).
ADAPTER_CALLS: dict[str, tuple[Access, ...]] = {
    "DynamoCustomerStore.get": (Access("customers_table", ("dynamodb:GetItem",)),),
    "DynamoTransactionStore.get": (Access("transactions_table", ("dynamodb:GetItem",)),),
    "DynamoTransactionStore.get_with_profile": (
        Access("transactions_table", ("dynamodb:GetItem",)),
        Access("customers_table", ("dynamodb:GetItem",)),
    ),
    "DynamoTransactionStore.record": (
        Access("transactions_table", ("dynamodb:PutItem", "dynamodb:UpdateItem")),
        Access("customers_table", ("dynamodb:PutItem",)),
        Access("ledger_table", ("dynamodb:PutItem",)),  # the ledger entries, in the same transaction
        # earning rules and rewards, in the same transaction (adapters/reward_store.py write_rewards)
        Access("redemptions_table", ("dynamodb:PutItem",)),
        Access("vouchers_table", ("dynamodb:PutItem",)),
    ),
    "DynamoRewardStore.counter": (Access("redemptions_table", ("dynamodb:GetItem",)),),
    "DynamoRewardStore.reward_issued": (Access("redemptions_table", ("dynamodb:GetItem",)),),
    "DynamoRewardStore.referrer_of": (Access("redemptions_table", ("dynamodb:GetItem",)),),
    "DynamoRewardStore.code_owner": (Access("redemptions_table", ("dynamodb:GetItem",)),),
    "DynamoRewardStore.create_code": (Access("redemptions_table", ("dynamodb:PutItem",)),),
    "DynamoRewardStore.forget_referrals": (
        Access("redemptions_table", ("dynamodb:GetItem", "dynamodb:DeleteItem")),
    ),
    # adapters/dynamo_errors.py's Labelled only records what a TransactWrite holds: no call of its own.
    "Labelled.save": (),
    "Labelled.delete": (),
    "Labelled.update": (),
    "Labelled.reasons": (),
    # The importer's (a tool with the operator's credentials, no Lambda): declared so the list is whole.
    "DynamoTransactionStore.get_many": (Access("transactions_table", ("dynamodb:BatchGetItem",)),),
    "DynamoTransactionStore.record_chunk": (
        Access("transactions_table", ("dynamodb:PutItem", "dynamodb:UpdateItem")),
        Access("customers_table", ("dynamodb:PutItem",)),
        Access("ledger_table", ("dynamodb:PutItem",)),  # the ledger entries, in the same transaction
    ),
    "DynamoTransactionStore.record_chunks": (  # several customers' chunks in one TransactWriteItems
        Access("transactions_table", ("dynamodb:PutItem", "dynamodb:UpdateItem")),
        Access("customers_table", ("dynamodb:PutItem",)),
        Access("ledger_table", ("dynamodb:PutItem",)),
    ),
    "DynamoCustomerStore.get_profiles": (Access("customers_table", ("dynamodb:BatchGetItem",)),),
    "DynamoTransactionStore.history": (
        Access("transactions_table", ("dynamodb:Query",), index=TransactionItem.by_customer.Meta.index_name),
    ),
    "EventBridgePublisher.publish": (Access("event_bus_name", ("events:PutEvents",)),),
    "DynamoRedemptionStore.get_redemption": (Access("redemptions_table", ("dynamodb:GetItem",)),),
    "DynamoRedemptionStore.redeem": (
        Access("redemptions_table", ("dynamodb:PutItem",)),
        Access("customers_table", ("dynamodb:UpdateItem",)),
        Access("vouchers_table", ("dynamodb:PutItem",)),
        Access("ledger_table", ("dynamodb:PutItem",)),  # the ledger entries, in the same transaction
    ),
    "DynamoRedemptionStore.vouchers": (
        Access("vouchers_table", ("dynamodb:Query",), index=VoucherItem.by_customer.Meta.index_name),
    ),
    "DynamoRedemptionStore.use_voucher": (
        Access("vouchers_table", ("dynamodb:GetItem", "dynamodb:UpdateItem")),
    ),
    "DynamoRedemptionStore.get_voucher": (Access("vouchers_table", ("dynamodb:GetItem",)),),
    # One TransactWriteItems: the voucher and the profile.
    "DynamoRedemptionStore.cancel_voucher": (
        Access("vouchers_table", ("dynamodb:UpdateItem",)),
        Access("customers_table", ("dynamodb:UpdateItem",)),
        Access("ledger_table", ("dynamodb:PutItem",)),  # the ledger entries, in the same transaction
    ),
    # One TransactWriteItems: the adjustment record and the profile.
    "DynamoAdjustmentStore.get_adjustment": (Access("adjustments_table", ("dynamodb:GetItem",)),),
    "DynamoAdjustmentStore.adjust": (
        Access("adjustments_table", ("dynamodb:PutItem",)),
        Access("customers_table", ("dynamodb:UpdateItem",)),
        Access("ledger_table", ("dynamodb:PutItem",)),  # the ledger entries, in the same transaction
    ),
    "DynamoErasureStore.mark_erased": (Access("customers_table", ("dynamodb:UpdateItem",)),),
    "DynamoErasureStore.erasure": (Access("erasures_table", ("dynamodb:GetItem",)),),
    "DynamoErasureStore.anonymise_vouchers": (
        Access("vouchers_table", ("dynamodb:Query",), index=VoucherItem.by_customer.Meta.index_name),
        Access("vouchers_table", ("dynamodb:UpdateItem",)),
        Access("redemptions_table", ("dynamodb:UpdateItem",)),
    ),
    "DynamoErasureStore.anonymise_transactions": (
        Access("transactions_table", ("dynamodb:Query",), index=TransactionItem.by_customer.Meta.index_name),
        Access("transactions_table", ("dynamodb:UpdateItem",)),
    ),
    "DynamoErasureStore.finish": (
        Access("customers_table", ("dynamodb:PutItem", "dynamodb:DeleteItem")),
        Access("erasures_table", ("dynamodb:UpdateItem",)),
    ),
    # Members: enrolment, consents, preferences and status (a Put at the version read), interactions.
    "DynamoMemberStore.save_profile": (Access("customers_table", ("dynamodb:PutItem",)),),
    "DynamoMemberStore.get_interaction": (Access("interactions_table", ("dynamodb:GetItem",)),),
    "DynamoMemberStore.record_interaction": (
        Access("interactions_table", ("dynamodb:PutItem",)),
        Access("customers_table", ("dynamodb:PutItem",)),
    ),
    "DynamoMemberStore.delete_interactions": (
        Access("interactions_table", ("dynamodb:Query",), index=InteractionItem.by_customer.Meta.index_name),
        Access("interactions_table", ("dynamodb:DeleteItem",)),
    ),
    # The points ledger: a customer's entries, newest first; erasure deletes them.
    "DynamoLedgerStore.entries": (Access("ledger_table", ("dynamodb:Query",)),),
    "DynamoLedgerStore.delete_entries": (
        Access("ledger_table", ("dynamodb:Query",)),
        Access("ledger_table", ("dynamodb:DeleteItem",)),
    ),
    # The erasure pepper, read once per container from the stack's secret (its exact ARN).
    "SecretsManagerPepper.get": (Access("erasure_pepper_secret", ("secretsmanager:GetSecretValue",)),),
    # The monthly reclassification: one pass over the customers, writes only for those that changed.
    "DynamoCustomerScan.scan_segment": (Access("customers_table", ("dynamodb:Scan",)),),
    # A conditional PutItem, or (lots expired) a TransactWriteItems of the put and the ledger's entry.
    "DynamoCustomerScan.save_classification": (
        Access("customers_table", ("dynamodb:PutItem",)),
        Access("ledger_table", ("dynamodb:PutItem",)),
    ),
    "DynamoCustomerScan.get": (Access("customers_table", ("dynamodb:GetItem",)),),
    "DynamoCustomerScan.approximate_count": (Access("customers_table", ("dynamodb:DescribeTable",)),),
    # The run documents. get() answers None for a missing key only if S3 says NoSuchKey, which it does
    # only to a caller allowed s3:ListBucket (otherwise 403 AccessDenied): so get needs both.
    "S3RunStore.put": (Access("run_bucket", ("s3:PutObject",), objects=True),),
    "S3RunStore.get": (
        Access("run_bucket", ("s3:GetObject",), objects=True),
        Access("run_bucket", ("s3:ListBucket",)),
    ),
    "S3RunStore.keys": (Access("run_bucket", ("s3:ListBucket",)),),
    # The back office's what-if: the candidate under the candidates prefix only, then the state machine.
    "S3CandidateStore.put": (
        Access("run_bucket", ("s3:PutObject",), objects=True, prefix=CANDIDATES_PREFIX),
    ),
    "StepFunctionsRuns.start": (Access("reclassify_state_machine", ("states:StartExecution",)),),
    "StepFunctionsRuns.state": (
        Access("reclassify_state_machine", ("states:DescribeExecution",), executions=True),
    ),
    # The local stack's stand-in for the state machine (no Lambda uses it): its state in the run bucket.
    "LocalRuns.start": (
        Access("run_bucket", ("s3:GetObject", "s3:PutObject"), objects=True),
        Access("run_bucket", ("s3:ListBucket",)),
    ),
    "LocalRuns.state": (
        Access("run_bucket", ("s3:GetObject",), objects=True),
        Access("run_bucket", ("s3:ListBucket",)),
    ),
}

# Where the adapter classes live (for the tests that check every key names a real method).
ADAPTER_MODULES: dict[str, str] = {
    "DynamoCustomerStore": "loyalty.adapters.customer_store",
    "DynamoTransactionStore": "loyalty.adapters.transaction_store",
    "EventBridgePublisher": "loyalty.adapters.eventbridge",
    "DynamoRedemptionStore": "loyalty.adapters.redemption_store",
    "DynamoErasureStore": "loyalty.adapters.erasure_store",
    "DynamoAdjustmentStore": "loyalty.adapters.adjustment_store",
    "DynamoCustomerScan": "loyalty.adapters.customer_store",
    "S3RunStore": "loyalty.adapters.runstore",
    "S3CandidateStore": "loyalty.adapters.runstore",
    "StepFunctionsRuns": "loyalty.adapters.stepfunctions",
    "LocalRuns": "loyalty.adapters.local_runs",
    "SecretsManagerPepper": "loyalty.adapters.secrets",
    "Labelled": "loyalty.adapters.dynamo_errors",
    "DynamoMemberStore": "loyalty.adapters.member_store",
    "DynamoLedgerStore": "loyalty.adapters.ledger_store",
    "DynamoRewardStore": "loyalty.adapters.reward_store",
}

# Each function and the adapter methods its services call. A new function is listed here.
FUNCTION_USES: dict[str, tuple[str, ...]] = {
    INGEST: (
        "DynamoCustomerStore.get",
        "DynamoTransactionStore.get",
        "DynamoTransactionStore.get_with_profile",
        "DynamoTransactionStore.record",
        "DynamoRewardStore.counter",
        "DynamoRewardStore.reward_issued",
        "DynamoRewardStore.referrer_of",
        "DynamoRewardStore.code_owner",
        "DynamoRewardStore.create_code",
        "EventBridgePublisher.publish",
        "DynamoMemberStore.save_profile",
        "DynamoMemberStore.get_interaction",
        "DynamoMemberStore.record_interaction",
    ),
    POINTS: (
        "DynamoCustomerStore.get",
        "DynamoTransactionStore.history",
        "DynamoLedgerStore.entries",
        "S3RunStore.get",  # the runs page (routes_backoffice.py), the latest cuts (period_cuts.py)
        "S3RunStore.keys",
        "S3CandidateStore.put",  # the what-if (service/back_office.py)
        "StepFunctionsRuns.start",
        "StepFunctionsRuns.state",
    ),
    REDEMPTIONS: (
        "DynamoCustomerStore.get",
        "DynamoRedemptionStore.get_redemption",
        "DynamoRedemptionStore.redeem",
        "DynamoRedemptionStore.vouchers",
        "DynamoRedemptionStore.use_voucher",
        "DynamoRedemptionStore.get_voucher",
        "DynamoRedemptionStore.cancel_voucher",
        "DynamoAdjustmentStore.get_adjustment",
        "DynamoAdjustmentStore.adjust",
        "EventBridgePublisher.publish",
    ),
    ERASURE: (
        "DynamoErasureStore.mark_erased",
        "DynamoErasureStore.erasure",
        "DynamoErasureStore.anonymise_vouchers",
        "DynamoErasureStore.anonymise_transactions",
        "DynamoErasureStore.finish",
        "DynamoMemberStore.delete_interactions",
        "DynamoLedgerStore.delete_entries",
        "DynamoRewardStore.forget_referrals",
        "SecretsManagerPepper.get",
    ),
    RECLASSIFY: (
        "DynamoCustomerScan.scan_segment",
        "DynamoCustomerScan.save_classification",
        "DynamoCustomerScan.get",
        "DynamoCustomerScan.approximate_count",
        # vouchers.season_months: the season's conversion (service/reclassify/season.py)
        "DynamoCustomerStore.get",
        "DynamoRedemptionStore.get_redemption",
        "DynamoRedemptionStore.redeem",
        "EventBridgePublisher.publish",
        "S3RunStore.put",
        "S3RunStore.get",
        "S3RunStore.keys",
    ),
}


def accesses_of(methods: Iterable[str]) -> list[Access]:
    """The merged accesses of some adapter methods: one entry per (resource, index, objects, prefix,
    executions), actions sorted."""
    merged: dict[tuple[str, str, bool, str, bool], set[str]] = {}
    for method in methods:
        if method not in ADAPTER_CALLS:
            raise KeyError(f"{method}: not declared in loyalty.adapters.permissions.ADAPTER_CALLS")
        for access in ADAPTER_CALLS[method]:
            key = (access.resource, access.index or "", access.objects, access.prefix, access.executions)
            merged.setdefault(key, set()).update(access.actions)
    return [
        Access(resource, tuple(sorted(actions)), index or None, objects, prefix, executions)
        for (resource, index, objects, prefix, executions), actions in sorted(merged.items())
    ]


def accesses_for(function: str) -> list[Access]:
    """Everything a function may call, from the adapter methods it uses."""
    if function not in FUNCTION_USES:
        raise KeyError(f"{function}: no entry in loyalty.adapters.permissions.FUNCTION_USES")
    return accesses_of(FUNCTION_USES[function])


def actions_for(function: str) -> set[str]:
    return {action for access in accesses_for(function) for action in access.actions}
