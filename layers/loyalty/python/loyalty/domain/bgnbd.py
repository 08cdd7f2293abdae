"""The BG/NBD model of repeat buying (Fader, Hardie and Lee, "Counting your customers the easy way",
Marketing Science 24(2), 2005), pure Python: the standard library's math only, so the Lambda layer
stays small and the reclassify function's cold start flat (no numpy or scipy).

Each customer is (x, t_x, T): x repeat purchases (purchase days after the first), t_x the time from
the first to the last purchase, T the time from the first purchase to the reference day, in weeks.
While alive a customer buys at rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop
out with probability p ~ Beta(a, b). The paper's formulas, with B the beta function:

    L(x, t_x, T) = B(a, b+x)/B(a, b) * G(r+x) a^r / (G(r) (alpha+T)^(r+x))
                 + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))   (eq. 6)
    P(alive | x, t_x, T) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))            (eq. 12)
    E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1)
                          * (1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t)))
                          / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))              (eq. 10)

The fit maximises the summed log-likelihood by Nelder-Mead on the logs of (r, alpha, a, b) (so all
four stay positive), from a moment-based start, restarted once from its own optimum (a standard
guard against a collapsed simplex). Customers with the same (x, t_x, T) are one weighted row, and
log(alpha+T), log(alpha+t_x) and the x-only terms are computed once per distinct value in each
evaluation: the work of one evaluation is one exp and one log1p per distinct row.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

DAYS_PER_WEEK = 7
HYP2F1_TOLERANCE = 1e-13  # relative bound on the series' remainder
HYP2F1_MAX_TERMS = 100_000
MAX_EVALUATIONS = 4_000  # per Nelder-Mead run; the fit does at most two runs
# The search stays within e^-12 .. e^12 (6e-6 .. 160,000) for each parameter. Past that the data say
# nothing more: a and b both that large mean every customer drops out with the same p = a/(a+b), and
# the likelihood creeps along that ridge for thousands of evaluations.
LOG_BOUND = 12.0


class FitError(ValueError):
    """The sample cannot identify the model (too few customers, or nobody with a repeat purchase)."""


@dataclass(frozen=True)
class Params:
    r: float
    alpha: float
    a: float
    b: float

    def to_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class Fit:
    params: Params
    log_likelihood: float  # summed over the sample, at params
    customers: int  # sample size
    evaluations: int


# ---------------------------------------------------------------------------------------------
# The per-customer formulas


def log_likelihood_one(p: Params, x: int, t_x: float, t: float) -> float:
    """log L(r, alpha, a, b | x, t_x, T), eq. 6 of the paper."""
    a1 = math.lgamma(p.r + x) - math.lgamma(p.r) + p.r * math.log(p.alpha)
    a2 = math.lgamma(p.a + p.b) + math.lgamma(p.b + x) - math.lgamma(p.b) - math.lgamma(p.a + p.b + x)
    a3 = -(p.r + x) * math.log(p.alpha + t)
    if x == 0:
        return a1 + a2 + a3
    a4 = math.log(p.a) - math.log(p.b + x - 1) - (p.r + x) * math.log(p.alpha + t_x)
    return a1 + a2 + _log_add(a3, a4)


def _log_add(u: float, v: float) -> float:
    """log(e^u + e^v) without overflow."""
    high, low = (u, v) if u >= v else (v, u)
    return high + math.log1p(math.exp(low - high))


def _death_odds(p: Params, x: int, t_x: float, t: float) -> float:
    """a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) for x > 0: P(dead)/P(alive); 0 when x = 0."""
    if x == 0:
        return 0.0
    log_odds = math.log(p.a / (p.b + x - 1)) + (p.r + x) * math.log((p.alpha + t) / (p.alpha + t_x))
    return math.exp(min(log_odds, 700.0))  # beyond e^700 P(alive) is 0 to double precision anyway


def p_alive(p: Params, x: int, t_x: float, t: float) -> float:
    """P(alive | x, t_x, T), eq. 12: exactly 1 for a customer without a repeat purchase."""
    return 1.0 / (1.0 + _death_odds(p, x, t_x, t))


def expected_purchases(p: Params, x: int, t_x: float, t: float, horizon: float) -> float:
    """E[Y(horizon) | x, t_x, T], eq. 10: purchases expected in the next `horizon` weeks."""
    if horizon <= 0:
        return 0.0
    z = horizon / (p.alpha + t + horizon)
    c = p.a + p.b + x - 1
    ratio = (p.alpha + t) / (p.alpha + t + horizon)
    if abs(p.a - 1.0) < 1e-9 or abs(c) < 1e-9:
        # Removable singularities of eq. 10: a = 1 ((a+b+x-1)/(a-1) times a bracket that vanishes) and
        # a + b + x - 1 = 0 (the 2F1 has a pole that the factor in front cancels): the mean of the
        # values just either side.
        sides = (Params(p.r, p.alpha, p.a + s, p.b) for s in (-1e-6, 1e-6))
        return sum(expected_purchases(q, x, t_x, t, horizon) for q in sides) / 2
    bracket = 1.0 - ratio ** (p.r + x) * hyp2f1(p.r + x, p.b + x, c, z)
    return (c / (p.a - 1.0)) * bracket / (1.0 + _death_odds(p, x, t_x, t))


def hyp2f1(a: float, b: float, c: float, z: float) -> float:
    """Gauss's hypergeometric 2F1(a, b; c; z) = sum_j (a)_j (b)_j / ((c)_j j!) z^j, for a, b > 0,
    c not 0, -1, -2, ... and 0 <= z < 1 (all that eq. 10 needs).

    Convergence bound: term j+1 = term j x q_j, q_j = z (a+j)/(j+1) (b+j)/(c+j). Both fractions are
    monotone in j and tend to 1, so once c + j > 0 every later ratio is at most
    rho_j = z max(1, (a+j)/(j+1)) max(1, (b+j)/(c+j)), and the remainder after the term just added is
    at most |term| rho / (1 - rho). Summing stops when that bound is below HYP2F1_TOLERANCE x |sum|."""
    if not 0.0 <= z < 1.0:
        raise ValueError(f"hyp2f1 needs 0 <= z < 1, got {z}")
    if c <= 0 and c == math.floor(c):
        raise ValueError(f"hyp2f1 is undefined for c = {c}")
    total, term = 1.0, 1.0
    for j in range(HYP2F1_MAX_TERMS):
        term *= z * (a + j) / (j + 1) * (b + j) / (c + j)
        total += term
        if term == 0.0:
            return total
        n = j + 1  # the next ratio is q_n
        if c + n > 0:
            rho = z * max(1.0, (a + n) / (n + 1)) * max(1.0, (b + n) / (c + n))
            if rho < 1.0 and abs(term) * rho / (1.0 - rho) <= HYP2F1_TOLERANCE * abs(total):
                return total
    raise ArithmeticError(f"hyp2f1({a}, {b}; {c}; {z}) did not converge in {HYP2F1_MAX_TERMS} terms")


# ---------------------------------------------------------------------------------------------
# The summed log-likelihood over a sample, and its maximum


class Sample:
    """Customers (x, t_x, T) grouped into distinct rows with counts, with the distinct x, t_x and T
    values indexed once, so each evaluation of the log-likelihood does the x-only and the
    log(alpha + time) terms once per distinct value."""

    def __init__(self, customers: Iterable[tuple[int, float, float]]) -> None:
        rows = Counter((int(x), float(tx), float(t)) for x, tx, t in customers)
        self.customers = sum(rows.values())
        self.xs = sorted({x for x, _, _ in rows})
        self.times = sorted({v for _, tx, t in rows for v in (tx, t)})
        x_index = {x: i for i, x in enumerate(self.xs)}
        time_index = {v: i for i, v in enumerate(self.times)}
        ordered = sorted(rows.items())  # a fixed order: the same sample sums the same way every time
        self.rows = [(x_index[x], time_index[tx], time_index[t], n) for (x, tx, t), n in ordered]
        self.repeaters = sum(n for (x, _, _), n in ordered if x > 0)
        self.mean_x = sum(x * n for (x, _, _), n in ordered) / max(1, self.customers)
        self.mean_t = sum(t * n for (_, _, t), n in ordered) / max(1, self.customers)

    def log_likelihood(self, p: Params) -> float:
        lg_r, lg_b, lg_ab = math.lgamma(p.r), math.lgamma(p.b), math.lgamma(p.a + p.b)
        base = p.r * math.log(p.alpha) - lg_r + lg_ab - lg_b
        log_a = math.log(p.a)
        per_x = [
            (
                base + math.lgamma(p.r + x) + math.lgamma(p.b + x) - math.lgamma(p.a + p.b + x),
                p.r + x,
                log_a - math.log(p.b + x - 1) if x > 0 else None,
            )
            for x in self.xs
        ]
        logs = [math.log(p.alpha + v) for v in self.times]
        total = 0.0
        for xi, txi, ti, n in self.rows:
            constant, power, death = per_x[xi]
            a3 = -power * logs[ti]
            if death is None:
                total += n * (constant + a3)
            else:
                a4 = death - power * logs[txi]
                high, low = (a3, a4) if a3 >= a4 else (a4, a3)
                total += n * (constant + high + math.log1p(math.exp(low - high)))
        return total


def fit(customers: Iterable[tuple[int, float, float]] | Sample, min_customers: int = 20) -> Fit:
    """Maximum-likelihood (r, alpha, a, b). Deterministic: the same sample gives the same fit."""
    sample = customers if isinstance(customers, Sample) else Sample(customers)
    if sample.customers < min_customers:
        raise FitError(f"{sample.customers} customers in the sample, the fit needs {min_customers}")
    if sample.repeaters == 0:
        raise FitError("nobody in the sample has a repeat purchase: the dropout process is not identified")
    count = sample.customers

    def objective(logs: Sequence[float]) -> float:
        if any(abs(v) > LOG_BOUND for v in logs):
            return math.inf
        try:
            p = Params(*(math.exp(v) for v in logs))
            return -sample.log_likelihood(p) / count
        except (OverflowError, ValueError, ZeroDivisionError):
            return math.inf

    # Start: one purchase a T on average gives lambda ~ (mean x + 1) / mean T; r = 1, alpha = r / rate.
    rate = (sample.mean_x + 1.0) / max(sample.mean_t, 1e-3)
    start = [0.0, math.log(1.0 / rate), 0.0, math.log(3.0)]
    best, value, evaluations = nelder_mead(objective, start, step=0.5)
    best, value, more = nelder_mead(objective, best, step=0.1)
    params = Params(*(math.exp(v) for v in best))
    return Fit(params, -value * count, count, evaluations + more)


def nelder_mead(
    f: Callable[[Sequence[float]], float],
    start: Sequence[float],
    step: float = 0.5,
    xtol: float = 1e-6,
    ftol: float = 1e-10,
    max_evaluations: int = MAX_EVALUATIONS,
) -> tuple[list[float], float, int]:
    """Minimise f from `start` (Nelder and Mead 1965, standard coefficients 1, 2, 1/2, 1/2). Stops
    when the simplex is within xtol and its values within ftol, or after max_evaluations.
    Returns (point, value, evaluations)."""
    n = len(start)
    simplex = [list(start)] + [[v + (step if i == j else 0.0) for j, v in enumerate(start)] for i in range(n)]
    values = [f(p) for p in simplex]
    evaluations = n + 1
    while evaluations < max_evaluations:
        order = sorted(range(n + 1), key=values.__getitem__)
        simplex, values = [simplex[i] for i in order], [values[i] for i in order]
        size = max(abs(p[j] - simplex[0][j]) for p in simplex[1:] for j in range(n))
        if size <= xtol and values[-1] - values[0] <= ftol:
            break
        centroid = [sum(p[j] for p in simplex[:-1]) / n for j in range(n)]
        worst = simplex[-1]

        def towards(
            coefficient: float, worst: list[float] = worst, centroid: list[float] = centroid
        ) -> list[float]:
            return [c + coefficient * (c - w) for c, w in zip(centroid, worst, strict=True)]

        reflected = towards(1.0)
        fr = f(reflected)
        evaluations += 1
        if fr < values[0]:
            expanded = towards(2.0)
            fe = f(expanded)
            evaluations += 1
            simplex[-1], values[-1] = (expanded, fe) if fe < fr else (reflected, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = reflected, fr
        else:
            contracted = towards(0.5) if fr < values[-1] else towards(-0.5)
            fc = f(contracted)
            evaluations += 1
            if fc < min(fr, values[-1]):
                simplex[-1], values[-1] = contracted, fc
            else:  # shrink towards the best point
                best = simplex[0]
                simplex = [best] + [
                    [b + 0.5 * (v - b) for b, v in zip(best, p, strict=True)] for p in simplex[1:]
                ]
                values = [values[0]] + [f(p) for p in simplex[1:]]
                evaluations += n
    i = min(range(n + 1), key=values.__getitem__)
    return simplex[i], values[i], evaluations


# ---------------------------------------------------------------------------------------------
# From the profile's days to the model's weeks


def weeks(days: int) -> float:
    return days / DAYS_PER_WEEK
