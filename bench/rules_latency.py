"""Ingest latency with earning rules: the median (and p90) of N POST /v1/transactions on the local stack
(`loyalty local --programme FILE`), with 0 rules, 10 rules, and 10 rules of which one is capped (the cap
adds a read of the month's counter and an item to the write). A measurement, not a test:

    .venv/bin/python -m bench.rules_latency [--requests 1000]

Each setting starts its own local stack (moto in server mode), sends the same purchases (3 lines each,
200 customers in turn) one after another, and prints the figures (docs/rules-and-rewards.md)."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from tests.e2e.cleanenv import REPO, a_free_port, clean_env, started


def ten_rules(today: datetime, capped: bool) -> list[dict[str, Any]]:
    day = today.date()
    around = {"from": (day - timedelta(days=3)).isoformat(), "to": (day + timedelta(days=3)).isoformat()}
    rules: list[dict[str, Any]] = [
        {"name": "beauty x2", "when": {"categories": ["beauty"], **around}, "multiplier": 2},
        {"name": "shoes x3", "when": {"categories": ["shoes"], "channels": ["web"]}, "multiplier": 3},
        {"name": "lipstick", "when": {"skus": ["SKU-2", "SKU-7"]}, "multiplier": 2},
        {"name": "store 9", "when": {"stores": ["S9"]}, "bonus_points": 20},
        {"name": "big basket", "when": {"min_amount": "150.00"}, "bonus_points": 50},
        {"name": "gold only", "when": {"tiers": ["gold"]}, "multiplier": 2},
        {"name": "champions", "when": {"segments": ["Champions"]}, "bonus_points": 10},
        {"name": "summer", "when": {"from": "2026-07-01", "to": "2026-08-31"}, "multiplier": 2},
        {"name": "app", "when": {"channels": ["app"]}, "bonus_points": 5},
        {"name": "toys", "when": {"categories": ["toys"], "min_amount": "20.00"}, "multiplier": 2},
    ]
    if capped:
        rules[3] = {"name": "visit bonus", "when": {}, "bonus_points": 20, "cap": 100}
    return rules


def programme(rules: list[dict[str, Any]]) -> dict[str, Any]:
    data = json.loads((REPO / "programmes" / "default.json").read_text(encoding="utf-8"))
    data["earning"]["rules"] = rules
    return data


def measure(rules: list[dict[str, Any]], requests_count: int, work: Path) -> list[float]:
    path = work / f"programme-{len(rules)}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(programme(rules)), encoding="utf-8")
    env = clean_env(work / "home", work / f"state-{path.stem}", LOYALTY_LOCAL_PORT=a_free_port())
    with started(f"loyalty local --programme {path}", env):
        state = json.loads((work / f"state-{path.stem}" / "local.json").read_text(encoding="utf-8"))
        session = requests.Session()
        headers = {"content-type": "application/json", "x-api-key": state["api_key"]}
        now = datetime.now(UTC).replace(microsecond=0).isoformat()
        timings = []
        for i in range(requests_count + 20):  # 20 warm-up requests, not counted
            body = {
                "transaction_id": f"L-{path.stem}-{i}", "customer_id": f"C-{i % 200}", "store_id": "S1",
                "channel": "store", "occurred_at": now, "currency": "EUR", "amount": "90.00",
                "lines": [
                    {"sku": f"SKU-{i % 10}", "category": "beauty", "quantity": 1, "unit_price": "30.00"},
                    {"sku": "SKU-20", "category": "shoes", "quantity": 1, "unit_price": "40.00"},
                    {"sku": "SKU-30", "category": "toys", "quantity": 2, "unit_price": "10.00"},
                ],
            }  # fmt: skip
            start = time.perf_counter()
            response = session.post(
                state["api_url"] + "/v1/transactions", data=json.dumps(body), headers=headers
            )
            elapsed = time.perf_counter() - start
            assert response.status_code == 201, response.text
            if i >= 20:
                timings.append(elapsed * 1000)
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    today = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        for label, rules in (
            ("0 rules", []),
            ("10 rules", ten_rules(today, capped=False)),
            ("10 rules, 1 capped", ten_rules(today, capped=True)),
        ):
            timings = measure(rules, args.requests, Path(tmp))
            cuts = statistics.quantiles(timings, n=10)
            print(
                f"{label:>20}: median {statistics.median(timings):6.1f} ms, p90 {cuts[8]:6.1f} ms "
                f"over {len(timings)} requests",
                flush=True,
            )


if __name__ == "__main__":
    main()
