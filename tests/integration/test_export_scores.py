"""The export's RFM columns come from the latest finished period's cuts (scores are not stored)."""

from __future__ import annotations

import csv
import io

from loyalty.adapters.runstore import S3RunStore
from loyalty.service.period_cuts import LatestCuts
from loyalty.settings import Settings
from loyalty_tools.export import write_segments
from loyalty_tools.reclassify_local import run_reclassification

from tests.integration.test_reclassify_moto import BUCKET, load, published, world  # noqa: F401
from tests.unit.test_classify import AS_OF, FIXED, archetype_profiles


def test_the_export_scores_customers_from_the_latest_cuts(world: Settings, published: list) -> None:  # noqa: F811
    load(archetype_profiles({"champion": 3, "loyal": 3, "lost": 2}))
    run_reclassification(AS_OF, total_segments=2, run_id="export-1")
    latest = LatestCuts(S3RunStore(BUCKET))()
    assert latest is not None and latest.period == "2026-02"
    out = io.StringIO()
    write_segments(out, AS_OF, FIXED, segments=2, latest=latest)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    scored = [r for r in rows if r["segment"] != "Lost"]
    assert scored and all(r["r"] in "12345" and r["r"] and r["f"] and r["m"] for r in scored), rows
    assert all(r["r"] == "" for r in rows if r["segment"] == "Lost")
    # Another period's export has no scores to show rather than wrong ones.
    other = io.StringIO()
    write_segments(other, AS_OF.replace(month=AS_OF.month + 1), FIXED, segments=2, latest=latest)
    assert all(r["r"] == "" for r in csv.DictReader(io.StringIO(other.getvalue())))
