"""The marketing loop on a local stack of its own, as the issue's "Done when" says it: an At risk
experiment with a 20 % holdout over two monthly runs at 1,000 customers (the journey's purchases
posted over HTTP), then `loyalty simulate` with silver moved from 250.00 to 300.00: fewer silver
customers, no item written, nothing on the marketing queue, and its page clean in headless Chromium.
The commands run as typed (tests/e2e/cleanenv.py) against the stack's state record."""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from loyalty.adapters.items import profile_to_item
from loyalty.adapters.models import CustomerItem, bind_models
from loyalty.domain.experiments import HOLDOUT, TREATMENT, group_of
from loyalty.events import ab_bucket
from loyalty.programme import parse_programme
from loyalty.settings import Settings, get_settings

from tests.e2e.browser import chromium_page
from tests.e2e.cleanenv import REPO, clean_env, run
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_reclassify_http import drain
from tests.helpers import purchase_body
from tests.unit.test_classify import FIXED, archetype_profiles, spaced
from tests.unit.test_scoring import build

pytestmark = [pytest.mark.e2e]

AT_RISK = 1_000
SILVER = 60
EXPERIMENT = {
    "name": "at-risk-reactivation",
    "segments": ["At risk"],
    "holdout_percent": 20,
    "from": "2026-02",
    "success_segments": ["Loyal", "Champions", "Potential loyalists", "Need attention"],
}


def programme_source(silver: str = "250.00") -> dict[str, Any]:
    source = copy.deepcopy(dict(FIXED.source))  # fixed thresholds: the archetypes land where expected
    source["experiments"] = [EXPERIMENT]
    for tier in source["tiers"]:
        if tier["name"] == "silver":
            tier["any_of"]["spend_12m"] = silver
    return source


