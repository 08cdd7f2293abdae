"""`loyalty adjust FILE.csv`: bulk back-office adjustments through the API's own AdjustmentService (same
checks, same records, same PointsAdjusted events), with a progress bar and a rejects file.

Columns customer_id, points, reason, note and, optionally, adjustment_id. Without adjustment_id a row's
id is derived from its content (and how many identical rows came before it), so running the same file
again adjusts nothing twice: every row answers as the first time."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED = ("customer_id", "points", "reason")


@dataclass
class AdjustResult:
    rows: int = 0
    applied: int = 0
    rejected: int = 0
    rejects_path: str | None = None
    reasons: Counter[str] = field(default_factory=Counter)


def row_id(row: dict[str, str], seen: Counter[str]) -> str:
    content = "|".join(row.get(k, "").strip() for k in ("customer_id", "points", "reason", "note"))
    seen[content] += 1
    digest = hashlib.sha256(f"{content}|{seen[content]}".encode()).hexdigest()[:24]
    return f"csv-{digest}"


def run_adjust(
    file: str, rejects: str | None, delimiter: str, target_kind: str, stack_name: str
) -> AdjustResult:
    from loyalty.bootstrap import build_services
    from loyalty.errors import ApiError
    from loyalty.programme import load_programme
    from loyalty.service.adjustments import AdjustmentRequest

    from loyalty_tools.progress import make_console, progress_bar
    from loyalty_tools.target import resolve_target

    console = make_console()
    target = resolve_target(target_kind, stack_name)
    settings = target.activate()
    path = Path(file)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValueError(
            f"{file}: missing column(s) {', '.join(missing)} (expected {', '.join(REQUIRED)}, note)"
        )
    service = build_services(settings, load_programme(settings.programme_file)).adjustment_service()
    result = AdjustResult(rows=len(rows))
    console.print(f"Adjusting {len(rows):,} rows in {target.description}")
    out: list[tuple[int, dict[str, str], str]] = []
    seen: Counter[str] = Counter()
    with progress_bar(console) as progress:
        task = progress.add_task("adjust", total=len(rows), unit="rows")
        for line, row in enumerate(rows, start=2):
            adjustment_id = (row.get("adjustment_id") or "").strip() or row_id(row, seen)
            try:
                points = int((row.get("points") or "").strip())
            except ValueError:
                out.append((line, row, "points: must be a non-zero whole number"))
                progress.advance(task)
                continue
            request = AdjustmentRequest(
                (row.get("customer_id") or "").strip(),
                adjustment_id,
                points,
                (row.get("reason") or "").strip(),
                (row.get("note") or "").strip(),
            )
            try:
                service.adjust(request)
                result.applied += 1
            except ApiError as error:
                out.append((line, row, error.message))
            progress.advance(task)
    result.rejected = len(out)
    result.reasons = Counter(reason.split(":")[0] for _, _, reason in out)
    if out:
        target_path = Path(rejects) if rejects else path.with_suffix(".rejects.csv")
        with target_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter=delimiter)
            writer.writerow(["line", *header, "reason"])
            for line, raw, reason in out:
                writer.writerow([line, *(raw.get(h, "") for h in header), reason])
        result.rejects_path = str(target_path)
    console.print(f"rows {result.rows:,}: applied {result.applied:,}, rejected {result.rejected:,}")
    if result.rejects_path:
        console.print(f"rejects (with the reason per row): {result.rejects_path}", markup=False)
    return result
