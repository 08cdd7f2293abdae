"""The back-office console (/admin) in headless Chromium, as customer service and marketing use it,
against a local stack of its own: every action through the API routes, the group gate in the API,
French and English, axe-core (from node_modules, injected) finding no serious or critical violation,
and no console error on any page."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.browser import chromium_page
from tests.e2e.conftest import Stack, running_stack

pytestmark = [pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
TIMEOUT = 60_000  # ms: a loaded 2-core machine; the waits are for selectors, never sleeps
SHOTS = os.environ.get("LOYALTY_CONSOLE_SCREENSHOTS")  # a folder: the pages are saved there (docs/images)


@pytest.fixture(scope="module")
def console_stack() -> Iterator[Stack]:
    with running_stack() as stack:
        yield stack


def purchase(stack: Stack, customer: str, amount: str, when: str) -> None:
    body = {
        "transaction_id": f"T-{uuid.uuid4().hex[:10]}", "customer_id": customer, "store_id": "S1",
        "channel": "store", "occurred_at": when, "currency": "EUR", "amount": amount,
    }  # fmt: skip
    status, answer = stack.call("POST", "/v1/transactions", body)
    assert status == 201, answer


def axe_violations(page) -> list[str]:
    """Serious and critical violations on the page as it is (axe-core evaluated through the
    DevTools protocol, so the console's Content-Security-Policy stays as served)."""
    if not hasattr(page, "_axe_loaded"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    result = page.evaluate(
        "async () => (await axe.run(document)).violations.map(v => [v.impact, v.id, v.nodes.length])"
    )
    return [
        f"{impact} {rule} ({nodes} nodes)"
        for impact, rule, nodes in result
        if impact in ("serious", "critical")
    ]


def check_page(page, name: str, problems: list[str], expected: list[str] | None = None) -> None:
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    assert axe_violations(page) == [], name
    unexpected = [p for p in problems if not any(e in p for e in (expected or []))]
    assert unexpected == [], name
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"console-{name}.png"), full_page=True)
        # What the page fetched since the last check: files of the console and API answers, in bytes.
        weights = page.evaluate(
            """() => {
                const entries = performance.getEntriesByType('resource');
                const sum = (list) => list.reduce((a, e) => a + e.encodedBodySize, 0);
                const files = sum(entries.filter(e => e.name.includes('/admin/')));
                const api = sum(entries.filter(e => !e.name.includes('/admin/')));
                const each = entries.map(e => [new URL(e.name).pathname, e.encodedBodySize]);
                performance.clearResourceTimings();
                return {files, api, requests: entries.length, each};
            }"""
        )
        with open(Path(SHOTS) / "console-weights.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps({"page": name, **weights}) + "\n")


def sign_in(page, stack: Stack, group: str) -> None:
    if page.query_selector("#signin") is None:  # after "sign out" the form is already there
        page.goto(stack.api_url + "/admin")
    page.fill("#signin-key", stack.admin_api_key)
    page.select_option("#signin-group", group)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#card-search", timeout=TIMEOUT)


def find(page, customer: str) -> None:
    page.fill("#card-search", customer)
    page.click("#find")
    page.wait_for_selector("#card-h", timeout=TIMEOUT)
    for name in ("ledger", "transactions", "vouchers"):
        page.wait_for_selector(f"#{name}[data-loaded]", timeout=TIMEOUT)


def confirm(page, reason: str, typed: str | None = None) -> None:
    page.wait_for_selector("dialog#confirm[open]", timeout=TIMEOUT)
    page.fill("#confirm-reason", reason)
    if typed is not None:
        page.fill("#confirm-card", typed)
    page.click("#confirm-ok")


def test_support_adjusts_cancels_blocks_and_erases_marketing_cannot(console_stack: Stack) -> None:
    stack = console_stack
    customer = f"29{uuid.uuid4().int % 10**11:011d}"
    purchase(stack, customer, "640.00", "2026-11-20T10:00:00+01:00")
    status, voucher = stack.call(
        "POST", f"/v1/customers/{customer}/redemptions", {"redemption_id": "R1", "points": 500}, key="admin"
    )
    assert status == 201, voucher
    _, before = stack.call("GET", f"/v1/customers/{customer}")

    problems: list[str] = []
    with chromium_page(problems) as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT)
        page.goto(stack.api_url + "/admin")
        page.wait_for_selector("#signin")
        check_page(page, "sign-in", problems)

        # Support: +50 points with a reason; the card and the ledger show them.
        sign_in(page, stack, "support")
        find(page, customer)
        assert page.inner_text("#balance") == f"{before['points_balance']}"
        page.fill("#adjust-points", "50")
        page.select_option("#adjust-reason", "goodwill")
        page.click("#adjust button[type=submit]")
        confirm(page, "Till was offline on 20 Nov")
        page.wait_for_function(
            "want => document.querySelector('#balance')?.textContent === want",
            arg=str(before["points_balance"] + 50),
        )
        page.wait_for_selector("#ledger[data-loaded]")
        first = page.inner_text("#ledger tbody tr:first-child")
        assert "+50" in first and "adjusted" in first, first
        _, after = stack.call("GET", f"/v1/customers/{customer}/points-history")
        assert after["items"][0]["kind"] == "adjusted" and after["items"][0]["points"] == 50
        assert after["items"][0]["adjustment_id"].startswith("console-")
        check_page(page, "customer", problems)

        # Cancel the voucher: its points come back.
        page.click(f"#vouchers button[aria-label*='{voucher['voucher']['code']}']")
        confirm(page, "Customer asked to keep the points")
        page.wait_for_function(
            "want => document.querySelector('#balance')?.textContent === want",
            arg=str(before["points_balance"] + 50 + 500),
        )
        page.wait_for_selector("#vouchers[data-loaded]")
        assert "cancelled" in page.inner_text("#vouchers tbody")

        # Block: the API says blocked.
        page.click("#block")
        confirm(page, "Suspected card sharing")
        page.wait_for_selector("#unblock")
        assert stack.call("GET", f"/v1/customers/{customer}")[1]["status"] == "blocked"

        # French, switched in the page: every label of the card in French.
        page.select_option("#lang", "fr")
        page.wait_for_selector("#card-h")
        assert page.inner_text("#card dl").startswith("Solde de points")
        assert page.inner_text("#card-status") == "bloquée"
        assert page.get_attribute("html", "lang") == "fr"
        page.select_option("#lang", "en")
        for name in ("ledger", "transactions", "vouchers"):  # the page re-read them: let them land
            page.wait_for_selector(f"#{name}[data-loaded]")

        # Marketing: no action on the page, and the API refuses the adjustment whatever the page shows.
        page.click("#sign-out")
        sign_in(page, stack, "marketing")
        find(page, customer)
        assert page.query_selector("#actions") is None and page.query_selector("#adjust") is None
        refused = page.evaluate(
            """async (id) => {
                const s = JSON.parse(sessionStorage.getItem('loyalty-console-session'));
                const r = await fetch('/v1/customers/' + id + '/adjustments', {method: 'POST',
                  headers: {authorization: 'Bearer ' + s.token, 'content-type': 'application/json'},
                  body: JSON.stringify({adjustment_id: 'mk-1', points: 50, reason: 'goodwill'})});
                return [r.status, (await r.json()).error.code];
            }""",
            customer,
        )
        assert refused == [403, "group_not_allowed"]
        check_page(page, "customer-marketing", problems, expected=["status of 403"])

        # Support erases, typing the card number: the card answers 404 afterwards.
        page.click("#sign-out")
        sign_in(page, stack, "support")
        find(page, customer)
        page.click("#erase")
        confirm(
            page,
            "GDPR request by e-mail",
            typed=customer[:-1] + "0" if customer[-1] != "0" else customer[:-1] + "1",
        )
        page.wait_for_selector("#confirm-error:has-text('does not match')")
        page.fill("#confirm-card", customer)
        page.click("#confirm-ok")
        page.wait_for_selector("#card-missing")
        assert stack.call("GET", f"/v1/customers/{customer}")[0] == 404
    assert [p for p in problems if "status of 403" not in p and "status of 404" not in p] == []
    # The only failed loads: the deliberate 403 and the erased card's 404.
    assert len(problems) <= 2, problems


