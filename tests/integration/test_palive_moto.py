"""P(alive) in the monthly run on moto (DynamoDB, EventBridge, S3) through the Lambda handler: the
statistics pass's sample goes through S3, the fit travels in the cuts, every profile item gets its
figures (computed from the latest period's cuts the run keeps in S3: P(alive) is not stored), the
summary event carries the model, CustomerOverdue goes out once."""

from __future__ import annotations

import json

from loyalty.adapters.runstore import S3RunStore
from loyalty.domain.classify import period_scores
from loyalty.service.period_cuts import LatestCuts
from loyalty.settings import Settings
from loyalty_tools.reclassify_local import run_reclassification

from tests.integration.test_reclassify_moto import BUCKET, load, published, stored, world  # noqa: F401
from tests.unit.test_alive import population
from tests.unit.test_classify import AS_OF, FIXED


def test_every_item_gets_p_alive_and_the_overdue_customer_one_warning(
    world: Settings,  # noqa: F811
    published: list[dict],  # noqa: F811
) -> None:
    customers = population()
    load(customers)
    result = run_reclassification(AS_OF, total_segments=3, run_id="alive-1")
    profiles = stored()
    assert set(profiles) == set(customers)
    latest = LatestCuts(S3RunStore(BUCKET))()  # what the card reads
    assert latest is not None and latest.period == "2026-02" and latest.cuts.model == result["cuts"]["model"]
    alive = {c: period_scores(p, FIXED, latest.cuts, latest.window).liveness for c, p in profiles.items()}
    assert all(a is not None for a in alive.values())
    assert alive["silent"].p_alive < alive["recent"].p_alive  # type: ignore[union-attr]

    details = {e["DetailType"]: json.loads(e["Detail"]) for e in published}
    model = details["ReclassificationCompleted"]["model"]
    assert model == result["cuts"]["model"]
    assert all(model[k] > 0 for k in ("r", "alpha", "a", "b")) and model["sample"] == len(customers)
    overdue = [json.loads(e["Detail"]) for e in published if e["DetailType"] == "CustomerOverdue"]
    assert "overdue" in {d["customer_id"] for d in overdue}
    assert not {"recent", "silent"} & {d["customer_id"] for d in overdue}
    segment_facts = [
        json.loads(e["Detail"])["facts"] for e in published if e["DetailType"] == "CustomerSegmentChanged"
    ]
    assert all(f["p_alive"] is not None for f in segment_facts)

    # A rerun of the period (a new execution): the same sample and fit, nothing written or sent.
    published.clear()
    run_reclassification(AS_OF, total_segments=2, run_id="alive-2")
    assert published == []
    assert stored() == profiles
