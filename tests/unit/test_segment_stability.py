"""Segment stability (`segments.stability`, hysteresis): a customer near a boundary keeps their segment
while it is within the given score steps on one of R, F, M; every non-score condition moves them at once."""

from __future__ import annotations

import copy
import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loyalty.domain.classify import classify
from loyalty.domain.scoring import Cuts, RunWindow, Scores
from loyalty.domain.segments import match_segment, nearby_scores
from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
from loyalty.programme import Programme, ProgrammeError, parse_programme
from loyalty.service.reclassify import ReclassifyService, run_steps

from tests.unit.test_classify import cuts
from tests.unit.test_programme import base
from tests.unit.test_scoring import PROG, build

NAMES = [rule.name for rule in PROG.segments] + [PROG.fallback_segment]
WINDOW = RunWindow.as_of(date(2026, 3, 1))


def at(
    r: int,
    f: int,
    m: int,
    current: str | None,
    stability: int,
    dormant: bool = False,
    programme: Programme = PROG,
) -> str:
    return match_segment(
        programme.segments,
        programme.fallback_segment,
        Scores(r, f, m),
        dormant,
        current=current,
        stability=stability,
    )


# -- examples ---------------------------------------------------------------------------------------


def test_a_champion_whose_recency_drops_to_3_stays_a_champion_with_one_step() -> None:
    assert at(3, 5, 5, None, 0) == "Loyal"  # the strict map
    assert at(3, 5, 5, "Champions", 1) == "Champions"
    assert at(3, 5, 5, "Champions", 0) == "Loyal"


def test_a_loyal_customer_who_became_dormant_moves_to_dormant_at_once() -> None:
    assert at(3, 5, 1, "Loyal", 0, dormant=False) == "Loyal"
    assert at(3, 5, 1, "Loyal", 1, dormant=True) == "Dormant"
    assert at(3, 5, 1, "Loyal", 2, dormant=True) == "Dormant"


def test_the_first_classification_is_strict() -> None:
    assert at(3, 5, 5, None, 1) == "Loyal"
    assert at(3, 5, 5, None, 2) == "Loyal"


def test_a_segment_the_programme_no_longer_has_is_left_strictly() -> None:
    assert at(3, 5, 5, "Platinum", 1) == "Loyal"
    assert at(3, 5, 5, "Platinum", 2) == "Loyal"


def test_two_steps_reach_further_than_one() -> None:
    assert at(2, 5, 5, "Champions", 0) == "At risk"
    assert at(2, 5, 5, "Champions", 1) == "At risk"  # R 3 is Loyal, not Champions
    assert at(2, 5, 5, "Champions", 2) == "Champions"  # R 4 is
    assert at(1, 5, 5, "Champions", 2) == "Can't lose them"  # R 3 is Loyal: 3 steps from R 4


def test_the_steps_are_on_one_score_only() -> None:
    # Champions is 1 step away on R and 1 on F (4, 4, 5): two scores, not kept.
    assert at(3, 3, 5, "Champions", 1) == "Need attention"
    assert at(3, 3, 5, "Loyal", 1) == "Loyal"  # F 4 is Loyal


def test_an_unscored_customer_is_lost_whatever_the_stability() -> None:
    for current in ("Champions", "Loyal", "Hibernating"):
        strict = match_segment(PROG.segments, PROG.fallback_segment, None, False)
        assert strict == "Lost"
        kept = match_segment(PROG.segments, PROG.fallback_segment, None, False, current=current, stability=2)
        assert kept == "Lost"


def test_the_fallback_is_a_segment_the_programme_has() -> None:
    programme = parse_programme(
        {"tiers": [{"name": "m"}], "segments": {"rules": [{"name": "Top", "when": {"r": [5, 5]}}]}}
    )
    assert at(5, 1, 1, "Others", 0, programme=programme) == "Top"
    assert at(5, 1, 1, "Others", 1, programme=programme) == "Others"  # R 4 gives the fallback


