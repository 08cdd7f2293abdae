"""What the back-office console reads for marketing: the monthly runs' summaries and the programme,
and the check of a candidate programme (the loader's own errors, key by key)."""

from __future__ import annotations

from typing import Any

from loyalty.errors import ApiError
from loyalty.ports import RunStore
from loyalty.programme import Programme, ProgrammeError, parse_programme

RUNS_PREFIX = "reclassification/"  # reclassification/<period>/summary.json, as the monthly run keeps it
SUMMARY = "summary.json"
MAX_RUNS = 36  # three years of months: what a page draws


class BackOfficeService:
    def __init__(self, runs: RunStore | None, programme: Programme) -> None:
        self._runs = runs
        self.programme = programme

    def runs(self) -> dict[str, Any]:
        """Every period's summary, oldest first (the last MAX_RUNS)."""
        if self._runs is None:
            return {"runs": []}
        keys = [k for k in self._runs.keys(RUNS_PREFIX) if k.count("/") == 2 and k.endswith("/" + SUMMARY)]
        summaries = [self._runs.get(key) for key in keys[-MAX_RUNS:]]
        return {"runs": [s for s in summaries if s is not None]}

    def programme_document(self) -> dict[str, Any]:
        return {"programme": dict(self.programme.source)}

    @staticmethod
    def validate(candidate: Any) -> dict[str, Any]:
        """The candidate as the loader validates it: 200 with its canonical form, or 422 with the
        loader's message and the key it names (`programme.tiers[1].spend: ...`)."""
        try:
            programme = parse_programme(candidate)
        except ProgrammeError as exc:
            raise ApiError(
                422, "invalid_programme", str(exc), [{"field": exc.key, "message": str(exc)}]
            ) from None
        return {"valid": True, "programme": dict(programme.source)}
