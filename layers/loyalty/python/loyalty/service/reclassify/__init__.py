"""The monthly reclassification, as the steps Step Functions runs (functions/reclassify/handler.py)
and the local tool runs in-process (tools/loyalty_tools/reclassify_local.py):

    prepare -> [stats per scan segment -> merge] -> classify per scan segment -> summarize

- prepare: the period and run id, the scan segments to fan out over, whether statistics are needed.
- stats: one pass over a segment, building mergeable Stats (domain/scoring.py); kept in the RunStore.
- merge: all segments' Stats -> Cuts (4 cut points per axis, the median purchase interval, the
  median value estimate, the BG/NBD parameters fitted on the merged sample of at most
  reservoir.DEFAULT_SIZE customers): small, they travel in the state to every classify worker.
- classify: one pass over a segment, page by page. For each page: classify every profile (pure),
  PUBLISH the events of the changed ones (deterministic ids; PutEvents batches of up to 10, a
  customer's events never split, sent concurrently) and wait until every batch of the page is
  accepted, THEN write the changed profiles (concurrently, `threads` at a time), each conditionally
  on its version (classified_period = the period). A conflict (ingest wrote the customer meanwhile)
  re-reads, recomputes, publishes any event not yet published, and writes again. A failure anywhere
  in a page stops the pass after the calls in flight: no profile is written before its events are
  out, and no later page is read. The segment's tally (counts, migration) goes to the RunStore; the
  step returns small counts. Memory: one page and its outcomes at a time.
- summarize: merges the tallies, publishes ReclassificationCompleted once per period (a rerun finds
  the period's summary and publishes nothing), returns the summary for metrics.

Delivery: a crash after publishing and before writing re-publishes the same ids on the rerun
(consumers drop duplicates); a crash after writing means the events were already out; a rerun of a
finished period finds every profile already classified (no change, no write, no event).

The package: `run.py` (the run description and prepare), `tally.py` (what a pass counts, merged),
`worker.py` (the service: the steps over one segment), `steps.py` (the steps one after another).
"""

from loyalty.service.reclassify.run import (
    CUSTOMERS_PER_SEGMENT,
    DEFAULT_SEGMENTS,
    MAX_SEGMENTS,
    PREFIX,
    PUBLISH_BATCH,
    WORKER_THREADS,
    IncompleteRun,
    Run,
    as_of_date,
    dry_run_report_key,
    prepare,
    segments_for,
    summary_key,
)
from loyalty.service.reclassify.steps import run_steps
from loyalty.service.reclassify.tally import Tally, completed_detail, merge_all_tallies
from loyalty.service.reclassify.worker import ReclassifyService, Saved

__all__ = [
    "CUSTOMERS_PER_SEGMENT", "DEFAULT_SEGMENTS", "MAX_SEGMENTS", "PREFIX", "PUBLISH_BATCH", "WORKER_THREADS",
    "IncompleteRun", "ReclassifyService", "Run", "Saved", "Tally", "as_of_date", "completed_detail",
    "dry_run_report_key", "merge_all_tallies", "prepare", "run_steps", "segments_for", "summary_key",
]  # fmt: skip
