"""The latest period's cuts on the card: kept by the run, read once per container and TTL, refreshed at
once for a profile written by a later run, never an error."""

from __future__ import annotations

from loyalty.domain.scoring import Cuts
from loyalty.fakes import InMemoryRunStore
from loyalty.service.period_cuts import LATEST_KEY, LatestCuts, cuts_of, keep_latest

CUTS = Cuts("fixed", (30, 60, 120, 240), (2, 3, 5, 8), (5000, 15000, 40000, 90000)).to_dict()


class CountingRuns(InMemoryRunStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: str):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().get(key)


def test_the_latest_period_never_moves_back_and_each_period_keeps_its_own() -> None:
    runs = InMemoryRunStore()
    keep_latest(runs, "2026-03", CUTS)
    keep_latest(runs, "2026-02", CUTS)  # a rerun of an older period
    assert runs.get(LATEST_KEY)["period"] == "2026-03"  # type: ignore[index]
    assert cuts_of(runs, "2026-02").period == "2026-02"  # type: ignore[union-attr]
    assert cuts_of(runs, "2026-01") is None and cuts_of(None, "2026-02") is None


def test_read_once_per_ttl_again_for_a_later_profile_and_never_raising() -> None:
    runs, now = CountingRuns(), [0.0]
    latest = LatestCuts(runs, ttl_seconds=60, clock=lambda: now[0])
    assert latest() is None and latest() is None and runs.reads == 2  # nothing yet: read each time
    keep_latest(runs, "2026-02", CUTS)
    reads = runs.reads
    assert latest("2026-02").period == "2026-02"  # type: ignore[union-attr]
    assert latest("2026-02").period == "2026-02" and runs.reads == reads + 1  # type: ignore[union-attr]
    keep_latest(runs, "2026-03", CUTS)
    reads = runs.reads
    assert latest("2026-02").period == "2026-02" and runs.reads == reads  # type: ignore[union-attr]
    assert latest("2026-03").period == "2026-03" and runs.reads == reads + 1  # type: ignore[union-attr]
    now[0] = 61.0
    latest()
    assert runs.reads == reads + 2  # the TTL

    class Broken(InMemoryRunStore):
        def get(self, key: str):  # type: ignore[no-untyped-def]
            raise RuntimeError("AccessDenied")

    assert LatestCuts(Broken())() is None


def test_the_card_shows_the_scores_and_p_alive_of_the_last_run_computed_not_stored() -> None:
    from datetime import UTC, datetime

    from loyalty.domain.classify import period_scores
    from loyalty.service.period_cuts import PeriodCuts
    from loyalty.service.points import PointsService

    from tests.unit.test_classify import FIXED as PROGRAMME
    from tests.unit.test_classify import archetype_profiles, clean_run

    svc, result = clean_run(archetype_profiles({"champion": 3, "loyal": 3, "lost": 2}))
    store = svc.store.store  # type: ignore[attr-defined]
    latest = LatestCuts(svc.runs)
    cards = PointsService(store, None, PROGRAMME, lambda: datetime(2026, 3, 5, tzinfo=UTC), latest)  # type: ignore[arg-type]
    kept = PeriodCuts.from_dict(svc.runs.get(LATEST_KEY))  # type: ignore[arg-type]
    assert kept.cuts.to_dict() == result["cuts"]
    for customer, profile in store.profiles.items():
        card = cards.card(customer)
        expected = period_scores(profile, PROGRAMME, kept.cuts, kept.window)
        assert card["classified_period"] == "2026-02" and card["segment"] == profile.segment
        assert card["rfm"] == (expected.scores.to_dict() if expected.scores else None)
        alive = expected.liveness
        assert card["p_alive"] == (None if alive is None else str(alive.p_alive))
    assert cards.card("champion-0")["rfm"] is not None and cards.card("lost-0")["rfm"] is None
