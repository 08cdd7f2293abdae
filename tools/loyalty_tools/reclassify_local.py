"""Run the monthly reclassification here, through the same Lambda handler code the state machine calls.

`loyalty reclassify --as-of YYYY-MM-DD` calls run_reclassification(). It goes against whatever AWS
endpoint boto3 is configured for: the local stack (AWS_ENDPOINT_URL, moto in server mode), moto in
process in the tests, or a real account. The steps run in this process, in the
order of the state machine: prepare, stats per scan segment, merge, classify per segment, summarize;
the segments of a pass side by side on threads, as the state machine's Map runs them, so that one
segment's classifying (this process's CPU) overlaps another's writes and events (the server's).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from loyalty.service.reclassify import run_steps, segments_for
from loyalty.settings import Settings, env_name, get_settings

HANDLER = Path(__file__).resolve().parents[2] / "functions" / "reclassify" / "handler.py"
LOCAL_BUCKET = Settings().run_bucket  # the settings default: the bucket the local stack creates
# At least this many scan segments, run side by side: with one (the sizing of a table under 50,000
# customers) the run alternates between classifying a page here and waiting for the server's writes.
# Four: the CLI's threads share one GIL, and the server answers one request at a time (docs/bench.md).
LOCAL_SEGMENTS = 4


@lru_cache(maxsize=1)
def handler_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reclassify_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_bucket(name: str) -> None:
    import boto3

    s3 = boto3.client("s3")
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError:
        region = s3.meta.region_name
        config = (
            {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=name, **config)


def run_reclassification(
    as_of: date,
    *,
    total_segments: int | None = None,
    run_id: str | None = None,
    bucket: str | None = None,
    on_step: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
    dry_run: bool = False,
    programme: Any = None,
    group_writes: bool | None = None,
) -> dict[str, Any]:
    """Reclassify every customer for the period before `as_of` (see docs/reclassification.md).

    as_of: a date in the programme's time zone; the run classifies the last complete month before it
        (as of 2026-03-01 or 2026-03-20: period 2026-02).
    total_segments: DynamoDB parallel-scan segments (default: one per 50,000 items of the table's
        approximate item count, and at least LOCAL_SEGMENTS; see reclassify.segments_for). The
        segments of a pass run side by side, up to LOCAL_SEGMENTS at a time.
    run_id: names the run's documents in the run bucket (default: a fresh uuid, like an execution name).
    bucket: the S3 bucket for the run's partial results (default: settings.run_bucket, i.e.
        $LOYALTY_RUN_BUCKET, else "loyalty-runs"; created if missing).
    on_step: called with (event, result) after each step (a progress bar, for instance).
    dry_run, programme: the state machine's dry-run input (`loyalty simulate`): classify under the
        candidate programme (inline JSON; None: the current one), write and publish nothing, the
        report in the run bucket (loyalty.service.dry_run).
    group_writes: the classification writes that the worker's threads have in flight together go out
        as one TransactWriteItems (grouped_saves.py); default: when boto3 goes to a local endpoint
        (AWS_ENDPOINT_URL, the local stack), never on DynamoDB itself (a transactional write costs
        twice the write units there).

    Tables, bus and programme come from loyalty.settings (the LOYALTY_* environment). Returns
    {"run", "cuts", "workers": [per-segment counts], "summary": ReclassificationCompleted detail +
    "published"}. A second run for the same period writes nothing and publishes nothing.
    """
    bucket = bucket or Settings.from_env().run_bucket
    ensure_bucket(bucket)
    os.environ[env_name("run_bucket")] = bucket
    get_settings.cache_clear()  # the handler's service reads the bucket from the settings
    module = handler_module()
    module.service.cache_clear()  # settings, endpoint or bucket may differ from a previous call

    def step(event: dict[str, Any]) -> dict[str, Any]:
        result = module.handler(event, None)
        if on_step is not None:
            on_step(event, result)
        return result

    service = module.service()
    if group_writes if group_writes is not None else bool(os.environ.get("AWS_ENDPOINT_URL")):
        group_saves(service)
    if total_segments is None:
        count = getattr(service.store, "approximate_count", lambda: None)()
        total_segments = max(LOCAL_SEGMENTS, segments_for(count))
    return run_steps(
        service,
        as_of,
        run_id or f"local-{uuid.uuid4().hex[:12]}",
        total_segments,
        step,
        dry_run=dry_run,
        programme=programme,
        each=side_by_side,
    )


def group_saves(service: Any) -> None:
    """The service's customer scan (under its pacing, when paced) with grouped classification writes."""
    from loyalty.adapters.customer_store import DynamoCustomerScan

    from loyalty_tools.grouped_saves import GroupedSaves

    store = service.store
    if isinstance(getattr(store, "inner", None), DynamoCustomerScan):  # paced: grouped under the pacing
        store.inner = GroupedSaves(store.inner)
    elif isinstance(store, DynamoCustomerScan):
        service.store = GroupedSaves(store)


def side_by_side(call: Callable[[dict[str, Any]], dict[str, Any]], events: list[dict[str, Any]]) -> list[Any]:
    """The per-segment states of one pass on up to LOCAL_SEGMENTS threads, results in the events'
    order (what the Map state does; a failed segment fails the pass once the others have stopped)."""
    if len(events) <= 1:
        return [call(event) for event in events]
    with ThreadPoolExecutor(min(len(events), LOCAL_SEGMENTS), thread_name_prefix="segment") as pool:
        return list(pool.map(call, events))


@contextlib.contextmanager
def handler_output(path: Path) -> Iterator[None]:
    """Send what the in-process handler prints (EMF metrics lines, logs) to a file: in Lambda that is
    CloudWatch Logs; on a laptop it would mix with the command's own output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle, contextlib.redirect_stdout(handle):
        yield