def test_nearby_scores_stay_in_1_to_5_and_nearest_come_first() -> None:
    assert nearby_scores(Scores(1, 5, 3), 1) == [
        Scores(1, 4, 3),
        Scores(1, 5, 2),
        Scores(2, 5, 3),
        Scores(1, 5, 4),
    ]
    assert len(nearby_scores(Scores(3, 3, 3), 2)) == 12
    assert nearby_scores(Scores(3, 3, 3), 0) == []


# -- the programme key ------------------------------------------------------------------------------


def test_the_default_programme_keeps_one_step_and_an_old_file_none() -> None:
    assert PROG.segment_stability == 1
    old = copy.deepcopy(base())
    del old["segments"]["stability"]
    assert parse_programme(old).segment_stability == 0
    assert parse_programme({"tiers": [{"name": "m"}]}).segment_stability == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [(3, "must be at most 2"), (-1, "must be at least 0"), (1.5, "must be a whole number"),
     ("1", "must be a whole number"), (True, "must be a whole number")],
)  # fmt: skip
def test_a_bad_stability_is_refused_naming_the_key(value: object, message: str) -> None:
    data = copy.deepcopy(base())
    data["segments"]["stability"] = value
    with pytest.raises(ProgrammeError) as err:
        parse_programme(data)
    assert err.value.key == "segments.stability"
    assert str(err.value).startswith(f"programme.segments.stability: {message}")


# -- through the monthly classification -------------------------------------------------------------


# A weekly shopper whose last purchase (2025-12-29) is 62 days before the reference day: R 3 with
# these cuts, F 5 and M 5.
WEEKLY = [(date(2025, 3, 3) + timedelta(days=7 * week), 9_000) for week in range(44)]
CUTS = Cuts("quintiles", (300, 200, 50, 10), (2, 4, 8, 16), (1_000, 10_000, 50_000, 100_000), 30)


def _strict(programme: Programme) -> Programme:
    return replace(programme, segment_stability=0)


def test_classify_keeps_the_stored_segment_and_announces_no_change() -> None:
    """A weekly shopper the strict map calls Loyal at R 3 keeps Champions with one step: no write of the
    segment, no CustomerSegmentChanged; with stability 0 the same profile moves, with the event."""
    profile = build("S", WEEKLY)
    strict = classify(profile, _strict(PROG), CUTS, WINDOW)
    assert strict is not None and strict.classification.scores == Scores(3, 5, 5)
    assert strict.after.segment == "Loyal"
    champion = replace(strict.after, segment="Champions")
    kept = classify(champion, PROG, CUTS, WINDOW)
    assert kept is not None and kept.after.segment == "Champions"
    assert "CustomerSegmentChanged" not in [e.detail_type for e in kept.events]
    moved = classify(champion, _strict(PROG), CUTS, WINDOW)
    assert moved is not None and moved.after.segment == "Loyal"
    assert [e.detail_type for e in moved.events].count("CustomerSegmentChanged") == 1


def test_experiments_assign_by_the_segment_after_stability() -> None:
    data = copy.deepcopy(base())
    data["experiments"] = [
        {
            "name": "loyal-push",
            "segments": ["Loyal"],
            "holdout_percent": 50,
            "from": "2026-01",
            "success_segments": ["Champions"],
        }
    ]
    programme = parse_programme(data)
    champion = replace(build("S", WEEKLY, programme), segment="Champions", classified_period="2026-01")
    kept = classify(champion, programme, CUTS, WINDOW)
    assert kept is not None and kept.after.segment == "Champions"
    assert kept.classification.experiment is None  # Champions before and after: not targeted
    moved = classify(champion, _strict(programme), CUTS, WINDOW)
    assert moved is not None and moved.classification.experiment is not None


# -- properties -------------------------------------------------------------------------------------

