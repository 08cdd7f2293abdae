"""The steps one after another in one process (the local runner and the tests): the same step
functions the Lambda handler dispatches to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from loyalty.domain.scoring import (
    Cuts,
)
from loyalty.service.reclassify.run import Run, prepare
from loyalty.service.reclassify.worker import ReclassifyService

Step = Callable[[dict[str, Any]], dict[str, Any]]  # a state's event -> its result


def run_steps(
    service: ReclassifyService,
    as_of: date | str | None,
    run_id: str,
    total_segments: int | None = None,
    step: Step | None = None,
    dry_run: bool = False,
    programme: Any = None,
    each: Callable[[Step, list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """The state machine's path, one step after another in this process: prepare, stats per segment,
    merge, classify per segment, summarize. `step` receives each state's event (the handler's
    dispatcher, so the local runner goes through the Lambda code); without it the service is called.
    `dry_run` (with a candidate `programme`, inline JSON or a run-bucket key): the state machine's
    dry-run input, see service/dry_run.py. `each(call, events)`: how the per-segment states run, results
    in the events' order (default one after another; the local runner runs them side by side, as the
    state machine's Map does)."""

    def direct(event: dict[str, Any]) -> dict[str, Any]:
        run = Run.from_dict(event["run"]) if "run" in event else None
        kind = event["step"]
        if kind == "prepare" and event.get("dry_run"):
            return service.prepare_dry_run(
                event["as_of"], event["run_id"], event.get("programme"), event.get("total_segments")
            )
        if kind == "prepare":
            return prepare(service.programme, event["as_of"], event["run_id"], event.get("total_segments"))
        assert run is not None
        if kind == "stats":
            return service.stats(run, event["segment"])
        if kind == "merge":
            return service.merge(run)
        if kind == "classify":
            return service.classify(run, Cuts.from_dict(event["cuts"]), event["segment"])
        return service.summarize(run, event.get("cuts"))

    call = step or direct
    fan_out = each or (lambda fn, events: [fn(e) for e in events])
    as_of_text = as_of.isoformat() if isinstance(as_of, date) else as_of
    prepare_event = {
        "step": "prepare",
        "as_of": as_of_text,
        "run_id": run_id,
        "total_segments": total_segments,
    }
    if dry_run:
        prepare_event.update({"dry_run": True, "programme": programme})
    prepared = call(prepare_event)
    run = prepared["run"]
    if run["needs_stats"]:
        fan_out(call, [{"step": "stats", "run": run, "segment": s} for s in prepared["segments"]])
    cuts = call({"step": "merge", "run": run})
    workers = fan_out(
        call, [{"step": "classify", "run": run, "cuts": cuts, "segment": s} for s in prepared["segments"]]
    )
    summary = call({"step": "summarize", "run": run, "cuts": cuts})
    return {"run": run, "cuts": cuts, "workers": workers, "summary": summary}
