"""P(alive), expected purchases and CustomerOverdue in the monthly run, on the fakes: the cases the
integration (moto) and e2e (local stack) tests reuse."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

from loyalty.domain.alive import history
from loyalty.domain.classify import classify, period_scores
from loyalty.domain.profile import Profile
from loyalty.domain.scoring import Cuts, RunWindow, customer_facts
from loyalty.events import event_id

from tests.unit.test_classify import FIXED, WINDOW, archetype_profiles, clean_run
from tests.unit.test_scoring import build


def histories(ref: date) -> dict[str, list[tuple[date, int, dict[str, int]]]]:
    """Purchase days before the reference day `ref`:
    - recent: weekly for 40 weeks, the last 4 days ago;
    - silent: weekly for 30 weeks, then nothing for 150 days (dormant: > max(90, 3 x 7));
    - overdue: every 20 days, 12 times, the last 33 days ago (past 1.5 x 20 = 30, not dormant before 90)."""

    def spaced(last: int, gap: int, count: int) -> list[tuple[date, int, dict[str, int]]]:
        return [(ref - timedelta(days=last + gap * k), 3000, {"food": 3000}) for k in range(count)]

    return {"recent": spaced(4, 7, 40), "silent": spaced(150, 7, 30), "overdue": spaced(33, 20, 12)}


def cases(prefix: str = "") -> dict[str, Profile]:
    return {
        f"{prefix}{name}": build(f"{prefix}{name}", days, FIXED)
        for name, days in histories(WINDOW.ref_date).items()
    }


def population() -> dict[str, Profile]:
    return {
        **archetype_profiles(dict.fromkeys(["champion", "loyal", "atrisk", "new", "dormant"], 8)),
        **cases(),
    }


def test_the_models_inputs_come_from_the_profile() -> None:
    facts = customer_facts(cases()["overdue"], WINDOW, FIXED)
    # 12 purchase days: 11 repeats; first to last = 11 x 20 days; first to the reference day 33 + 220.
    assert history(facts, WINDOW) == (11, 220, 253)
    single = customer_facts(build("one", [(date(2026, 2, 10), 1000)], FIXED), WINDOW, FIXED)
    assert history(single, WINDOW) == (0, 0, 19)


def computed_alive(profiles: dict[str, Profile], result: dict) -> dict:
    cuts = Cuts.from_dict(result["cuts"])
    return {c: period_scores(p, FIXED, cuts, WINDOW).liveness for c, p in profiles.items()}


def test_a_run_gives_every_customer_p_alive_and_warns_the_overdue_one_once() -> None:
    svc, result = clean_run(population())
    store = svc.store.store  # type: ignore[attr-defined]
    profiles = store.profiles
    alive = computed_alive(profiles, result)  # not stored: from the profile and the period's cuts
    assert all(a is not None for a in alive.values())
    assert alive["silent"].p_alive < alive["recent"].p_alive
    assert alive["silent"].expected_purchases_90d < alive["recent"].expected_purchases_90d
    assert alive["new-0"].p_alive == 1  # no repeat purchase: alive by the model's assumption

    model = result["summary"]["model"]
    assert {"r", "alpha", "a", "b", "log_likelihood"} <= set(model) and model["sample"] == len(profiles)
    assert all(model[k] > 0 for k in ("r", "alpha", "a", "b")) and model["log_likelihood"] < 0
    assert set(result["summary"]["p_alive_mean"]) == set(Counter(p.segment for p in profiles.values()))

    overdue = [e for e in svc.publisher.events if e.detail_type == "CustomerOverdue"]
    ours = [e for e in overdue if e.detail["customer_id"] in ("recent", "silent", "overdue")]
    assert [e.detail["customer_id"] for e in ours] == ["overdue"]
    detail = ours[0].detail
    last = WINDOW.ref_date - timedelta(days=33)
    assert ours[0].event_id == event_id("overdue", last.isoformat(), "overdue")
    assert detail["last_purchase_day"] == last.isoformat()
    assert detail["expected_return_date"] == (last + timedelta(days=20)).isoformat()
    assert detail["dormant_after_date"] == (last + timedelta(days=91)).isoformat()
    assert (detail["cycle_days"], detail["recency_days"], detail["warn_k"]) == ("20.00", 33, "1.5")
    assert detail["p_alive"] == str(alive["overdue"].p_alive)
    assert profiles["overdue"].overdue_for == last.isoformat()

    # The same silence next month: no second warning (the customer is still overdue, not yet dormant).
    march = RunWindow.for_period("2026-03")
    cuts = Cuts.from_dict(result["cuts"])
    again = classify(profiles["overdue"], FIXED, cuts, march)
    assert again is not None and again.classification.overdue
    assert [e for e in again.events if e.detail_type == "CustomerOverdue"] == []
    # After a new purchase and a new silence past 1.5 cycles, a new warning with a new id.
    later = build("overdue", [*histories(WINDOW.ref_date)["overdue"], (date(2026, 3, 2), 3000, {})], FIXED)
    later = replace(later, overdue_for=profiles["overdue"].overdue_for)
    april = RunWindow.for_period("2026-04")
    warned = classify(later, FIXED, cuts, april)
    assert warned is not None
    ids = [e.event_id for e in warned.events if e.detail_type == "CustomerOverdue"]
    assert ids == [event_id("overdue", "2026-03-02", "overdue")]


def test_the_summary_has_no_model_when_nobody_has_a_repeat_purchase() -> None:
    svc, result = clean_run(archetype_profiles({"new": 30, "promising": 30}))
    assert result["summary"]["model"] is None
    profiles = svc.store.store.profiles  # type: ignore[attr-defined]
    assert all(a is None for a in computed_alive(profiles, result).values())
    assert {p.segment for p in profiles.values()} == {"New", "Promising"}
