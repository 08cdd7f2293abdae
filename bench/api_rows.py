"""Ingest and balance-read rows: the real handlers in process against bare boto3 baselines."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.capacity import capacity_of, gsi_keys
from bench.harness import Env, Row, Side, info, interleaved, judged, per_s, purchase, recording_calls


def _last(calls: list[tuple[str, dict[str, Any], dict[str, Any]]], operation: str) -> dict[str, Any]:
    return next(params for op, params, _ in reversed(calls) if op == operation)


class BareIngest:
    """The same DynamoDB calls the ingest handler makes for a purchase, with plain boto3: a strongly
    consistent GetItem of the customer, then one TransactWriteItems putting the transaction (only if new),
    the customer (only at the version read) and every other item the handler's transaction put (the
    points ledger's entry, keyed by the customer and the new version). The items are copies of what
    the handler wrote."""

    def __init__(self, env: Env, template: dict[str, Any], customers: int) -> None:
        self.ddb = env.ddb
        self.customers_table = env.settings.customers_table
        puts = [entry["Put"] for entry in template["TransactItems"]]
        self.txn_put = next(p for p in puts if p["TableName"] == env.settings.transactions_table)
        self.customer_put = next(p for p in puts if p["TableName"] == self.customers_table)
        self.other_puts = [p for p in puts if p is not self.txn_put and p is not self.customer_put]
        self.customers = customers

    def __call__(self, i: int) -> None:
        customer_id = f"BARE-{i % self.customers}"
        got = self.ddb.get_item(
            TableName=self.customers_table, Key={"customer_id": {"S": customer_id}}, ConsistentRead=True
        )
        version = int(got["Item"]["version"]["N"]) if "Item" in got else None
        txn = copy.deepcopy(self.txn_put["Item"])
        txn["transaction_id"] = {"S": f"BARE-T{i}"}
        txn["customer_id"] = {"S": customer_id}
        txn["occurred_key"] = {"S": f"{txn['occurred_key']['S'].split('#')[0]}#BARE-T{i}"}
        customer = copy.deepcopy(self.customer_put["Item"])
        customer["customer_id"] = {"S": customer_id}
        customer["version"] = {"N": str((version or 0) + 1)}
        if version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(customer_id)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(version)}},
            }
        others = []
        for put in self.other_puts:
            item = copy.deepcopy(put["Item"])
            item["customer_id"] = {"S": customer_id}
            if "seq" in item:  # the ledger's sort key: the profile's version after the write, then "#n"
                head, _, tail = item["seq"]["S"].partition("#")
                item["seq"] = {"S": f"{str((version or 0) + 1).zfill(len(head))}#{tail}"}
            others.append({"Put": {**put, "Item": item}})
        self.ddb.transact_write_items(
            TransactItems=[
                *others,
                {
                    "Put": {
                        "TableName": self.txn_put["TableName"],
                        "Item": txn,
                        "ConditionExpression": "attribute_not_exists(transaction_id)",
                    }
                },
                {"Put": {"TableName": self.customers_table, "Item": customer, **condition}},
            ]
        )


class Cleanup:
    """moto copies a whole table for every TransactWriteItems (to roll back), so its cost grows with the
    table. Deleting the transactions a round wrote (untimed) gives every round the same table size."""

    def __init__(self, env: Env) -> None:
        self.env, self.ids = env, []

    def __call__(self) -> None:
        table = self.env.settings.transactions_table
        for start in range(0, len(self.ids), 25):
            chunk = self.ids[start : start + 25]
            self.env.ddb.batch_write_item(
                RequestItems={
                    table: [{"DeleteRequest": {"Key": {"transaction_id": {"S": t}}}} for t in chunk]
                }
            )
        self.ids.clear()


def ingest_rows(env: Env, rounds: int, per_round: int, customers: int = 50) -> list[Row]:
    amounts = ["23.40", "7.99", "41.10", "12.00", "18.75"]
    # One handler call recorded, to give the baseline the very items the handler writes.
    with recording_calls() as calls:
        env.post_transaction(purchase("HANDLER-0", amounts[0], txn="HANDLER-T-first"))
    bare = BareIngest(env, _last(calls, "TransactWriteItems"), customers)
    handler_cleanup, bare_cleanup = Cleanup(env), Cleanup(env)

    def handler(i: int) -> None:
        txn = f"HANDLER-T{i}"
        handler_cleanup.ids.append(txn)
        env.post_transaction(purchase(f"HANDLER-{i % customers}", amounts[i % len(amounts)], txn=txn))

    def bare_op(i: int) -> None:
        bare_cleanup.ids.append(f"BARE-T{i}")
        bare(i)

    h, b = interleaved(
        [
            Side("handler", handler, reset=handler_cleanup),
            Side("bare", bare_op, reset=bare_cleanup),
        ],
        rounds,
        per_round,
    )
    ratio = h.median / b.median
    raw = (
        f"handler {per_s(h.median)} vs boto3 GetItem+TransactWriteItems {per_s(b.median)} "
        f"(median of {rounds} rounds x {per_round})"
    )
    return [judged("ingest handler throughput / bare boto3", ratio, ">= 0.8", raw)]


def _seed(env: Env, customer_id: str, count: int, rng: random.Random) -> int:
    """`count` purchases over the last ~11 months, priced by the domain rules (apply_purchase) and
    written with BatchWriteItem: the same items the ingest handler writes, without paying moto's
    per-transaction table copy `count` times. Returns the balance."""
    from loyalty.adapters.items import profile_to_item, transaction_to_item
    from loyalty.api.deps import programme
    from loyalty.domain.dates import iso_utc
    from loyalty.domain.earning import Purchase, apply_purchase
    from loyalty.domain.profile import new_profile
    from loyalty.ports import StoredTransaction

    prog = programme()
    profile = new_profile(customer_id, prog.base_tier.name)
    now = datetime.now(UTC)
    items = []
    for n in range(count):
        when = now - timedelta(days=330 * (count - n) / count, hours=1)
        amount = rng.randint(300, 6000)
        txn = f"{customer_id}-T{n}"
        profile, outcome = apply_purchase(
            profile, Purchase(txn, customer_id, when, amount, {"beauty": amount}), prog
        )
        stored = StoredTransaction(
            transaction_id=txn,
            customer_id=customer_id,
            kind="purchase",
            occurred_at=when.isoformat(),
            occurred_key=f"{iso_utc(when)}#{txn}",
            currency=prog.currency,
            amount=amount,
            body_hash="0" * 64,
            store_id="S042",
            channel="store",
            points_rate=outcome.points_rate,
            points_earned=outcome.points_earned,
            categories={"beauty": amount},
            response={"points_earned": outcome.points_earned, "points_balance": outcome.points_balance},
        )
        items.append((env.settings.transactions_table, transaction_to_item(stored).serialize()))
    items.append((env.settings.customers_table, profile_to_item(profile, count).serialize()))
    for start in range(0, len(items), 25):
        requests: dict[str, list[dict[str, Any]]] = {}
        for table, item in items[start : start + 25]:
            requests.setdefault(table, []).append({"PutRequest": {"Item": item}})
        env.ddb.batch_write_item(RequestItems=requests)
    return profile.points_balance


class SumAllRead:
    """The aws-serverless-airline-booking loyalty read: Query every transaction of the customer
    (here on the by_customer index, page by page) and sum their points."""

    def __init__(self, env: Env, customer_id: str) -> None:
        self.ddb, self.table, self.customer_id = env.ddb, env.settings.transactions_table, customer_id

    def __call__(self, _: int = 0) -> int:
        total, start = 0, None
        while True:
            kwargs = {"ExclusiveStartKey": start} if start else {}
            page = self.ddb.query(
                TableName=self.table,
                IndexName="by_customer",
                KeyConditionExpression="customer_id = :c",
                ExpressionAttributeValues={":c": {"S": self.customer_id}},
                **kwargs,
            )
            total += sum(int(item["points_earned"]["N"]) for item in page["Items"])
            start = page.get("LastEvaluatedKey")
            if not start:
                return total


def read_rows(env: Env, rounds: int, per_round: int) -> tuple[list[Row], dict[str, Any]]:
    rng = random.Random(7)
    seeded = {n: _seed(env, f"READ-{n}", n, rng) for n in (50, 500)}
    sums = {n: SumAllRead(env, f"READ-{n}") for n in seeded}
    for n, balance in seeded.items():  # the two designs must agree before they are compared
        card = env.get_customer(f"READ-{n}")
        if not (card["points_balance"] == balance == sums[n]()):
            raise AssertionError(f"balances disagree at {n}: {card['points_balance']} {balance} {sums[n]()}")

    def handler(i: int) -> None:
        env.get_customer("READ-500" if i % 2 else "READ-50")

    def bare(i: int) -> None:
        env.ddb.get_item(
            TableName=env.settings.customers_table,
            Key={"customer_id": {"S": "READ-500" if i % 2 else "READ-50"}},
            ConsistentRead=True,
        )

    slow = max(2, per_round // 10)
    h, b, s50, s500 = interleaved(
        [
            Side("handler", handler),
            Side("bare", bare),
            Side("sum50", sums[50], per_round=max(2, per_round // 2)),
            Side("sum500", sums[500], per_round=slow),
        ],
        rounds,
        per_round,
        warmup=2,
    )
    note = f"median of {rounds} rounds"
    rows = [
        judged(
            "balance read: points handler / bare GetItem",
            h.median / b.median,
            "-",
            f"handler {per_s(h.median)} vs GetItem {per_s(b.median)} ({note})",
        ),
        judged(
            "balance read: points handler / sum of 50 transactions",
            h.median / s50.median,
            ">= 1.0",
            f"handler {per_s(h.median)} vs Query+sum {per_s(s50.median)} ({note})",
        ),
        judged(
            "balance read: points handler / sum of 500 transactions",
            h.median / s500.median,
            ">= 1.0",
            f"handler {per_s(h.median)} vs Query+sum {per_s(s500.median)} ({note})",
        ),
    ]
    return rows, {"sums": sums}


def capacity_rows(env: Env, samples: int, sums: dict[int, SumAllRead]) -> list[Row]:
    indexed = gsi_keys()
    with recording_calls() as calls:
        for i in range(samples):
            env.post_transaction(purchase(f"CU-{i % 10}", "23.40"))
    ingest = capacity_of(calls, indexed).per(samples)
    with recording_calls() as calls:
        for _ in range(samples):
            env.get_customer("READ-500")
    read = capacity_of(calls, indexed).per(samples)
    sum_cu = {}
    for n, reader in sums.items():
        with recording_calls() as calls:
            reader()
        sum_cu[n] = capacity_of(calls, indexed)
    return [
        info(
            "capacity units per ingest (purchase)",
            f"{ingest.text()} in {ingest.calls:.2f} DynamoDB calls "
            "(GetItem + TransactWriteItems: the transaction, the customer and the ledger entry, 2 each "
            "as transactional writes, + the by_customer index entry)",
        ),
        info(
            "capacity units per balance read",
            f"points handler {read.text()}; sum-all read {sum_cu[50].rcu:.1f} RCU at 50, "
            f"{sum_cu[500].rcu:.1f} RCU at 500 transactions",
        ),
    ]
