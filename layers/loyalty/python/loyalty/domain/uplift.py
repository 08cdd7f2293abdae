"""Uplift of a treatment over a holdout: the difference of two proportions with a 95 % interval.

The interval is Newcombe's hybrid score interval (Newcombe 1998, "Interval estimation for the
difference between independent proportions", method 10), built from the two Wilson score intervals:
it stays inside [-1, 1], behaves at 0 or n successes, and needs no normal approximation of the
difference itself. Plain `math`: the layer has no scipy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of successes / n; (0, 1) when n is 0 (nothing known)."""
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..n, got {successes} of {n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return max(0.0, (centre - spread) / denominator), min(1.0, (centre + spread) / denominator)


@dataclass(frozen=True)
class Uplift:
    treatment_rate: float
    holdout_rate: float
    difference: float  # treatment rate - holdout rate
    low: float
    high: float

    def to_dict(self, places: int = 4) -> dict[str, str]:
        def text(value: float) -> str:
            return f"{value:.{places}f}"

        return {
            "treatment_rate": text(self.treatment_rate),
            "holdout_rate": text(self.holdout_rate),
            "difference": text(self.difference),
            "ci95_low": text(self.low),
            "ci95_high": text(self.high),
        }


def uplift(treated: int, treatment_n: int, held: int, holdout_n: int, z: float = Z95) -> Uplift | None:
    """The treatment rate minus the holdout rate, with Newcombe's interval; None when a group is empty."""
    if treatment_n == 0 or holdout_n == 0:
        return None
    p1, p2 = treated / treatment_n, held / holdout_n
    l1, u1 = wilson(treated, treatment_n, z)
    l2, u2 = wilson(held, holdout_n, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Uplift(p1, p2, d, max(-1.0, low), min(1.0, high))
