"""Experiments on the fakes: validation naming the key, membership by bucket and name, the group on
every customer event, transitions by group with the uplift in the summary, segment direction."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import pytest
from loyalty.domain.earning import Purchase, apply_purchase
from loyalty.domain.experiments import HOLDOUT, TREATMENT, assignment, direction, group_of, holdout_buckets
from loyalty.events import ab_bucket
from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
from loyalty.programme import ProgrammeError, parse_programme
from loyalty.service.reclassify import ReclassifyService, Tally, run_steps

from tests.unit.test_classify import FIXED, archetype_profiles

EXPERIMENT: dict[str, Any] = {
    "name": "at-risk-reactivation",
    "segments": ["At risk"],
    "holdout_percent": 20,
    "from": "2026-02",
    "to": "2026-12",
    "success_segments": ["Loyal", "Champions", "Potential loyalists"],
}


def programme_with(**segments_extra: Any) -> Any:
    source = copy.deepcopy(dict(FIXED.source))
    source["experiments"] = [EXPERIMENT]
    source["segments"] = {**source.get("segments", {}), **segments_extra}
    return parse_programme(source)


PROGRAMME = programme_with()


# -- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"holdout_percent": 0}, "experiments[0].holdout_percent"),
        ({"holdout_percent": 51}, "experiments[0].holdout_percent"),
        ({"segments": ["At Risk"]}, "experiments[0].segments[0]"),
        ({"segments": []}, "experiments[0].segments"),
        ({"success_segments": ["Winners"]}, "experiments[0].success_segments[0]"),
        ({"from": "2026-13"}, "experiments[0].from"),
        ({"to": "2026-01"}, "experiments[0].to"),
        ({"group": "x"}, "experiments[0].group"),
    ],
)
def test_a_bad_experiment_is_refused_naming_its_key(change: dict[str, Any], key: str) -> None:
    source = copy.deepcopy(dict(FIXED.source))
    source["experiments"] = [{**EXPERIMENT, **change}]
    with pytest.raises(ProgrammeError) as error:
        parse_programme(source)
    assert error.value.key == key


def test_two_experiments_with_one_name_are_refused() -> None:
    source = copy.deepcopy(dict(FIXED.source))
    source["experiments"] = [EXPERIMENT, EXPERIMENT]
    with pytest.raises(ProgrammeError, match=r"experiments\[1\].name: is used twice"):
        parse_programme(source)


def test_a_rank_must_be_a_whole_number() -> None:
    source = copy.deepcopy(dict(FIXED.source))
    source["segments"]["rules"][0]["rank"] = "high"
    with pytest.raises(ProgrammeError, match=r"segments.rules\[0\].rank: must be a whole number"):
        parse_programme(source)


# -- membership ---------------------------------------------------------------------------------------


def test_the_holdout_is_exactly_its_share_of_buckets_and_differs_between_experiments() -> None:
    first = holdout_buckets("at-risk-reactivation", 20)
    second = holdout_buckets("lost-winback", 20)
    assert len(first) == len(second) == 20
    assert first != second
    assert holdout_buckets("at-risk-reactivation", 20) == first  # stable
    assert holdout_buckets("at-risk-reactivation", 30) > first  # a larger holdout keeps the first one's
    experiment = PROGRAMME.experiments[0]
    groups = Counter(group_of(experiment, bucket) for bucket in range(100))
    assert groups == {TREATMENT: 80, HOLDOUT: 20}


def test_only_a_running_experiment_and_its_segments_assign() -> None:
    experiments = PROGRAMME.experiments
    assert assignment(experiments, "2026-01", 5, "At risk", "At risk") is None  # before `from`
    assert assignment(experiments, "2027-01", 5, "At risk", "At risk") is None  # after `to`
    assert assignment(experiments, "2026-03", 5, "Loyal", "Champions") is None  # not targeted
    entered = assignment(experiments, "2026-03", 5, "Loyal", "At risk")
    assert entered is not None and entered.cohort is None  # tagged, not counted in the uplift
    left = assignment(experiments, "2026-03", 5, "At risk", "Loyal")
    assert left is not None and left.cohort == "At risk"


def test_direction_follows_the_ranks() -> None:
    assert direction(5, 9) == "up"
    assert direction(9, 5) == "down"
    assert direction(5, 5) == "lateral"
    assert direction(None, 5) == direction(5, None) == "lateral"


# -- two monthly runs -----------------------------------------------------------------------------------


def purchase_in_march(profile: Any, programme: Any) -> Any:
    when = datetime(2026, 3, 15, 12, tzinfo=programme.zone)
    bought = Purchase(f"{profile.customer_id}-back", profile.customer_id, when, 5000, {"beauty": 5000})
    after, _ = apply_purchase(profile, bought, programme)
    return replace(after, version=profile.version + 1)


def two_runs(customers: int = 500) -> tuple[dict[str, Any], RecordingPublisher, InMemoryStore]:
    """Month 1 puts everyone in At risk; in March every treatment customer buys again (the journey
    worked), the holdout does not; month 2 measures."""
    store = InMemoryStore()
    store.profiles.update(archetype_profiles({"atrisk": customers}, PROGRAMME))
    publisher = RecordingPublisher()
    svc = ReclassifyService(
        InMemoryCustomerScan(store, page_size=50), publisher, PROGRAMME, InMemoryRunStore()
    )
    run_steps(svc, date(2026, 3, 1), "march", total_segments=3)
    assert Counter(p.segment for p in store.profiles.values()) == {"At risk": customers}
    experiment = PROGRAMME.experiments[0]
    for cid, profile in list(store.profiles.items()):
        if group_of(experiment, ab_bucket(cid)) == TREATMENT:
            store.profiles[cid] = purchase_in_march(profile, PROGRAMME)
    second = run_steps(svc, date(2026, 4, 1), "april", total_segments=3)
    return second["summary"], publisher, store


def test_every_event_of_a_targeted_customer_carries_its_group_and_the_summary_measures_the_uplift() -> None:
    summary, publisher, store = two_runs()
    experiment = PROGRAMME.experiments[0]
    customer_events = [e for e in publisher.events if "customer_id" in e.detail]
    assert customer_events
    for event in customer_events:
        cid = event.detail["customer_id"]
        assert event.detail["experiment"] == {
            "name": experiment.name,
            "group": group_of(experiment, ab_bucket(cid)),
        }
    holdout = sum(group_of(experiment, ab_bucket(c)) == HOLDOUT for c in store.profiles)

    cohort = summary["experiments"]["at-risk-reactivation"]["At risk"]
    assert cohort["holdout"]["customers"] == holdout
    assert cohort["treatment"]["customers"] == len(store.profiles) - holdout
    moved_back = {
        s: n for s, n in cohort["treatment"]["moved_to"].items() if s in experiment.success_segments
    }
    assert sum(moved_back.values()) == cohort["treatment"]["customers"]  # all of them came back
    assert not set(cohort["holdout"]["moved_to"]) & set(experiment.success_segments)
    best = max(moved_back, key=moved_back.__getitem__)
    shown = cohort["uplift"][best]
    assert shown["holdout_rate"] == "0.0000"
    assert 0 < float(shown["ci95_low"]) < float(shown["difference"]) <= float(shown["ci95_high"]) <= 1


def test_the_tally_keeps_the_moves_revenue_and_tier_segment_table_across_a_round_trip() -> None:
    summary, _, store = two_runs(60)
    assert sum(sum(row.values()) for row in summary["tier_segment"].values()) == len(store.profiles)
    assert set(summary["revenue_12m"]) == set(summary["after"]["segments"])
    tally = Tally()
    tally.experiment_moves[("x", "At risk", TREATMENT, "Loyal")] = 3
    tally.revenue_12m["Loyal"] = 12345
    tally.tier_segment[("silver", "Loyal")] = 2
    assert Tally.from_dict(tally.to_dict()) == tally


def test_segment_changed_says_up_or_down_from_the_ranks() -> None:
    source = copy.deepcopy(dict(FIXED.source))
    ranks = {"At risk": 3, "Loyal": 8, "Champions": 10, "Potential loyalists": 7}
    for rule in source["segments"]["rules"]:
        if rule["name"] in ranks:
            rule["rank"] = ranks[rule["name"]]
    source["experiments"] = [EXPERIMENT]
    global PROGRAMME
    saved, PROGRAMME = PROGRAMME, parse_programme(source)
    try:
        _, publisher, _ = two_runs(40)
    finally:
        PROGRAMME = saved
    changes = [e.detail for e in publisher.events if e.detail_type == "CustomerSegmentChanged"]
    first = [d for d in changes if d["period"] == "2026-02"]
    second = [
        d for d in changes if d["period"] == "2026-03" and d["before"]["segment"] != d["after"]["segment"]
    ]
    assert first and {d["direction"] for d in first} == {"lateral"}  # first classification: no rank before
    assert second and all(d["direction"] == "up" for d in second if d["after"]["segment"] in ranks)


# -- the shipped programmes ------------------------------------------------------------------------------


def test_ovation_style_puts_every_customer_in_one_of_six_segments_from_recency_and_frequency() -> None:
    import itertools

    from loyalty.domain.scoring import Scores
    from loyalty.domain.segments import match_segment
    from loyalty.programme import load_programme

    from tests.helpers import REPO

    programme = load_programme(REPO / "programmes" / "ovation-style.json")
    six = ["Lost", "Champions", "Loyal", "New", "Promising", "At risk"]
    assert [rule.name for rule in programme.segments] == six
    assert all(
        rule.m is None and rule.dormant is None and rule.p_alive is None for rule in programme.segments
    )
    seen = Counter()
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        for dormant in (False, True):
            segment = match_segment(programme.segments, programme.fallback_segment, Scores(r, f, m), dormant)
            seen[segment] += 1
            assert segment == match_segment(
                programme.segments, programme.fallback_segment, Scores(r, f, 1), False
            )
    assert set(seen) == set(six) - {"Lost"}  # the fallback is never reached
    assert match_segment(programme.segments, programme.fallback_segment, None, False) == "Lost"
    ranks = {rule.name: rule.rank for rule in programme.segments}
    assert max(ranks, key=lambda n: ranks[n] or 0) == "Champions"
    assert min(ranks, key=lambda n: ranks[n] or 0) == "Lost"


def test_the_default_programme_ranks_every_segment_champions_highest() -> None:
    from loyalty.programme import load_programme

    from tests.helpers import DEFAULT_PROGRAMME

    programme = load_programme(DEFAULT_PROGRAMME)
    ranks = {rule.name: rule.rank for rule in programme.segments}
    assert None not in ranks.values() and len(set(ranks.values())) == len(ranks)
    assert max(ranks, key=lambda n: ranks[n] or 0) == "Champions"
