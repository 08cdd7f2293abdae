"""Named segments (ordered rules, first match wins), dormancy and the favourite category (pure).

Matching. A rule matches when every condition it states holds:
- `scored` (default true): the customer is RFM-scored (a purchase in the 12 months) or, for
  `scored: false`, not scored; unscored customers can only match unscored rules;
- `r`, `f`, `m`: the score lies in the range;
- `dormant`: the customer is (or, with false, is not) dormant;
- `p_alive`: the customer's BG/NBD P(alive) (3 places) lies in [low, high]; without one (no fit this
  run) the condition does not hold;
- `value_top_half`: the value estimate is (true) or is not (false) above the lower median of the
  active customers' value estimates (the statistics pass; compared in money buckets, as M is);
- `relationally_active`: the customer interacted (POST /v1/customers/{id}/interactions) within
  segments.relational.active_days of the reference day (true), or did not (false).
The first matching rule in programme order wins; no match gives programme.fallback_segment.

Stability (hysteresis, `segments.stability`, 0-2 steps). Quintile cuts are relative and recency ages
a month every month, so a customer near a boundary (Champions at R 4, Loyal at R 3) would flip back
and forth, each flip a write and a CustomerSegmentChanged. With stability s, a customer whose strict
segment (the first match above) differs from their current one keeps the current one when the
ordered rules give it at some scores within s steps of theirs on ONE of R, F, M (scores kept in 1-5),
every other condition (scored, dormant, p_alive, value_top_half, relationally_active) as it is: so a
customer who became dormant or unscored moves at once. First classification (no current segment), a
current segment the programme no longer has, or s = 0: strict. The result is always the strict or
the current segment, and classifying again gives the same (the kept segment is the new current one).

Dormancy. Dormant = R days > max(floor_days, k x interval), where interval is the customer's own
average gap between purchase days, (last - first) / (purchase_days - 1), exact (no rounding), or,
for a customer with a single purchase day, the programme-wide median of the whole-day intervals of
the active customers (the statistics pass). Without such a median, the floor alone applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

from loyalty.domain.profile import OTHER_CATEGORY, Profile
from loyalty.domain.scoring import CustomerFacts, RunWindow, Scores
from loyalty.programme import SCORE_MAX, SCORE_MIN, Dormancy, SegmentRule


def purchase_cycle(facts: CustomerFacts, median_interval_days: int | None) -> Fraction | None:
    """The customer's own average interval, else the programme-wide median, else None."""
    interval = facts.interval
    if interval is None and median_interval_days is not None:
        interval = Fraction(median_interval_days)
    return interval


def dormancy_threshold(
    facts: CustomerFacts, dormancy: Dormancy, median_interval_days: int | None
) -> Fraction:
    """Days of silence after which the customer is dormant (exclusive)."""
    interval = purchase_cycle(facts, median_interval_days)
    k = Fraction(Decimal(dormancy.k))
    cycle = k * interval if interval is not None else Fraction(0)
    return max(Fraction(dormancy.floor_days), cycle)


def is_dormant(facts: CustomerFacts, dormancy: Dormancy, median_interval_days: int | None) -> bool:
    if facts.recency_days is None:
        return False
    return facts.recency_days > dormancy_threshold(facts, dormancy, median_interval_days)


def is_overdue(facts: CustomerFacts, dormancy: Dormancy, median_interval_days: int | None) -> bool:
    """Past warn_k x their own cycle (no floor: the warning comes before dormancy) and not dormant."""
    interval = purchase_cycle(facts, median_interval_days)
    if facts.recency_days is None or interval is None:
        return False
    past = facts.recency_days > Fraction(Decimal(dormancy.warn_k)) * interval
    return past and not is_dormant(facts, dormancy, median_interval_days)


def rule_matches(
    rule: SegmentRule,
    scores: Scores | None,
    dormant: bool,
    p_alive: Decimal | None = None,
    value_top_half: bool | None = None,
    relationally_active: bool = False,
) -> bool:
    if rule.scored != (scores is not None):
        return False
    if rule.relationally_active is not None and rule.relationally_active != relationally_active:
        return False
    if rule.dormant is not None and rule.dormant != dormant:
        return False
    if rule.p_alive is not None and (p_alive is None or p_alive not in rule.p_alive):
        return False
    if rule.value_top_half is not None and rule.value_top_half != value_top_half:
        return False
    if scores is None:
        return True
    return all(
        limits is None or value in limits
        for limits, value in ((rule.r, scores.r), (rule.f, scores.f), (rule.m, scores.m))
    )


def match_segment(
    rules: Sequence[SegmentRule],
    fallback: str,
    scores: Scores | None,
    dormant: bool,
    p_alive: Decimal | None = None,
    value_top_half: bool | None = None,
    relationally_active: bool = False,
    *,
    current: str | None = None,
    stability: int = 0,
) -> str:
    """The customer's segment: the strict first match, or `current` kept by `stability` (above)."""
    conditions = (dormant, p_alive, value_top_half, relationally_active)
    strict = _first_match(rules, fallback, scores, *conditions)
    if stability == 0 or current is None or current == strict or scores is None:
        return strict
    if current != fallback and all(rule.name != current for rule in rules):
        return strict  # a segment the programme no longer has
    for near in nearby_scores(scores, stability):
        if _first_match(rules, fallback, near, *conditions) == current:
            return current
    return strict


def nearby_scores(scores: Scores, steps: int) -> list[Scores]:
    """The scores within `steps` of these on one of R, F, M (each kept in 1-5), nearest first."""
    near: list[Scores] = []
    for step in range(1, steps + 1):
        for delta in (-step, step):
            for axis in ("r", "f", "m"):
                value = getattr(scores, axis) + delta
                if SCORE_MIN <= value <= SCORE_MAX:
                    near.append(replace(scores, **{axis: value}))
    return near


def _first_match(
    rules: Sequence[SegmentRule],
    fallback: str,
    scores: Scores | None,
    dormant: bool,
    p_alive: Decimal | None,
    value_top_half: bool | None,
    relationally_active: bool,
) -> str:
    for rule in rules:
        if rule_matches(rule, scores, dormant, p_alive, value_top_half, relationally_active):
            return rule.name
    return fallback


def favourite_category(profile: Profile, window: RunWindow) -> str | None:
    """The category with the most spend over the 12 months ('Type' in FRAT). Ties go to the name
    that sorts first; the '_other' bucket only when no named category has spend."""
    totals: dict[str, int] = {}
    for month in window.months:
        stats = profile.months.get(month)
        if stats is not None:
            for category, cents in stats.categories.items():
                totals[category] = totals.get(category, 0) + cents
    named = {k: v for k, v in totals.items() if v > 0 and k != OTHER_CATEGORY}
    pool = named or {k: v for k, v in totals.items() if v > 0}
    if not pool:
        return None
    return min(pool, key=lambda k: (-pool[k], k))