PROGRAMME = parse_programme(programme_source())


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Its own stack (its summaries and queue are this test's alone) with the experiment programme."""
    root = tmp_path_factory.mktemp("marketing")
    programme = root / "programme.json"
    programme.write_text(json.dumps(programme_source()))
    state = root / "state"
    state.mkdir()
    with running_stack({"LOYALTY_PROGRAMME_PATH": str(programme), "LOYALTY_STATE_DIR": str(state)}) as stack:
        saved = dict(os.environ)
        os.environ.update({"AWS_ENDPOINT_URL": stack.moto_url, "LOYALTY_PROGRAMME_PATH": str(programme)})
        get_settings.cache_clear()
        bind_models(Settings.from_env())
        try:
            yield {"stack": stack, "root": root, "env": clean_env(root / "home", state)}
        finally:
            os.environ.clear()
            os.environ.update(saved)
            get_settings.cache_clear()
            bind_models(Settings.from_env())


def loyalty(loop: dict[str, Any], command: str, timeout: int = 600) -> str:
    done = run(f"loyalty {command}", loop["env"], REPO, timeout=timeout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def seed(stack: Stack) -> dict[str, str]:
    profiles = {f"mk-{cid}": replace(p, customer_id=f"mk-{cid}")
                for cid, p in archetype_profiles({"atrisk": AT_RISK}, PROGRAMME).items()}  # fmt: skip
    for index in range(SILVER):  # 270.00 in the 12 months: silver at 250.00, not at 300.00
        cid = f"mk-silver-{index}"
        profiles[cid] = replace(build(cid, spaced(10, 20, 3, 9000), PROGRAMME), version=1)
    with CustomerItem.batch_write() as batch:
        for profile in profiles.values():
            batch.save(profile_to_item(profile, profile.version))
    return {cid: ("silver" if "silver" in cid else "atrisk") for cid in profiles}


def versions() -> dict[str, int]:
    """Every customer item's version (the write path bumps it on every write)."""
    return {item.customer_id: int(item.version) for item in CustomerItem.scan()}


def run_bucket_documents(suffix: str) -> list[dict[str, Any]]:
    s3 = boto3.client("s3")
    bucket = Settings.from_env().run_bucket
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", []) if o["Key"].endswith(suffix)]  # fmt: skip
    return [json.loads(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in sorted(keys)]


def segment_changes(messages: list[dict[str, Any]], ours: dict[str, str]) -> list[dict[str, Any]]:
    kind = "CustomerSegmentChanged"
    return [m["detail"] for m in messages if m["detail-type"] == kind and m["detail"]["customer_id"] in ours]


def test_the_experiment_splits_tags_and_measures_then_simulate_changes_nothing(loop: dict[str, Any]) -> None:
    stack: Stack = loop["stack"]
    ours = seed(stack)
    experiment = PROGRAMME.experiments[0]
    at_risk = [c for c, kind in ours.items() if kind == "atrisk"]

    # Month 1: everyone of ours enters At risk; their events carry the group.
    loyalty(loop, "reclassify --as-of 2026-03-01 --target local --segments 3")
    first = segment_changes(drain(stack.queue_url, stack.moto_url), ours)
    entered = [d for d in first if d["after"]["segment"] == "At risk"]
    assert len(entered) == AT_RISK
    for detail in entered:
        group = group_of(experiment, ab_bucket(detail["customer_id"]))
        assert detail["experiment"] == {"name": experiment.name, "group": group}
    holdout_share = 100 * sum(d["experiment"]["group"] == HOLDOUT for d in entered) / len(entered)
    assert abs(holdout_share - 20) <= 5, holdout_share

    # The journey goes to the treatment group only; half of it comes back and buys (over HTTP).
    back = [c for c in at_risk if group_of(experiment, ab_bucket(c)) == TREATMENT and ab_bucket(c) % 2 == 0]

    def post(cid: str) -> int:
        body = purchase_body(f"{cid}-back", cid, "50.00", "2026-03-15T12:00:00+01:00")
        return stack.call("POST", "/v1/transactions", body)[0]

    with ThreadPoolExecutor(6) as pool:
        assert Counter(pool.map(post, back)) == {201: len(back)}
    drain(stack.queue_url, stack.moto_url)  # ingest's own events

    # Month 2: the cohort's moves by group, with the uplift and its interval.
    loyalty(loop, "reclassify --as-of 2026-04-01 --target local --segments 3")
    second = segment_changes(drain(stack.queue_url, stack.moto_url), ours)
    targeted = [d for d in second if d["customer_id"] in set(at_risk)]
    assert targeted
    assert all(
        d["experiment"]["group"] == group_of(experiment, ab_bucket(d["customer_id"])) for d in targeted
    )
    [summary] = [s for s in run_bucket_documents("summary.json") if s["period"] == "2026-03"]
    cohort = summary["experiments"][experiment.name]["At risk"]
    holdout = sum(group_of(experiment, ab_bucket(c)) == HOLDOUT for c in at_risk)
    assert (cohort["treatment"]["customers"], cohort["holdout"]["customers"]) == (AT_RISK - holdout, holdout)
    came_back = {s: n for s, n in cohort["treatment"]["moved_to"].items() if s in experiment.success_segments}
    assert sum(came_back.values()) == len(back)
    best = max(came_back, key=came_back.__getitem__)
    uplift = cohort["uplift"][best]
    assert 0 < float(uplift["ci95_low"]) < float(uplift["difference"]) < float(uplift["ci95_high"])
    assert summary["tier_segment"] and summary["revenue_12m"]

    # The what-if: silver at 300.00. Nothing written, nothing published, fewer silver customers.
    candidate = loop["root"] / "candidate.json"
    candidate.write_text(json.dumps(programme_source("300.00")))
    out = loop["root"] / "simulate-report"
    before = versions()
    assert drain(stack.queue_url, stack.moto_url) == []
    printed = loyalty(loop, f"simulate --programme {candidate} --as-of 2026-04-01 --target local --out {out}")
    assert versions() == before
    assert drain(stack.queue_url, stack.moto_url) == []
    [report] = run_bucket_documents("dry-run-report.json")
    assert report["dry_run"] is True and report["published"] is False
    assert report["before"]["tiers"]["silver"] == SILVER
    assert report["after"]["tiers"].get("silver", 0) < report["before"]["tiers"]["silver"]
    assert report["events"]["CustomerTierChanged"] == SILVER
    assert "Tiers: current (stored) and candidate" in printed and "silver" in printed
    assert_page_is_clean(out / "index.html")


def assert_page_is_clean(page: Path) -> None:
    problems: list[str] = []
    with chromium_page(problems) as tab:
        tab.goto(page.as_uri(), wait_until="load")
        images = tab.eval_on_selector_all("img", "imgs => imgs.map(i => [i.src, i.naturalWidth])")
        text = tab.inner_text("body")
    assert problems == []
    assert len(images) == 3 and all(width > 0 for _, width in images), images
    assert "silver" in text and "written or published by this simulation: nothing" in text
