"""Reclassify Lambda: the steps of the monthly Step Functions state machine.

One function, one handler per state (prepare, stats, merge, classify, summarize), all thin: the work
is in loyalty.service.reclassify. `handler` dispatches on event["step"] (what the state machine and
the local runner send); each step can also be wired as its own handler.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from loyalty.bootstrap import reclassify_service
from loyalty.domain.scoring import Cuts
from loyalty.service.reclassify import ReclassifyService, Run
from loyalty.service.reclassify import prepare as prepare_run
from loyalty.settings import get_settings
from loyalty.tracing import TRACED_MODULES

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)  # scans, writes, PutEvents: subsegments


@lru_cache(maxsize=1)
def service() -> ReclassifyService:
    return reclassify_service(get_settings())


def prepare(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    svc = service()
    count = getattr(svc.store, "approximate_count", lambda: None)()
    if event.get("dry_run"):  # {"as_of", "dry_run": true, "programme": inline or run-bucket key}
        return svc.prepare_dry_run(
            event.get("as_of"),
            str(event["run_id"]),
            event.get("programme"),
            event.get("total_segments"),
            estimated_customers=count,
        )
    return prepare_run(
        svc.programme,
        event.get("as_of"),
        str(event["run_id"]),
        event.get("total_segments"),
        estimated_customers=count,
    )


def stats(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return service().stats(Run.from_dict(event["run"]), int(event["segment"]))


def merge(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return service().merge(Run.from_dict(event["run"]))


def classify(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return service().classify(
        Run.from_dict(event["run"]), Cuts.from_dict(event["cuts"]), int(event["segment"])
    )


def summarize(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    summary = service().summarize(Run.from_dict(event["run"]), event.get("cuts"))
    if summary.get("dry_run"):
        return summary  # a what-if: no metrics, they would count customers as if the run had happened
    emit_metrics(summary)
    metrics.flush_metrics()
    return summary


def emit_metrics(summary: dict[str, Any]) -> None:
    """The summary as CloudWatch EMF metrics: run totals, then customers per segment and per tier."""
    for name, value in (
        ("CustomersScanned", summary["customers"]),
        ("CustomersClassified", summary["classified"]),
        ("CustomersChanged", summary["changed"]),
        ("PointsExpired", summary["points_expired"]),
        ("EventsPublished", sum(summary["events"].values())),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for dimension, counts in (("Segment", summary["after"]["segments"]), ("Tier", summary["after"]["tiers"])):
        for label, value in counts.items():
            with single_metric(name=f"{dimension}Customers", unit=MetricUnit.Count, value=value) as metric:
                metric.add_dimension(dimension, label)


STEPS = {"prepare": prepare, "stats": stats, "merge": merge, "classify": classify, "summarize": summarize}


@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    step = event.get("step")
    if step not in STEPS:
        raise ValueError(f"step must be one of {sorted(STEPS)}, got {step!r}")
    logger.append_keys(step=step, period=(event.get("run") or {}).get("period"), segment=event.get("segment"))
    result = STEPS[step](event, context)
    logger.info("step done", extra={"result": {k: v for k, v in result.items() if not isinstance(v, dict)}})
    return result
