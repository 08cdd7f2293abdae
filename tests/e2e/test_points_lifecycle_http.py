"""Issue 14's "Done when", literally, over HTTP against `loyalty local --programme FILE` with
earning.pending_days 30 and expiry {"policy": "rolling", "months": 12} (other keys as default): pending
points, lots that expire, redemptions nearest expiry first, back-office adjustments and the key that
reaches them, a return within the window, and `loyalty reclassify` booking the expired lot once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.cleanenv import REPO, a_free_port, clean_env, run, started
from tests.e2e.conftest import Stack
from tests.e2e.test_vouchers_till_http import drain
from tests.helpers import purchase_body

pytestmark = [pytest.mark.e2e]


def lifecycle_programme() -> dict:
    programme = json.loads((REPO / "programmes" / "default.json").read_text(encoding="utf-8"))
    programme["earning"]["pending_days"] = 30
    programme["expiry"] = {"policy": "rolling", "months": 12}
    return programme


def card(stack: Stack, customer: str) -> dict:
    status, body = stack.call("GET", f"/v1/customers/{customer}")
    assert status == 200, body
    return body


def test_the_points_lifecycle_of_issue_14(tmp_path: Path) -> None:
    path = tmp_path / "lifecycle.json"
    path.write_text(json.dumps(lifecycle_programme()), encoding="utf-8")
    env = clean_env(tmp_path / "home", tmp_path / "state", LOYALTY_LOCAL_PORT=a_free_port())
    with started(f"loyalty local --programme {path}", env):
        state = json.loads((tmp_path / "state" / "local.json").read_text(encoding="utf-8"))
        stack = Stack(
            state["api_url"], state["api_key"], state["moto_url"], state["queue_url"], requests.Session(),
            state["admin_api_key"],
        )  # fmt: skip
        customer = f"C-{uuid.uuid4().hex[:10]}"
        now = datetime.now(UTC).replace(microsecond=0)

        # 50.00 dated 450 days ago, 600.00 dated 40 days ago, 100.00 now
        bought = []
        for days, amount in ((450, "50.00"), (40, "600.00"), (0, "100.00")):
            body = purchase_body(f"T-{uuid.uuid4().hex[:10]}", customer, amount=amount)
            body["occurred_at"] = (now - timedelta(days=days)).isoformat().replace("+00:00", "Z")
            status, answer = stack.call("POST", "/v1/transactions", body)
            assert status == 201, answer
            bought.append((body, answer))
        assert [a["points_earned"] for _, a in bought] == [50, 600, 200]
        assert [a["points_pending"] for _, a in bought] == [0, 0, 200]
        assert bought[1][1]["tier_upgrade"] == {"from": "member", "to": "gold"}  # earned at member's x1
        shown = card(stack, customer)
        # the first lot has expired, the second is released, the third (gold's x2) is pending
        assert (shown["points_balance"], shown["points_pending"]) == (600, 200), shown
        zone = ZoneInfo(lifecycle_programme()["timezone"])
        today = now.astimezone(zone).date()
        assert shown["pending_release"] == [
            {"points": 200, "available_on": (today + timedelta(days=30)).isoformat()}
        ]
        assert shown["points_expiring"][0]["points"] == 600

        # a redemption of 500 points, then a second one
        first = stack.call(
            "POST", f"/v1/customers/{customer}/redemptions", {"redemption_id": "R-1", "points": 500}
        )
        assert first[0] == 201 and first[1]["points_balance"] == 100, first
        second = stack.call(
            "POST", f"/v1/customers/{customer}/redemptions", {"redemption_id": "R-2", "points": 500}
        )
        assert second[0] == 409 and second[1]["error"]["code"] == "insufficient_points", second

        # an adjustment of +50: the till's key 403, the admin key 201, the same again the same answer
        adjustment = {"adjustment_id": "A-1", "points": 50, "reason": "goodwill", "note": "late delivery"}
        till = stack.call("POST", f"/v1/customers/{customer}/adjustments", adjustment)
        assert till[0] == 403 and till[1]["error"]["code"] == "back_office_only", till
        admin = stack.call("POST", f"/v1/customers/{customer}/adjustments", adjustment, key="admin")
        assert admin[0] == 201 and admin[1]["points_balance"] == 150, admin
        again = stack.call("POST", f"/v1/customers/{customer}/adjustments", adjustment, key="admin")
        assert again == admin
        assert card(stack, customer)["points_balance"] == 150
        other = stack.call(
            "POST", f"/v1/customers/{customer}/adjustments", {**adjustment, "points": 60}, key="admin"
        )
        assert other[0] == 409 and other[1]["error"]["code"] == "adjustment_conflict", other
        too_much = stack.call(
            "POST",
            f"/v1/customers/{customer}/adjustments",
            {"adjustment_id": "A-2", "points": -151, "reason": "correction"},
            key="admin",
        )
        assert too_much[0] == 409 and too_much[1]["error"]["code"] == "insufficient_points", too_much

        # a full return of the 100.00 purchase: its pending points go, the balance stays
        ret = purchase_body(f"T-{uuid.uuid4().hex[:10]}", customer, amount="100.00")
        ret["original_transaction_id"] = bought[2][0]["transaction_id"]
        ret["occurred_at"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        status, answer = stack.call("POST", "/v1/transactions", ret)
        assert status == 201 and answer["points_earned"] == -200 and answer["points_pending"] == -200, answer
        shown = card(stack, customer)
        assert (shown["points_balance"], shown["points_pending"]) == (150, 0), shown

        # `loyalty adjust FILE.csv`: the same service, a rejects file, nothing twice on a rerun
        (tmp_path / "adjust.csv").write_text(
            "customer_id,points,reason,note\n"
            f"{customer},25,promotion,double points week\n"
            f"{customer},10,bribe,not a reason\n",
            encoding="utf-8",
        )
        for _ in range(2):
            adjusted = run("loyalty adjust adjust.csv", env, tmp_path)
            assert adjusted.returncode == 1, adjusted.stdout + adjusted.stderr
            assert "applied 1, rejected 1" in adjusted.stdout, adjusted.stdout
            assert card(stack, customer)["points_balance"] == 175
        rejects = (tmp_path / "adjust.rejects.csv").read_text(encoding="utf-8")
        assert "'bribe' is not one of" in rejects, rejects

        # the monthly run for the current period books the first lot, once
        drain(stack)
        current = date(today.year + today.month // 12, today.month % 12 + 1, 1)  # the day after it
        runs = []
        for _ in range(2):
            result = run(f"loyalty reclassify --as-of {current.isoformat()}", env, tmp_path)
            assert result.returncode == 0, result.stdout + result.stderr
            runs.append([e for e in drain(stack) if e["detail"].get("customer_id") == customer])
        expired = [e for e in runs[0] if e["detail-type"] == "PointsExpired"]
        assert len(expired) == 1, runs[0]
        lot_month = (now - timedelta(days=450)).astimezone(zone).strftime("%Y-%m")
        assert expired[0]["detail"]["points"] == 50
        assert [(lot["lot"], lot["points"]) for lot in expired[0]["detail"]["lots"]] == [(lot_month, 50)]
        assert [e for e in runs[1] if e["detail-type"] in ("PointsExpired", "PointsExpiring")] == []
        shown = card(stack, customer)
        assert (shown["points_balance"], shown["points_pending"]) == (175, 0), shown

        # the points ledger: every movement, the run's expiry once, a consistent balance_after chain
        status, ledger = stack.call("GET", f"/v1/customers/{customer}/points-history?limit=100")
        assert status == 200, ledger
        moves = [(e["kind"], e["points"]) for e in ledger["items"]]
        assert moves == [
            ("expired", -50), ("adjusted", 25), ("returned", -200), ("adjusted", 50), ("redeemed", -500),
            ("earned", 200), ("earned", 600), ("earned", 50),
        ], moves  # fmt: skip
        assert ledger["items"][0]["period"] == today.isoformat()[:7]
        oldest = ledger["items"][::-1]
        assert oldest[0]["balance_after"] == 50
        assert all(b["balance_after"] == a["balance_after"] + b["points"] for a, b in pairwise(oldest))
        assert ledger["items"][0]["balance_after"] == 175  # nothing pending, nothing unbooked: the card's
        assert oldest[2]["available_on"] == (today + timedelta(days=30)).isoformat()
