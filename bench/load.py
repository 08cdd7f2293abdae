"""`make load`: many concurrent store clients posting purchases over HTTP to the local stack.

    python -m bench.load                          40 clients x 250 purchases against a fresh local stack
    python -m bench.load --clients 20 --per-client 100 --url http://127.0.0.1:3000 --key local-dev-key

Each client owns its customers and posts their purchases one after another, so the expected balance of
every customer follows from the programme file alone, in exact integer arithmetic (see `Expected`), tier
upgrades included: the purchase that crosses a threshold earns at the tier held before it. At the end the
summary gives throughput and p50/p99 latency, and every balance is checked against the expectation.
The e2e test tests/e2e/test_load_http.py runs a smaller version of the same driver.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

PROGRAMME = Path(__file__).resolve().parents[1] / "programmes" / "default.json"


@dataclass
class Expected:
    """A customer's balance by the default programme's rules, computed independently of the runtime:
    points = whole euros x points_per_unit x the multiplier of the tier held before the purchase; the
    tier is the highest whose 12-month spend threshold the spend so far reaches (all purchases here fall
    in the same few minutes, so inside one 12-month window)."""

    tiers: list[tuple[str, int, int]]  # (name, multiplier, spend threshold in cents), lowest first
    points_per_unit: int
    spend: int = 0
    points: int = 0
    tier_index: int = 0

    @classmethod
    def from_programme(cls, path: Path = PROGRAMME) -> Expected:
        data = json.loads(path.read_text())
        if data.get("currency", "EUR") != "EUR":
            raise ValueError("the load driver prices in EUR (2 decimals)")
        tiers = []
        for tier in data["tiers"]:
            conditions = tier.get("any_of") or {}
            if set(conditions) - {"spend_12m"}:
                raise ValueError("the load driver models spend thresholds only")
            threshold = int(Decimal(conditions["spend_12m"]) * 100) if conditions else 0
            tiers.append((tier["name"], int(tier.get("multiplier", 1)), threshold))
        return cls(tiers, int(data["earning"]["points_per_unit"]))

    @property
    def tier(self) -> str:
        return self.tiers[self.tier_index][0]

    def purchase(self, cents: int) -> int:
        earned = (cents // 100) * self.points_per_unit * self.tiers[self.tier_index][1]
        self.points += earned
        self.spend += cents
        for index, (_, _, threshold) in enumerate(self.tiers):
            if index > self.tier_index and self.spend >= threshold:
                self.tier_index = index
        return earned


@dataclass
class ClientResult:
    customer_id: str
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    expected: Expected | None = None
    mismatches: list[str] = field(default_factory=list)
    resends: int = 0  # requests sent again after a connection error (no HTTP answer)


def amount_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def run_client(
    api_url: str, api_key: str, customer_id: str, count: int, seed: int, when: datetime
) -> ClientResult:
    import requests

    rng = random.Random(seed)
    result = ClientResult(customer_id, expected=Expected.from_programme())
    expected = result.expected
    assert expected is not None
    occurred_at = when.isoformat(timespec="seconds")
    with requests.Session() as session:
        session.headers.update({"x-api-key": api_key, "content-type": "application/json"})
        for n in range(count):
            cents = rng.randint(100, 6000)  # 1.00 .. 60.00 EUR: crosses silver, then gold
            body = {
                "transaction_id": f"{customer_id}-T{n}",
                "customer_id": customer_id,
                "store_id": f"S{seed % 17:03d}",
                "channel": "store",
                "occurred_at": occurred_at,
                "currency": "EUR",
                "amount": amount_text(cents),
            }
            started = time.perf_counter()
            for attempt in range(5):
                try:
                    response = session.post(api_url + "/v1/transactions", data=json.dumps(body), timeout=120)
                    break
                except requests.ConnectionError:
                    # No answer at all (the connection was refused or reset): a till resends the same
                    # transaction_id, which the API answers as the first time and counts once.
                    if attempt == 4:
                        raise
                    result.resends += 1
                    time.sleep(0.05 * 2**attempt)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[response.status_code] += 1
            if response.status_code != 201:
                result.mismatches.append(f"{body['transaction_id']}: {response.status_code} {response.text}")
                continue
            earned = expected.purchase(cents)
            answer = response.json()
            if (answer["points_earned"], answer["points_balance"], answer["tier"]) != (
                earned,
                expected.points,
                expected.tier,
            ):
                got = f"{answer['points_earned']}/{answer['points_balance']}/{answer['tier']}"
                want = f"{earned}/{expected.points}/{expected.tier}"
                result.mismatches.append(f"{body['transaction_id']}: answered {got}, expected {want}")
    return result


@dataclass
class LoadReport:
    clients: list[ClientResult]
    elapsed: float
    balances: dict[str, dict[str, Any]]  # GET /v1/customers/{id} after the run

    @property
    def latencies(self) -> list[float]:
        return sorted(x for c in self.clients for x in c.latencies)

    @property
    def statuses(self) -> Counter[int]:
        total: Counter[int] = Counter()
        for client in self.clients:
            total.update(client.statuses)
        return total

    def percentile(self, p: float) -> float:
        values = self.latencies
        return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]

    def problems(self) -> list[str]:
        """Everything that is not exact: 5xx or other non-201 answers, wrong answers, wrong balances."""
        out = []
        for client in self.clients:
            out += client.mismatches
            card, expected = self.balances.get(client.customer_id), client.expected
            assert expected is not None
            if card is None:
                out.append(f"{client.customer_id}: no balance read")
            elif (card["points_balance"], card["tier"]) != (expected.points, expected.tier):
                out.append(
                    f"{client.customer_id}: balance {card['points_balance']} {card['tier']}, "
                    f"expected {expected.points} {expected.tier}"
                )
        return out

    def summary(self) -> str:
        total = len(self.latencies)
        return (
            f"{len(self.clients)} clients, {total} purchases in {self.elapsed:.1f} s: "
            f"{total / self.elapsed:.0f} purchases/s; latency p50 {self.percentile(50) * 1000:.0f} ms, "
            f"p99 {self.percentile(99) * 1000:.0f} ms, max {self.latencies[-1] * 1000:.0f} ms; "
            f"statuses {dict(sorted(self.statuses.items()))}; "
            f"{sum(c.resends for c in self.clients)} resend(s) after connection errors; "
            f"{len(self.problems())} problem(s)"
        )


def run_load(api_url: str, api_key: str, clients: int, per_client: int, seed: int = 1) -> LoadReport:
    import requests

    run = uuid.uuid4().hex[:8]
    when = datetime.now(UTC) - timedelta(minutes=5)
    customers = [f"LOAD-{run}-{n:03d}" for n in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [
            pool.submit(run_client, api_url, api_key, customer, per_client, seed * 1000 + n, when)
            for n, customer in enumerate(customers)
        ]
        results = [f.result() for f in futures]
    elapsed = time.perf_counter() - started
    balances = {}
    with requests.Session() as session:
        for customer in customers:
            response = session.get(f"{api_url}/v1/customers/{customer}", headers={"x-api-key": api_key})
            if response.status_code == 200:
                balances[customer] = response.json()
    return LoadReport(results, elapsed, balances)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--per-client", type=int, default=250)
    parser.add_argument("--workers", type=int, default=4, help="handler processes of a fresh local stack")
    parser.add_argument("--url", help="an already running stack (default: start a fresh local stack)")
    parser.add_argument("--key", default="local-dev-key", help="its x-api-key (with --url)")
    args = parser.parse_args(argv)
    if args.url:
        report = run_load(args.url, args.key, args.clients, args.per_client)
    else:
        from loyalty_tools.local import local_stack
        from loyalty_tools.localstack import free_port

        print(f"starting a local stack ({args.workers} handler processes)...", flush=True)
        with local_stack(port=free_port(), workers=args.workers) as stack:
            ticker = _ticker()
            try:
                report = run_load(stack.api_url, stack.api_key, args.clients, args.per_client)
            finally:
                ticker.set()
    print(report.summary())
    for problem in report.problems()[:20]:
        print("  " + problem)
    return 1 if report.problems() else 0


def _ticker() -> threading.Event:
    stop = threading.Event()

    def tick() -> None:
        started = time.monotonic()
        while not stop.wait(10):
            print(f"  ... {time.monotonic() - started:.0f} s", flush=True)

    threading.Thread(target=tick, daemon=True).start()
    return stop


if __name__ == "__main__":
    sys.exit(main())
