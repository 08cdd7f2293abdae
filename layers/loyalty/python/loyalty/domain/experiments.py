"""Who is in which experiment group: pure, from the programme's experiments, the customer's ab_bucket
and their segments.

Membership: the 100 ab_buckets are put in an order of the experiment's own (sha256 of its name and
the bucket), and the first `holdout_percent` of them are the holdout. So the holdout is exactly that
share of the buckets, stable for the experiment's life (the bucket and the name never change), and
two experiments with other names hold out other customers.

A customer is in a running experiment for a period when their segment before the run (last month's)
or after it is one the experiment targets; the first such experiment in programme order wins, so a
customer's events carry one `experiment`. Last month's targeted customers are the experiment's cohort:
the run counts where they moved, by group (service/reclassify.py, the tally).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from loyalty.domain.uplift import uplift
from loyalty.programme import Experiment

TREATMENT, HOLDOUT = "treatment", "holdout"
BUCKETS = 100  # events.ab_bucket is 0-99


@lru_cache(maxsize=256)
def holdout_buckets(name: str, holdout_percent: int) -> frozenset[int]:
    """The ab_buckets of the experiment's holdout: `holdout_percent` of the 100, chosen by its name."""
    order = sorted(range(BUCKETS), key=lambda b: hashlib.sha256(f"{name}:{b}".encode()).digest())
    return frozenset(order[:holdout_percent])


def group_of(experiment: Experiment, bucket: int) -> str:
    return HOLDOUT if bucket in holdout_buckets(experiment.name, experiment.holdout_percent) else TREATMENT


@dataclass(frozen=True)
class Assignment:
    """A customer's place in an experiment for one period. `cohort`: the targeted segment they were in
    before the run (None: they only entered one at this run, so they are not counted in the uplift)."""

    name: str
    group: str
    cohort: str | None = None

    def tag(self) -> dict[str, str]:
        """What the customer's events carry as `experiment`."""
        return {"name": self.name, "group": self.group}


def assignment(
    experiments: tuple[Experiment, ...], period: str, bucket: int, before: str | None, after: str | None
) -> Assignment | None:
    for experiment in experiments:
        if not experiment.running(period):
            continue
        cohort = before if before in experiment.segments else None
        if cohort is not None or after in experiment.segments:
            return Assignment(experiment.name, group_of(experiment, bucket), cohort)
    return None


def direction(before_rank: int | None, after_rank: int | None) -> str:
    """A segment move `up`, `down` or `lateral` by the programme's segment ranks; a move from or to a
    segment without a rank (or a first classification) is `lateral`."""
    if before_rank is None or after_rank is None or before_rank == after_rank:
        return "lateral"
    return "up" if after_rank > before_rank else "down"


def experiment_report(
    moves: Mapping[tuple[str, str, str, str], int], experiments: tuple[Experiment, ...]
) -> dict[str, dict[str, Any]]:
    """The month's transitions of each experiment's cohorts, by group, and the uplift of each success
    segment: {experiment: {cohort segment: {"treatment": {"customers", "moved_to": {segment: n}},
    "holdout": {...}, "uplift": {success segment: Uplift.to_dict() or None}}}}. `moves` counts
    (experiment, cohort, group, segment after) -> customers; cohorts nobody was in are left out."""
    report: dict[str, dict[str, Any]] = {}
    for experiment in experiments:
        for cohort in experiment.segments:
            groups: dict[str, dict[str, Any]] = {
                g: {"customers": 0, "moved_to": {}} for g in (TREATMENT, HOLDOUT)
            }
            for (name, segment, group, after), n in sorted(moves.items()):
                if name == experiment.name and segment == cohort and group in groups:
                    groups[group]["customers"] += n
                    groups[group]["moved_to"][after] = groups[group]["moved_to"].get(after, 0) + n
            if not groups[TREATMENT]["customers"] + groups[HOLDOUT]["customers"]:
                continue
            uplifts = {}
            for success in experiment.success_segments:
                result = uplift(
                    groups[TREATMENT]["moved_to"].get(success, 0),
                    groups[TREATMENT]["customers"],
                    groups[HOLDOUT]["moved_to"].get(success, 0),
                    groups[HOLDOUT]["customers"],
                )
                uplifts[success] = None if result is None else result.to_dict()
            report.setdefault(experiment.name, {})[cohort] = {**groups, "uplift": uplifts}
    return report