def run_months(stack: Stack) -> None:
    """Three monthly runs over a few customers, through the monthly run's own code path."""
    from loyalty.adapters.models import bind_models
    from loyalty.settings import Settings, get_settings
    from loyalty_tools.reclassify_local import run_reclassification

    for n in range(24):
        for month in range(8, 8 + 1 + n % 4):
            purchase(stack, f"RUN{n:03d}", f"{20 + 15 * n}.00", f"2026-{month:02d}-1{n % 9}T10:00:00+02:00")
    saved = dict(os.environ)
    os.environ["AWS_ENDPOINT_URL"] = stack.moto_url
    get_settings.cache_clear()
    bind_models(Settings.from_env())
    try:
        for as_of in (date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)):
            run_reclassification(as_of, total_segments=2)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        bind_models(Settings.from_env())


def test_marketing_reads_the_runs_and_checks_candidate_programmes(console_stack: Stack, tmp_path) -> None:
    stack = console_stack
    run_months(stack)
    programme = json.loads((REPO / "programmes" / "default.json").read_text())
    bad = {**programme, "tiers": [*programme["tiers"][:1], {**programme["tiers"][1], "multiplier": "two"}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    silver = {**programme["tiers"][1], "any_of": {"spend_12m": "100.00"}}
    good = {**programme, "tiers": [programme["tiers"][0], silver, *programme["tiers"][2:]]}
    (tmp_path / "good.json").write_text(json.dumps(good))

    problems: list[str] = []
    with chromium_page(problems) as page:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT)
        sign_in(page, stack, "marketing")

        page.click("nav a[href='#/runs']")
        page.wait_for_selector("#runs[data-loaded]")
        segment_bars = page.eval_on_selector_all(
            "#segments-chart svg text", "ts => ts.map(t => t.textContent)"
        )
        assert segment_bars[:3] == ["2026-09", "2026-10", "2026-11"], segment_bars
        assert page.eval_on_selector_all("#segments-chart rect", "r => r.length") >= 3
        cells = page.eval_on_selector_all("#migration-heatmap rect title", "ts => ts.map(t => t.textContent)")
        assert cells and any(":" in c and not c.endswith(": 0") for c in cells), cells
        assert page.query_selector("#revenue-chart rect") is not None
        check_page(page, "runs", problems)

        page.click("nav a[href='#/programme']")
        page.wait_for_selector("#programme-words[data-loaded]")
        words = page.inner_text("#programme-words")
        assert "silver: ×2, from 250.00 EUR spent in 12 months" in words
        assert "Champions" in words and "500 points make a 5.00 EUR voucher" in words
        stability = "Stability 1: a customer keeps their segment while their R, F or M score is within 1 step"
        assert stability in words

        page.set_input_files("#candidate-file", str(tmp_path / "bad.json"))
        page.click("#candidate-check")
        error = page.inner_text("#candidate-error")
        assert error == "programme.tiers[1].multiplier: must be a whole number (got 'two')"

        page.set_input_files("#candidate-file", str(tmp_path / "good.json"))
        page.click("#candidate-check")
        page.wait_for_selector("#candidate-valid")
        changed = page.inner_text("#candidate-changes")
        assert changed == 'tiers[1].any_of.spend_12m: "250.00" → "100.00"', changed
        # The what-if run over the base: silver from 100 EUR moves members up, segments stay.
        page.wait_for_selector("#whatif[data-loaded]", timeout=180_000)
        assert "Nothing was written or published." in page.inner_text("#whatif")
        tiers = {
            row[0]: (int(row[1].replace(",", "")), int(row[3].replace(",", "")))
            for row in page.eval_on_selector_all(
                "#whatif-tiers tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
            )
        }
        assert tiers["member"][1] < tiers["member"][0] and tiers["silver"][1] > tiers["silver"][0], tiers
        assert sum(b for b, _ in tiers.values()) == sum(a for _, a in tiers.values()) >= 24
        assert page.query_selector("#whatif-migration rect") is not None
        check_page(page, "programme", problems, expected=["status of 422"])

        page.select_option("#lang", "fr")
        page.wait_for_selector("#programme-words[data-loaded]")
        assert "argent : ×2, à partir de" not in page.inner_text(
            "#programme-words"
        )  # names stay the programme's
        assert "silver : ×2, à partir de 250.00 EUR dépensés sur 12 mois" in page.inner_text(
            "#programme-words"
        )
        assert page.inner_text("#programme-stability").startswith("Stabilité 1 : un client garde son segment")
        check_page(page, "programme-fr", problems, expected=["status of 422"])
    assert len([p for p in problems if "status of 422" in p]) <= 1, problems
