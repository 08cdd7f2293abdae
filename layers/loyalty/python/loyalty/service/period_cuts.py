"""The last finished run's period and cuts, for what shows RFM scores and P(alive) outside the run.

The monthly run no longer stores a customer's RFM code or P(alive) (domain/classify.py): the card
(GET /v1/customers/{id}), the export and the report compute them from the profile and the cuts of the
last finished period (domain/classify.period_scores). The summarize step keeps that period's cuts in the
RunStore under LATEST_KEY (a few hundred bytes: 4 cut points per axis, two medians, the BG/NBD fit);
readers keep them per container for `ttl_seconds`, so a card costs one GetItem and, once per container
and TTL, one small S3 GET.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loyalty.domain.scoring import Cuts, RunWindow
from loyalty.ports import RunStore

LATEST_KEY = "reclassification/latest-cuts.json"
TTL_SECONDS = 60.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodCuts:
    period: str
    cuts: Cuts

    @property
    def window(self) -> RunWindow:
        return RunWindow.for_period(self.period)

    def to_dict(self) -> dict[str, Any]:
        return {"period": self.period, "cuts": self.cuts.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PeriodCuts:
        return cls(str(data["period"]), Cuts.from_dict(data["cuts"]))


def period_key(period: str) -> str:
    return f"reclassification/{period}/cuts.json"


def keep_latest(runs: RunStore, period: str, cuts: Mapping[str, Any]) -> None:
    """Called by summarize once the period's profiles are written: its cuts are kept as the period's
    (the export of that period reads them) and become the latest, unless a later period's already are
    (a rerun of an old period does not move the card back)."""
    document = PeriodCuts(period, Cuts.from_dict(cuts)).to_dict()
    runs.put(period_key(period), document)
    current = runs.get(LATEST_KEY)
    if current is None or str(current.get("period", "")) <= period:
        runs.put(LATEST_KEY, document)


def cuts_of(runs: RunStore | None, period: str) -> PeriodCuts | None:
    """The cuts a finished run kept for `period`, None if none (or unreadable)."""
    if runs is None:
        return None
    try:
        document = runs.get(period_key(period))
    except Exception:  # no bucket or no access: no scores rather than an error
        logger.warning("cuts of %s unreadable", period, exc_info=True)
        return None
    return None if document is None else PeriodCuts.from_dict(document)


@dataclass
class LatestCuts:
    """The latest period's cuts, read at most once per `ttl_seconds` per container, and again at once
    when a profile was written by a later run than the cached one (`at_least`) or nothing was found
    (before the first run); None then, or when the RunStore cannot be read (the card shows no scores
    rather than a 500)."""

    runs: RunStore | None
    ttl_seconds: float = TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _value: PeriodCuts | None = field(default=None, init=False, repr=False)
    _read_at: float | None = field(default=None, init=False, repr=False)

    def __call__(self, at_least: str | None = None) -> PeriodCuts | None:
        now = self.clock()
        value = self._value
        stale = self._read_at is None or now - self._read_at >= self.ttl_seconds
        if stale or value is None or (at_least is not None and value.period < at_least):
            self._value, self._read_at = self._read(), now
        return self._value

    def _read(self) -> PeriodCuts | None:
        if self.runs is None:
            return None
        try:
            document = self.runs.get(LATEST_KEY)
            return None if document is None else PeriodCuts.from_dict(document)
        except Exception:  # a missing bucket or no access: no scores on the card, logged, retried at TTL
            logger.warning("latest cuts unreadable", exc_info=True)
            return None
