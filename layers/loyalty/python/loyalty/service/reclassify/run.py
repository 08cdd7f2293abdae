"""The run description: its period, scan segments and dry-run flag, and the prepare step that
makes it (small enough to travel in the Step Functions state)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from loyalty.domain.scoring import (
    RunWindow,
    needs_statistics,
)
from loyalty.ports import PUT_EVENTS_MAX_ENTRIES
from loyalty.programme import Programme

PREFIX = "reclassification"
CUSTOMERS_PER_SEGMENT = 50_000  # sizing when the caller gives no segment count (see docs)
MAX_SEGMENTS = 1_000
DEFAULT_SEGMENTS = 4
WORKER_THREADS = 16  # concurrent UpdateItems and PutEvents per page (boto3 clients are thread-safe)
PUBLISH_BATCH = PUT_EVENTS_MAX_ENTRIES


class IncompleteRun(RuntimeError):
    """A merge or summary found fewer segment results than the run has segments."""


@dataclass(frozen=True)
class Run:
    """What every step gets in its input (the Step Functions state holds this, a few hundred bytes)."""

    period: str
    as_of: str  # ISO date, programme zone
    run_id: str
    total_segments: int
    needs_stats: bool = True
    dry_run: bool = False  # classify under the candidate programme at programme_key; write nothing
    programme_key: str | None = None

    @property
    def window(self) -> RunWindow:
        return RunWindow.for_period(self.period)

    def key(self, *parts: str) -> str:
        return "/".join((PREFIX, self.period, self.run_id, *parts))

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "as_of": self.as_of,
            "run_id": self.run_id,
            "total_segments": self.total_segments,
            "needs_stats": self.needs_stats,
            "dry_run": self.dry_run,
            "programme_key": self.programme_key,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Run:
        return cls(
            str(data["period"]),
            str(data["as_of"]),
            str(data["run_id"]),
            int(data["total_segments"]),
            bool(data.get("needs_stats", True)),
            bool(data.get("dry_run", False)),
            data.get("programme_key"),
        )


def summary_key(period: str) -> str:
    return f"{PREFIX}/{period}/summary.json"


def dry_run_report_key(run: Run) -> str:
    return report_key(run.period, run.run_id)


def report_key(period: str, run_id: str) -> str:
    """Where a dry run's report is kept: the run's own folder (run_id is the execution name in AWS)."""
    return "/".join((PREFIX, period, run_id, "dry-run-report.json"))


def as_of_date(value: date | str | None, programme: Programme, now: Callable[[], datetime]) -> date:
    """A date as given, an ISO date, or an ISO instant (the scheduler's scheduled time) read in the
    programme's time zone; None means now."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.astimezone(programme.zone).date()
    if value:
        text = str(value).replace("Z", "+00:00")
        if len(text) == 10:
            return date.fromisoformat(text)
        instant = datetime.fromisoformat(text)
        return (instant if instant.tzinfo else instant.replace(tzinfo=UTC)).astimezone(programme.zone).date()
    return now().astimezone(programme.zone).date()


def segments_for(customers: int | None) -> int:
    if not customers:
        return DEFAULT_SEGMENTS
    return max(1, min(MAX_SEGMENTS, math.ceil(customers / CUSTOMERS_PER_SEGMENT)))


def prepare(
    programme: Programme,
    as_of: date | str | None,
    run_id: str,
    total_segments: int | None = None,
    estimated_customers: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    day = as_of_date(as_of, programme, now)
    segments = int(total_segments) if total_segments else segments_for(estimated_customers)
    if not 1 <= segments <= MAX_SEGMENTS:
        raise ValueError(f"total_segments must be 1-{MAX_SEGMENTS}, got {segments}")
    run = Run(RunWindow.as_of(day).period, day.isoformat(), run_id, segments, needs_statistics(programme))
    return {"run": run.to_dict(), "segments": list(range(segments))}
