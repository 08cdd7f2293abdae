"""What the back-office console reads for marketing: the monthly runs' summaries and the programme,
the check of a candidate programme (the loader's own errors, key by key), and its what-if run: the
monthly run's state machine started with the dry-run input (nothing written, nothing published), its
report read back from the run bucket."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from loyalty.domain.scoring import RunWindow
from loyalty.errors import ApiError, field_error
from loyalty.ports import CandidateStore, ReclassifyRuns, RunAlreadyStarted, RunStore
from loyalty.programme import Programme, ProgrammeError, parse_programme
from loyalty.service.reclassify.run import report_key

RUNS_PREFIX = "reclassification/"  # reclassification/<period>/summary.json, as the monthly run keeps it
SUMMARY = "summary.json"
MAX_RUNS = 36  # three years of months: what a page draws
WHAT_IF_PATH = "/v1/back-office/programme/what-if"
# A what-if's id is its execution name: the period it classifies and the candidate's content hash, so
# the same candidate for the same period (a double click, a retry) is the same run, started once.
# Step Functions names: at most 80 characters of [A-Za-z0-9-_]; this one is 48.
WHAT_IF_ID = re.compile(r"^what-if-(\d{4}-(?:0[1-9]|1[0-2]))-([0-9a-f]{32})$")
RUNNING = ("RUNNING", "PENDING_REDRIVE")
CANDIDATE_ERRORS = ("ProgrammeError",)  # a failure that is the candidate's (prepare validates it again)


class BackOfficeService:
    def __init__(
        self,
        runs: RunStore | None,
        programme: Programme,
        machine: ReclassifyRuns | None = None,
        candidates: CandidateStore | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._runs = runs
        self.programme = programme
        self._machine = machine
        self._candidates = candidates
        self._now = now

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

    # -- the what-if run -------------------------------------------------------------------------

    def start_what_if(self, candidate: Any, as_of: str | None = None) -> dict[str, Any]:
        """Validate the candidate as validate() does (422 naming the key), keep it in the run bucket
        under its content hash and start the state machine's dry run for the period before `as_of`
        (default today, in the programme's zone). The same candidate and period answer the same id,
        whether this call started the run or an earlier one did."""
        source = self.validate(candidate)["programme"]
        if self._machine is None or self._candidates is None or self._runs is None:
            raise ApiError(
                503, "what_if_unavailable", "what-if runs are not set up here (no reclassification state "
                "machine in settings.reclassify_state_machine)"
            )  # fmt: skip
        window = RunWindow.as_of(self._as_of(as_of))
        digest = hashlib.sha256(
            json.dumps(source, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        what_if_id = f"what-if-{window.period}-{digest[:32]}"
        key = self._candidates.put(digest, source)
        # as_of: the first day after the period, whichever day of the next month was asked, so that
        # a retry on another day of that month sends the very same input.
        run_input = {"as_of": window.ref_date.isoformat(), "dry_run": True, "programme": key}
        with contextlib.suppress(RunAlreadyStarted):  # the first start stands: same id, same poll URL
            self._machine.start(what_if_id, run_input)
        return self._running(what_if_id, window.period)

    def what_if(self, what_if_id: str) -> tuple[int, dict[str, Any]]:
        """(202, where it is) while the run runs; (200, its report) when it succeeded; 422 when the
        candidate made it fail, 409 for any other failure, both with the failure in words."""
        match = WHAT_IF_ID.match(what_if_id)
        if match is None:
            expected = "an id this API answered (what-if-YYYY-MM-<32 hex digits>)"
            raise field_error("what_if_id", f"must be {expected}, got {what_if_id[:100]!r}")
        if self._machine is None or self._runs is None:
            raise ApiError(404, "not_found", f"no what-if run {what_if_id}")
        state = self._machine.state(what_if_id)
        if state is None:
            raise ApiError(404, "not_found", f"no what-if run {what_if_id}")
        period = match.group(1)
        if state.status in RUNNING:
            return 202, self._running(what_if_id, period)
        if state.status == "SUCCEEDED":
            report = self._runs.get(report_key(period, what_if_id))
            if report is not None:
                return 200, {"what_if_id": what_if_id, "status": "SUCCEEDED", "report": report}
            state_error, words = "NoReport", "the run succeeded but left no report in the run bucket"
        else:
            state_error, words = state.error or state.status, _in_words(state.cause) or state.status.lower()
        status = 422 if state_error in CANDIDATE_ERRORS else 409
        code = "invalid_programme" if status == 422 else "what_if_failed"
        message = f"the what-if run ended {state.status}: {state_error}: {words}"
        raise ApiError(status, code, message, [{"field": "what_if_id", "message": message}])

    def _as_of(self, as_of: str | None) -> date:
        if as_of is None:
            return self._now().astimezone(self.programme.zone).date()
        try:
            return date.fromisoformat(as_of)
        except ValueError:
            raise field_error("as_of", f"must be a date YYYY-MM-DD, got {as_of[:40]!r}") from None

    @staticmethod
    def _running(what_if_id: str, period: str) -> dict[str, Any]:
        return {
            "what_if_id": what_if_id,
            "status": "RUNNING",
            "period": period,
            "poll": f"{WHAT_IF_PATH}/{what_if_id}",
        }


def _in_words(cause: str) -> str:
    """A failed execution's cause in words: a Lambda error's cause is JSON with its errorMessage."""
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause[:500]
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        return str(parsed["errorMessage"])[:500]
    return cause[:500]
