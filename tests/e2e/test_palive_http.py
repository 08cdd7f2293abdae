"""P(alive) after a monthly run on the local stack, over HTTP: the demo's simulated customers and three
of ours are posted through POST /v1/transactions, the run goes through the schedule's code path, and
the cards (GET /v1/customers/{id}) and the marketing queue are read as the till and a CRM read them."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from loyalty_tools.reclassify_local import run_reclassification
from loyalty_tools.simulate import simulate

from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_reclassify_http import drain, on_local_stack  # noqa: F401
from tests.helpers import purchase_body
from tests.unit.test_alive import histories

# Period 2026-03 (no other e2e test runs it: its ReclassificationCompleted is this test's).
AS_OF = date(2026, 4, 1)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """A stack of its own: the card scores every customer with the latest finished period's cuts
    (service/period_cuts.py), and on the shared stack another test's later period would be the latest."""
    with tempfile.TemporaryDirectory() as state, running_stack({"LOYALTY_STATE_DIR": state}) as own:
        yield own


def test_after_a_monthly_run_every_card_has_p_alive_and_the_overdue_customer_was_warned(
    stack,
    on_local_stack,  # noqa: F811
) -> None:
    run = uuid.uuid4().hex[:8]
    simulation = simulate(18, 120, 6, "2025-10", "Europe/Paris", "EUR")
    plans: dict[str, list[dict]] = {}
    for month in simulation.by_month:
        for customer, bodies in month.items():
            for body in bodies:
                body = {
                    **body,
                    "customer_id": f"pa-{run}-{customer}",
                    "transaction_id": f"pa-{run}-{body['transaction_id']}",
                }
                if body.get("original_transaction_id"):
                    body["original_transaction_id"] = f"pa-{run}-{body['original_transaction_id']}"
                plans.setdefault(body["customer_id"], []).append(body)
    ours = {f"pa-{run}-{name}": days for name, days in histories(AS_OF).items()}
    for customer, days in ours.items():
        plans[customer] = [
            purchase_body(
                f"{customer}-{i}",
                customer,
                "30.00",
                datetime.combine(day, datetime.min.time().replace(hour=12), PARIS).isoformat(),
            )
            for i, (day, _, _) in enumerate(sorted(days))
        ]

    def post_all(bodies: list[dict]) -> list[int]:
        return [stack.call("POST", "/v1/transactions", body)[0] for body in bodies]

    with ThreadPoolExecutor(6) as pool:
        statuses = [s for result in pool.map(post_all, plans.values()) for s in result]
    assert set(statuses) <= {201}, [s for s in statuses if s != 201][:5]
    drain(stack.queue_url, stack.moto_url)  # what other tests and ingest published before

    result = run_reclassification(AS_OF, total_segments=2, run_id=f"palive-{run}")

    cards = {}
    for customer in plans:
        status, card = stack.call("GET", f"/v1/customers/{customer}")
        assert status == 200
        cards[customer] = card
    active = [c for c in cards.values() if c["last_purchase_at"] and c["segment"] != "Lost"]
    assert len(active) > 100
    missing = [c for c in active if c.get("p_alive") is None or c.get("expected_purchases_90d") is None]
    assert missing == [], missing[:2]
    assert all(0 <= Decimal(c["p_alive"]) <= 1 for c in active)  # 3 places: 0.000 is below 0.0005
    silent, recent, overdue = (cards[f"pa-{run}-{n}"] for n in ("silent", "recent", "overdue"))
    assert Decimal(silent["p_alive"]) < Decimal(recent["p_alive"])
    assert silent["segment"] in ("Dormant", "Dormant, worth winning back")

    messages = drain(stack.queue_url, stack.moto_url)
    summaries = [m["detail"] for m in messages if m["detail-type"] == "ReclassificationCompleted"]
    assert [s["period"] for s in summaries] == ["2026-03"]
    model = summaries[0]["model"]
    assert all(model[k] > 0 for k in ("r", "alpha", "a", "b")) and model["log_likelihood"] < 0
    assert model == result["summary"]["model"]

    warned = {
        m["detail"]["customer_id"]: m["detail"] for m in messages if m["detail-type"] == "CustomerOverdue"
    }
    assert (
        f"pa-{run}-overdue" in warned
        and f"pa-{run}-recent" not in warned
        and f"pa-{run}-silent" not in warned
    )
    last = AS_OF - timedelta(days=33)
    assert warned[f"pa-{run}-overdue"]["expected_return_date"] == (last + timedelta(days=20)).isoformat()
    assert warned[f"pa-{run}-overdue"]["p_alive"] == overdue["p_alive"]
    assert overdue["segment"] not in ("Dormant", "Dormant, worth winning back")