conditions = st.tuples(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 5),
    st.booleans(),
    st.one_of(st.none(), st.decimals(0, 1, places=3)),
    st.one_of(st.none(), st.booleans()),
    st.booleans(),
)
currents = st.one_of(st.none(), st.sampled_from([*NAMES, "Platinum"]))


def _match(case: tuple, current: str | None, stability: int) -> str:
    r, f, m, dormant, p_alive, top, active = case
    return match_segment(
        PROG.segments,
        PROG.fallback_segment,
        Scores(r, f, m),
        dormant,
        p_alive,
        top,
        active,
        current=current,
        stability=stability,
    )


@given(conditions, currents)
def test_without_stability_the_segment_is_the_strict_match(case: tuple, current: str | None) -> None:
    assert _match(case, current, 0) == _match(case, None, 0)


@given(conditions, currents, st.integers(0, 2))
def test_the_segment_is_the_strict_one_or_the_current_one(
    case: tuple, current: str | None, steps: int
) -> None:
    assert _match(case, current, steps) in (_match(case, None, 0), current)


@given(conditions, currents, st.integers(0, 2))
def test_the_current_segment_is_kept_exactly_when_one_score_within_the_steps_gives_it(
    case: tuple, current: str | None, steps: int
) -> None:
    """Against a brute force over the 125 score triples (independent of nearby_scores)."""
    r, f, m, *rest = case
    strict = _match(case, None, 0)
    reachable = {
        _match((*near, *rest), None, 0)
        for near in itertools.product(range(1, 6), repeat=3)
        if sum(a != b for a, b in zip(near, (r, f, m), strict=True)) <= 1
        and max(abs(a - b) for a, b in zip(near, (r, f, m), strict=True)) <= steps
    }
    expected = current if current in NAMES and current in reachable else strict
    assert _match(case, current, steps) == expected


@given(conditions, currents, st.integers(0, 2))
def test_deciding_again_from_the_decided_segment_gives_the_same(
    case: tuple, current: str | None, steps: int
) -> None:
    first = _match(case, current, steps)
    assert _match(case, first, steps) == first


purchase = st.tuples(
    st.dates(min_value=date(2023, 6, 1), max_value=date(2026, 2, 27)),
    st.integers(1, 200_000),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(purchase, min_size=1, max_size=20), cuts, st.sampled_from(NAMES), st.integers(0, 2))
def test_classifying_a_profile_with_a_stored_segment_twice_changes_nothing(
    purchases: list[tuple], cut: Cuts, stored: str, steps: int
) -> None:
    programme = replace(PROG, segment_stability=steps)
    profile = replace(build("P", purchases), segment=stored, classified_period="2026-01")
    first = classify(profile, programme, cut, WINDOW)
    assert first is not None
    again = classify(first.after, programme, cut, WINDOW)
    assert again is not None and not again.changed and again.events == ()
    assert again.after.segment == first.after.segment


def test_a_dry_run_classifies_with_the_candidates_stability() -> None:
    """The what-if runs the candidate's `segments.stability`: on the bench's population, the next
    month under a strict candidate announces more segment moves than under the current programme,
    whose dry run announces exactly what its real run then does."""
    from bench.reclassify_bench import templates

    store = InMemoryStore()
    store.profiles.update({p.customer_id: replace(p, version=1) for p in templates(PROG)})
    publisher, runs = RecordingPublisher(), InMemoryRunStore()
    svc = ReclassifyService(InMemoryCustomerScan(store, page_size=50), publisher, PROG, runs)
    run_steps(svc, date(2026, 3, 1), "first", total_segments=2)
    strict_source = {**PROG.source, "segments": {**PROG.source["segments"], "stability": 0}}

    def moves(run_id: str, **dry: object) -> int:
        summary = run_steps(svc, date(2026, 4, 1), run_id, total_segments=2, **dry)["summary"]
        return summary["events"].get("CustomerSegmentChanged", 0)

    strict = moves("strict", dry_run=True, programme=strict_source)
    current = moves("current", dry_run=True)
    assert 0 < current < strict
    assert moves("real") == current
