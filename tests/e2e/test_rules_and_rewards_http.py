"""Issue 15's "Done when", over HTTP against `loyalty local --programme FILE`: a programme whose rules
give `beauty` x2 between yesterday and tomorrow, whose `silver` tier has the reward
{"percent": 10, "valid_days": 60}, pending_days 0 and vouchers.season_months holding the current month.
Earning rules with points_breakdown and a line return, the tier reward once per month entered,
referrals, and
`loyalty reclassify --as-of` today converting a 1,200-point balance into 2 vouchers, once.
Referrals: the referee's first purchase with the code gives both their points; a second referee over
max_per_referrer is recorded with referral.status refused."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.cleanenv import REPO, a_free_port, clean_env, run, started
from tests.e2e.conftest import Stack
from tests.e2e.test_vouchers_till_http import drain
from tests.helpers import purchase_body

pytestmark = [pytest.mark.e2e]

ZONE = ZoneInfo("Europe/Paris")


def rules_programme(today: datetime) -> dict:
    programme = json.loads((REPO / "programmes" / "default.json").read_text(encoding="utf-8"))
    day = today.astimezone(ZONE).date()
    programme["earning"]["pending_days"] = 0
    programme["earning"]["rules"] = [
        {
            "name": "beauty week",
            "when": {
                "categories": ["beauty"],
                "from": (day - timedelta(days=1)).isoformat(),
                "to": (day + timedelta(days=1)).isoformat(),
            },
            "multiplier": 2,
        }
    ]
    programme["tiers"][1]["reward"] = {"percent": 10, "valid_days": 60}
    programme["vouchers"]["season_months"] = [day.month]
    programme["referrals"] = {
        "referrer_points": 200, "referee_points": 100, "min_amount": "20.00", "max_per_referrer": 1,
    }  # fmt: skip
    return programme


def vouchers(stack: Stack, customer: str) -> list[dict]:
    status, body = stack.call("GET", f"/v1/customers/{customer}/vouchers")
    assert status == 200, body
    return body["items"]


def buy(stack: Stack, body: dict) -> dict:
    status, answer = stack.call("POST", "/v1/transactions", body)
    assert status == 201, answer
    return answer


def test_rules_and_rewards_of_issue_15(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules_programme(now)), encoding="utf-8")
    env = clean_env(tmp_path / "home", tmp_path / "state", LOYALTY_LOCAL_PORT=a_free_port())
    with started(f"loyalty local --programme {path}", env):
        state = json.loads((tmp_path / "state" / "local.json").read_text(encoding="utf-8"))
        stack = Stack(
            state["api_url"], state["api_key"], state["moto_url"], state["queue_url"], requests.Session(),
            state["admin_api_key"],
        )  # fmt: skip
        run_id = uuid.uuid4().hex[:8]
        at = now.isoformat().replace("+00:00", "Z")

        # a 100.00 purchase, 50.00 beauty and 50.00 shoes: 150 points, base 100 + the rule's 50
        shopper = f"C-{run_id}-A"
        lines = [
            {"sku": "LIP-1", "category": "beauty", "quantity": 1, "unit_price": "50.00"},
            {"sku": "SHOE-1", "category": "shoes", "quantity": 1, "unit_price": "50.00"},
        ]
        bought = buy(stack, purchase_body(f"T-{run_id}-1", shopper, "100.00", at, lines=lines))
        assert bought["points_earned"] == 150, bought
        assert bought["points_breakdown"] == [
            {"rule": "base", "points": 100}, {"rule": "beauty week", "points": 50},
        ]  # fmt: skip
        status, history = stack.call("GET", f"/v1/customers/{shopper}/transactions")
        assert status == 200 and history["items"][0]["transaction_id"] == f"T-{run_id}-1", history

        # the return of the 50.00 beauty line takes back 100 points (its base 50 and its bonus 50)
        back = buy(
            stack,
            purchase_body(
                f"T-{run_id}-1R",
                shopper,
                "50.00",
                at,
                lines=lines[:1],
                original_transaction_id=f"T-{run_id}-1",
            ),
        )
        assert back["points_earned"] == -100, back
        assert back["points_breakdown"] == [
            {"rule": "base", "points": -50}, {"rule": "beauty week", "points": -50},
        ]  # fmt: skip
        status, shown = stack.call("GET", f"/v1/customers/{shopper}")
        assert status == 200 and shown["points_balance"] == 50, shown

        # the purchase that crosses silver issues the percent voucher; its retry does not
        climber = f"C-{run_id}-B"
        earlier = (now - timedelta(days=40)).isoformat().replace("+00:00", "Z")  # another programme month
        crossing = purchase_body(f"T-{run_id}-2", climber, "300.00", earlier)
        first = buy(stack, crossing)
        assert first["tier_upgrade"] == {"from": "member", "to": "silver"}, first
        assert buy(stack, crossing) == first
        (reward,) = vouchers(stack, climber)
        assert (reward["kind"], reward["percent"], reward["cause"]) == ("percent", 10, "tier_reward"), reward
        assert reward["status"] == "issued" and reward["code"] == first["tier_reward"]["code"]
        issue_day = datetime.fromisoformat(reward["issued_at"]).astimezone(ZONE).date()
        assert reward["expires_on"] == (issue_day + timedelta(days=60)).isoformat()

        # a downgrade (the return undoes the upgrade) and a re-upgrade in another period: a new voucher
        undone = buy(
            stack,
            purchase_body(f"T-{run_id}-2R", climber, "300.00", at, original_transaction_id=f"T-{run_id}-2"),
        )
        assert undone["tier_downgrade"] == {"from": "silver", "to": "member"}, undone
        again = buy(stack, purchase_body(f"T-{run_id}-3", climber, "300.00", at))
        assert again["tier_upgrade"] == {"from": "member", "to": "silver"} and "tier_reward" in again, again
        listed = vouchers(stack, climber)
        assert len(listed) == 2 and {v["cause"] for v in listed} == {"tier_reward"}
        assert len({v["code"] for v in listed}) == 2
        events = [e for e in drain(stack) if e["detail"].get("customer_id") == climber]
        issued = [e["detail"] for e in events if e["detail-type"] == "VoucherIssued"]
        assert {(d["cause"], d["kind"], d["percent"], d["voucher_id"]) for d in issued} == {
            ("tier_reward", "percent", 10, v["code"]) for v in listed
        }, issued

        # a referral: the referee's first purchase with the code gives both their points
        codes = [stack.call("POST", f"/v1/customers/{shopper}/referral-code") for _ in range(2)]
        assert codes[0] == codes[1] and codes[0][0] == 200, codes
        code = codes[0][1]["referral_code"]
        referee = f"C-{run_id}-D"
        welcomed = buy(stack, purchase_body(f"T-{run_id}-5", referee, "30.00", at, referral_code=code))
        assert welcomed["referral"] == {
            "status": "rewarded", "referrer_id": shopper, "referee_points": 100, "referrer_points": 200,
        }, welcomed  # fmt: skip
        assert welcomed["points_earned"] == 130 and welcomed["points_balance"] == 130
        assert stack.call("GET", f"/v1/customers/{shopper}")[1]["points_balance"] == 250
        rewarded = [e["detail"] for e in drain(stack) if e["detail-type"] == "ReferralRewarded"]
        assert [(d["customer_id"], d["referee_id"]) for d in rewarded] == [(shopper, referee)], rewarded
        # a second referee, over max_per_referrer: recorded, refused, the referrer unchanged
        late = f"C-{run_id}-E"
        refused = buy(stack, purchase_body(f"T-{run_id}-6", late, "30.00", at, referral_code=code))
        assert refused["referral"] == {"status": "refused", "reason": "referrer_limit_reached"}, refused
        assert refused["points_earned"] == 30
        status, recorded = stack.call("GET", f"/v1/customers/{late}/transactions")
        assert status == 200 and [t["transaction_id"] for t in recorded["items"]] == [f"T-{run_id}-6"]
        assert stack.call("GET", f"/v1/customers/{shopper}")[1]["points_balance"] == 250

        # the season: a 1,200-point balance becomes 2 vouchers (1,000 points), 200 left; a rerun: nothing
        saver = f"C-{run_id}-C"
        assert buy(stack, purchase_body(f"T-{run_id}-4", saver, "1200.00", at))["points_earned"] == 1200
        today = now.astimezone(ZONE).date().isoformat()
        for attempt in range(2):
            result = run(f"loyalty reclassify --as-of {today}", env, tmp_path)
            assert result.returncode == 0, result.stdout + result.stderr
            status, card = stack.call("GET", f"/v1/customers/{saver}")
            assert status == 200 and card["points_balance"] == 200, (attempt, card)
            season = vouchers(stack, saver)
            assert [(v["points"], v["value"], v["cause"]) for v in season] == [(500, "5.00", "season")] * 2
            published = [
                e
                for e in drain(stack)
                if e["detail-type"] == "VoucherIssued" and e["detail"]["customer_id"] == saver
            ]
            if attempt == 0:
                assert sorted(e["detail"]["voucher_id"] for e in published) == sorted(
                    v["code"] for v in season
                )
                assert {e["detail"]["cause"] for e in published} == {"season"}
            else:
                assert published == [], published
        status, ledger = stack.call("GET", f"/v1/customers/{saver}/points-history")
        assert [(e["kind"], e["points"]) for e in ledger["items"]] == [("redeemed", -1000), ("earned", 1200)]
        # the customers under 500 points keep them
        assert stack.call("GET", f"/v1/customers/{climber}")[1]["points_balance"] == 300
