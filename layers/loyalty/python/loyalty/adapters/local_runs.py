"""The ReclassifyRuns port on the local stack: the state machine's steps for a what-if, run in a thread
of this process (the points function's worker), its state kept in the run bucket so that whichever
worker answers the poll reads it. Locally only: in AWS the run is the state machine's
(adapters/stepfunctions.py). Two starts of one name racing in two workers could both run; the second
writes the same report (a dry run writes nothing else), so the answer is the same."""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from typing import Any

from loyalty.ports import RunAlreadyStarted, RunState, RunStore

STATES_PREFIX = "what-if/local-runs/"


class LocalRuns:
    def __init__(self, runs: RunStore, run: Callable[[str, dict[str, Any]], Any]) -> None:
        self.runs = runs
        self._run = run

    def _key(self, name: str) -> str:
        return f"{STATES_PREFIX}{name}.json"

    def start(self, name: str, run_input: dict[str, Any]) -> None:
        if self.runs.get(self._key(name)) is not None:
            raise RunAlreadyStarted(name)
        self.runs.put(self._key(name), {"status": "RUNNING", "input": run_input})
        threading.Thread(target=self._execute, args=(name, run_input), name=name, daemon=True).start()

    def _execute(self, name: str, run_input: dict[str, Any]) -> None:
        try:
            self._run(name, run_input)
        except Exception as exc:  # the run failed: recorded as Step Functions records a Lambda error
            traceback.print_exc()
            cause = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)})
            self.runs.put(self._key(name), {"status": "FAILED", "error": type(exc).__name__, "cause": cause})
            return
        self.runs.put(self._key(name), {"status": "SUCCEEDED"})

    def state(self, name: str) -> RunState | None:
        document = self.runs.get(self._key(name))
        if document is None:
            return None
        return RunState(
            str(document["status"]), str(document.get("error", "")), str(document.get("cause", ""))
        )
