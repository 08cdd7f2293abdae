"""P(alive) and expected purchases per customer at the monthly run, from the BG/NBD model (pure).

The model's inputs come from what the profile already holds (no transaction is read), in whole days,
turned into weeks (the model's time unit) only inside the formulas:
- x   = repeat purchase days: distinct purchase days up to the period end, minus the first;
- t_x = days from the first to the last purchase day (0 when x = 0);
- T   = days from the first purchase day to the reference day.

The statistics pass offers every known customer's (x, t_x, T) to a bottom-k sample (reservoir.py);
the merge step fits the model on the merged sample (`fit_model`), and the fitted parameters travel
to the classify workers inside the cuts. The per-customer figures are rounded half up to decimal
strings (P(alive) 3 places, expected purchases 2), which is what the profile, the card, the events'
`facts` and the segment rules see.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from loyalty.domain import bgnbd
from loyalty.domain.reservoir import Reservoir

if TYPE_CHECKING:  # scoring imports this module (the merge step fits the model)
    from loyalty.domain.scoring import CustomerFacts, RunWindow

HORIZON_DAYS = 90  # expected_purchases_90d
P_ALIVE_PLACES = Decimal("0.001")
PURCHASES_PLACES = Decimal("0.01")


def history(facts: CustomerFacts, window: RunWindow) -> tuple[int, int, int] | None:
    """(x, t_x days, T days), or None when the profile cannot give them (no first or last day)."""
    if not facts.known or facts.first_day is None or facts.last_day is None:
        return None
    x = max(0, facts.purchase_days - 1)
    t_x = (facts.last_day - facts.first_day).days if x else 0
    return x, max(0, t_x), (window.ref_date - facts.first_day).days


@dataclass(frozen=True)
class ModelFit:
    """The fitted BG/NBD model as it travels in the cuts and appears in the summary."""

    params: bgnbd.Params
    log_likelihood: float
    sample: int  # customers in the sample the fit used
    evaluations: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "BG/NBD",
            "time_unit": "weeks",
            **self.params.to_dict(),
            "log_likelihood": self.log_likelihood,
            "sample": self.sample,
            "evaluations": self.evaluations,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ModelFit | None:
        if not data:
            return None
        params = bgnbd.Params(float(data["r"]), float(data["alpha"]), float(data["a"]), float(data["b"]))
        return cls(
            params, float(data["log_likelihood"]), int(data["sample"]), int(data.get("evaluations", 0))
        )


def fit_model(sample: Reservoir) -> ModelFit | None:
    """The fit on the merged sample; None when the sample cannot identify the model (too small, or
    nobody with a repeat purchase): the run then goes on without P(alive)."""
    rows = [(x, bgnbd.weeks(t_x), bgnbd.weeks(t)) for x, t_x, t in sample.items()]
    try:
        result = bgnbd.fit(rows)
    except bgnbd.FitError:
        return None
    return ModelFit(result.params, result.log_likelihood, result.customers, result.evaluations)


@dataclass(frozen=True)
class Liveness:
    p_alive: Decimal
    expected_purchases_90d: Decimal


def liveness(model: ModelFit | None, facts: CustomerFacts, window: RunWindow) -> Liveness | None:
    inputs = history(facts, window)
    if model is None or inputs is None:
        return None
    return _liveness(model.params, *inputs)


@lru_cache(maxsize=65536)
def _liveness(params: bgnbd.Params, x: int, t_x: int, t: int) -> Liveness | None:
    """Memoized per container: customers share (x, t_x, T) in whole days (a few thousand distinct
    histories cover most of a base), and the 2F1 series is the costliest step of classifying one."""
    p = bgnbd.p_alive(params, x, bgnbd.weeks(t_x), bgnbd.weeks(t))
    try:
        e = bgnbd.expected_purchases(params, x, bgnbd.weeks(t_x), bgnbd.weeks(t), bgnbd.weeks(HORIZON_DAYS))
    except ArithmeticError:  # the 2F1 series did not converge (a degenerate fit): no figures this run
        return None
    return Liveness(
        Decimal(repr(p)).quantize(P_ALIVE_PLACES, ROUND_HALF_UP),
        Decimal(repr(max(0.0, e))).quantize(PURCHASES_PLACES, ROUND_HALF_UP),
    )
