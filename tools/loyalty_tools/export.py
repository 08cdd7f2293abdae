"""`loyalty export segments --as-of YYYY-MM-DD`: one CSV row per customer, from a parallel scan.

Columns (EXPORT_COLUMNS): the RFM facts recomputed from the profile for the window of the run as of
the date (the same domain functions the monthly run uses: the 12 complete programme months before
the date's month, recency measured to the first day of that month), and the last classification
stored on the profile (r, f, m, segment, favourite category), with tier, A/B bucket and balance.
Rows come in scan order (unsorted); money is a decimal string in the programme currency.
"""

from __future__ import annotations

import csv
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from loyalty.domain.profile import Profile
from loyalty.events import ab_bucket
from loyalty.money import format_amount
from loyalty.programme import Programme

EXPORT_COLUMNS = (
    "customer_id", "recency_days", "frequency_12m", "monetary_12m", "r", "f", "m", "segment", "tier",
    "favourite_category", "ab_bucket", "points_balance",
)  # fmt: skip
PAGE_SIZE = 500


def scan_profiles(total_segments: int = 4, page_size: int = PAGE_SIZE) -> Iterator[Profile]:
    """Every customer profile, read by `total_segments` parallel-scan workers, page by page (a
    bounded queue: memory stays a few pages whatever the table size)."""
    from loyalty.adapters.customer_store import DynamoCustomerScan

    scan = DynamoCustomerScan(page_size, consistent_read=True)
    pages: queue.Queue[Any] = queue.Queue(maxsize=4 * total_segments)
    done = object()
    errors: list[BaseException] = []
    stop = threading.Event()

    def worker(segment: int) -> None:
        try:
            for page in scan.scan_segment(segment, total_segments):
                pages.put(page)
                if stop.is_set():
                    break
        except BaseException as exc:  # surfaced to the caller below
            errors.append(exc)
        finally:
            pages.put(done)

    with ThreadPoolExecutor(max_workers=total_segments, thread_name_prefix="scan") as pool:
        for segment in range(total_segments):
            pool.submit(worker, segment)
        finished = 0
        try:
            while finished < total_segments:
                page = pages.get()
                if page is done:
                    finished += 1
                    continue
                yield from page
        finally:
            stop.set()
            while finished < total_segments:  # unblock workers if the caller stopped early
                if pages.get() is done:
                    finished += 1
    if errors:
        raise errors[0]


def _rfm(profile: Profile, as_of: date, programme: Programme, latest: Any) -> tuple[Any, Any, Any]:
    """The RFM scores (not stored): from the latest finished period's cuts when `as_of` is that run's
    (a period_cuts.PeriodCuts), blank otherwise or for a customer not scored."""
    if latest is None or not profile.classified_period:
        return "", "", ""
    from loyalty.domain.classify import period_scores
    from loyalty.domain.scoring import RunWindow

    if RunWindow.as_of(as_of).period != latest.period:
        return "", "", ""
    scores = period_scores(profile, programme, latest.cuts, latest.window).scores
    return ("", "", "") if scores is None else (scores.r, scores.f, scores.m)


def facts_as_of(profile: Profile, as_of: date, programme: Programme) -> tuple[int | None, int, int]:
    """(recency_days, frequency_12m, monetary_12m in minor units) for the run as of `as_of`."""
    try:
        from loyalty.domain.scoring import RunWindow, customer_facts
    except ImportError:  # before the reclassification's domain existed: the profile's own totals
        return _fallback_facts(profile, as_of, programme)
    facts = customer_facts(profile, RunWindow.as_of(as_of), programme)
    return facts.recency_days, facts.frequency, facts.monetary


def _fallback_facts(profile: Profile, as_of: date, programme: Programme) -> tuple[int | None, int, int]:
    from datetime import datetime

    from loyalty.domain.dates import run_period

    period = run_period(as_of)
    totals = profile.totals(period)
    ref = date(as_of.year, as_of.month, 1)
    recency = None
    if profile.last_purchase_at and totals.visits:
        last = datetime.fromisoformat(profile.last_purchase_at.replace("Z", "+00:00")).astimezone(
            programme.zone
        )
        recency = (ref - last.date()).days if last.date() < ref else None
    return recency, totals.visits, max(0, totals.spend)


def export_row(profile: Profile, as_of: date, programme: Programme, latest: Any = None) -> dict[str, Any]:
    recency, frequency, monetary = facts_as_of(profile, as_of, programme)
    r, f, m = _rfm(profile, as_of, programme, latest)
    return {
        "customer_id": profile.customer_id,
        "recency_days": "" if recency is None else recency,
        "frequency_12m": frequency,
        "monetary_12m": format_amount(monetary, programme.currency),
        "r": r,
        "f": f,
        "m": m,
        "segment": profile.segment or "",
        "tier": profile.tier,
        "favourite_category": profile.favourite_category or "",
        "ab_bucket": ab_bucket(profile.customer_id),
        "points_balance": profile.points_balance,
    }


MONEY_COLUMNS = ("monetary_12m",)


@dataclass(frozen=True)
class CsvFormat:
    """`delimiter` ";" and `decimal_comma` for a spreadsheet in French (or German...) settings:
    money then reads 62,40 and opens as a number there."""

    delimiter: str = ","
    decimal_comma: bool = False


def write_segments(
    out: TextIO,
    as_of: date,
    programme: Programme,
    segments: int = 4,
    fmt: CsvFormat = CsvFormat(),
    latest: Any = None,
) -> int:
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n", delimiter=fmt.delimiter)
    writer.writeheader()
    count = 0
    for profile in scan_profiles(segments):
        if profile.erased:
            continue
        row = export_row(profile, as_of, programme, latest)
        if fmt.decimal_comma:
            for column in MONEY_COLUMNS:
                row[column] = str(row[column]).replace(".", ",")
        writer.writerow(row)
        count += 1
    return count


def run_export(
    as_of: date,
    output: str,
    target_kind: str,
    stack_name: str,
    segments: int = 4,
    fmt: CsvFormat = CsvFormat(),
) -> int:
    import sys

    from loyalty.programme import load_programme

    from loyalty_tools.progress import make_console
    from loyalty_tools.target import resolve_target

    console = make_console(stderr=True)
    target = resolve_target(target_kind, stack_name)
    settings = target.activate()
    programme = load_programme(settings.programme_file)
    from loyalty.adapters.runstore import S3RunStore
    from loyalty.domain.scoring import RunWindow
    from loyalty.service.period_cuts import cuts_of

    from loyalty_tools.reclassify_local import LOCAL_BUCKET

    bucket = target.run_bucket or (LOCAL_BUCKET if target.kind != "aws" else None)
    runs = S3RunStore(bucket) if bucket else None
    latest = cuts_of(runs, RunWindow.as_of(as_of).period)  # the scores' cuts: that period's run
    if output == "-":
        count = write_segments(sys.stdout, as_of, programme, segments, fmt, latest)
    else:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            count = write_segments(handle, as_of, programme, segments, fmt, latest)
    console.print(
        f"Exported {count:,} customers as of {as_of.isoformat()} to {output} ({target.description})"
    )
    return count
