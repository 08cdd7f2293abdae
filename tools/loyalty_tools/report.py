"""`loyalty report`: segment and tier movement, migration and points, as terminal tables and pictures.

The numbers come from the monthly runs' ReclassificationCompleted summaries (the run bucket keeps one
per period: counts per segment and tier after the run, and the migration matrix) and from one
parallel scan of the customers table (points ledger, points issued per month from the monthly
buckets, today's segments and tiers when no summary exists, and each classified customer's
P(alive) against their recency at their last run). The demo builds the same ReportData
from the summaries its own runs return, so both print and draw the same things.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.domain.classify import period_scores
from loyalty.domain.profile import Profile
from loyalty.domain.reservoir import Reservoir
from loyalty.domain.scoring import RunWindow
from loyalty.programme import Programme
from loyalty.service.period_cuts import PeriodCuts
from rich import box
from rich.console import Console
from rich.table import Table

from loyalty_tools.progress import make_console

UNCLASSIFIED = "(none)"
ALIVE_POINTS = 5_000


@dataclass
class ReportData:
    title: str
    periods: list[str] = field(default_factory=list)
    segments: dict[str, dict[str, int]] = field(default_factory=dict)  # period -> segment -> customers
    tiers: dict[str, dict[str, int]] = field(default_factory=dict)  # period -> tier -> customers
    migration: dict[str, dict[str, int]] = field(default_factory=dict)  # before -> after -> customers
    migration_period: str | None = None
    points_issued: dict[str, int] = field(default_factory=dict)  # month -> points (net of returns)
    points_redeemed: dict[str, int] | None = None  # month -> points; None when unknown by month
    ledger: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)  # detail-type -> events consumed
    facts: dict[str, Any] = field(default_factory=dict)
    segment_order: list[str] = field(default_factory=list)
    tier_order: list[str] = field(default_factory=list)
    timezone: str = "UTC"  # the programme's: recency is counted in its days
    # P(alive) at each customer's last run: a uniform sample of (recency days, P(alive), segment) for the
    # scatter (ALIVE_POINTS at most, so the picture stays readable whatever the base), and exact sums per
    # segment for the means (thousandths: P(alive) has 3 places).
    alive_points: Reservoir = field(default_factory=lambda: Reservoir(ALIVE_POINTS))
    alive_thousandths: Counter[str] = field(default_factory=Counter)
    alive_customers: Counter[str] = field(default_factory=Counter)
    # period -> the summary's revenue_12m, tier_segment and experiments (report_marketing.py)
    revenue: dict[str, dict[str, str]] = field(default_factory=dict)
    tier_segment: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def alive_means(self) -> dict[str, Decimal]:
        """Mean P(alive) per segment (3 places, half up), in segment order."""
        names = self._ordered(self.alive_customers, self.segment_order)
        return {
            n: (Decimal(self.alive_thousandths[n]) / 1000 / self.alive_customers[n]).quantize(
                Decimal("0.001"), ROUND_HALF_UP
            )
            for n in names
            if self.alive_customers[n]
        }

    def add_alive(self, profile: Profile, p_alive: Decimal | None, period: str | None) -> None:
        """`p_alive` as of the last finished `period` (computed from its cuts: not stored)."""
        if p_alive is None or not period or not profile.classified_period:
            return
        segment = profile.segment or UNCLASSIFIED
        self.alive_thousandths[segment] += int(p_alive * 1000)
        self.alive_customers[segment] += 1
        if profile.last_purchase_at:
            ref = RunWindow.for_period(period).ref_date
            last = datetime.fromisoformat(profile.last_purchase_at).astimezone(ZoneInfo(self.timezone)).date()
            if last < ref:  # a purchase after the run: its P(alive) is not about that recency
                point = ((ref - last).days, float(p_alive), segment)
                self.alive_points.offer(profile.customer_id, point)

    def _ordered(self, seen: Iterable[str], order: list[str]) -> list[str]:
        present = set(seen)
        known = [name for name in order if name in present]
        return known + sorted(present - set(known))

    def segment_names(self) -> list[str]:
        return self._ordered((s for c in self.segments.values() for s in c), self.segment_order)

    def tier_names(self) -> list[str]:
        return self._ordered((t for c in self.tiers.values() for t in c), self.tier_order)

    @staticmethod
    def share(counts: Mapping[str, int], name: str) -> float:
        total = sum(counts.values())
        return 100.0 * counts.get(name, 0) / total if total else 0.0

    def migration_table(self) -> tuple[list[str], list[str], dict[str, dict[str, int]]]:
        # The same order on both axes, so customers who stayed sit on the diagonal.
        seen = {*self.migration, *(a for row in self.migration.values() for a in row)} - {UNCLASSIFIED}
        after = self._ordered(seen, self.segment_order)
        before = ([UNCLASSIFIED] if UNCLASSIFIED in self.migration else []) + after
        return before, after, self.migration

    def point_months(self) -> list[str]:
        months = set(self.points_issued) | set(self.points_redeemed or {})
        return sorted(months)

    def add_summary(self, summary: Mapping[str, Any]) -> None:
        """One ReclassificationCompleted detail (or the run bucket's summary.json of a period)."""
        period = str(summary["period"])
        after = summary.get("after") or {}
        if period not in self.periods:
            self.periods.append(period)
            self.periods.sort()
        self.segments[period] = {k: int(v) for k, v in (after.get("segments") or {}).items()}
        self.tiers[period] = {k: int(v) for k, v in (after.get("tiers") or {}).items()}
        self.revenue[period] = dict(summary.get("revenue_12m") or {})
        self.tier_segment[period] = dict(summary.get("tier_segment") or {})
        self.experiments[period] = dict(summary.get("experiments") or {})
        if self.migration_period is None or period >= self.migration_period:
            self.migration_period = period
            self.migration = {
                b: {a: int(n) for a, n in row.items()} for b, row in (summary.get("migration") or {}).items()
            }


def new_report(title: str, programme: Programme) -> ReportData:
    return ReportData(
        title=title,
        segment_order=[rule.name for rule in programme.segments] + [programme.fallback_segment],
        tier_order=[tier.name for tier in programme.tiers],
        timezone=programme.timezone,
    )


AliveOf = Callable[[Profile], tuple[Decimal | None, str | None]]  # (P(alive), the period it is as of)


def alive_from_cuts(latest: PeriodCuts | None, programme: Programme) -> AliveOf:
    """Each profile's P(alive) at the last finished period, from that period's cuts."""

    def alive(profile: Profile) -> tuple[Decimal | None, str | None]:
        if latest is None:
            return None, None
        liveness = period_scores(profile, programme, latest.cuts, latest.window).liveness
        return (None if liveness is None else liveness.p_alive), latest.period

    return alive


def add_profiles(
    data: ReportData, profiles: Iterable[Profile], snapshot: bool, alive: AliveOf | None = None
) -> int:
    """Ledger totals and points issued per month from the profiles, P(alive) by `alive`; with
    `snapshot`, also the current segments and tiers (of the latest classified period: a profile the
    run did not need to rewrite keeps an older classified_period) for stacks without run summaries."""
    ledger: Counter[str] = Counter()
    issued: Counter[str] = Counter()
    segments: dict[str, Counter[str]] = {}
    tiers: dict[str, Counter[str]] = {}
    latest_period: str | None = None
    count = 0
    for profile in profiles:
        count += 1
        ledger["earned"] += profile.points_earned
        ledger["redeemed"] += profile.points_redeemed
        ledger["expired"] += profile.points_expired
        ledger["balance"] += profile.points_balance
        for month, stats in profile.months.items():
            issued[month] += stats.points
        if alive is not None:
            data.add_alive(profile, *alive(profile))
        if snapshot and profile.classified_period:
            segments.setdefault("latest", Counter())[profile.segment or UNCLASSIFIED] += 1
            tiers.setdefault("latest", Counter())[profile.tier] += 1
            latest_period = max(latest_period or "", profile.classified_period)
    data.ledger = {k: ledger[k] for k in ("earned", "redeemed", "expired", "balance")}
    if not data.points_issued:
        data.points_issued = dict(sorted(issued.items()))
    if snapshot and segments and latest_period:
        latest = latest_period
        data.periods = sorted({*data.periods, latest})
        data.segments[latest] = dict(segments["latest"])
        data.tiers[latest] = dict(tiers["latest"])
    data.facts.setdefault("customers", count)
    return count


# ---------------------------------------------------------------------------------------------
# Terminal tables


def _pct(value: float) -> str:
    return f"{value:4.1f}" if value else "  ."


def abbreviation(name: str) -> str:
    """A short column header: initials of several words (Potential loyalists -> PL), else 3 letters."""
    if name == UNCLASSIFIED:
        return "-"
    words = [w for w in name.replace("'", "").split() if w]
    return "".join(w[0].upper() for w in words) if len(words) > 1 else name[:3]


def _whole_pct(value: float) -> str:
    """Whole percent, half up (format() rounds 0.5 to even: 1 customer in 200 showed as "0")."""
    if not value:
        return "."
    return "<1" if value < 1 else str(int(value + 0.5))


TABLE_WIDTH = 80  # the terminal tables fit this, headers whole, up to 14 segments (the default map)
ROW_LABEL_WIDTH = 19  # "Potential loyalists"; longer segment names wrap in the migration table


def _table(console: Console, title: str) -> Table:
    """The title on its own line (a table title wraps to the table's width), then a table with no cell
    padding and no edge: columns are separated by one space, a share column is 3 wide."""
    console.print(title, style="bold", markup=False, highlight=False)
    return Table(box=box.SIMPLE_HEAD, padding=(0, 0), show_edge=False)


def _count(value: int) -> str:
    """At most 3 characters, so 13 segment columns fit 80: 999, 1k, 57k, 3M (rounded)."""
    if value < 1000:
        return str(value)
    if value < 999_500:
        return f"{round(value / 1000)}k"
    return f"{max(1, round(value / 1_000_000))}M"


def _legend(console: Console, names: list[str]) -> None:
    import textwrap

    text = "columns: " + ", ".join(f"{abbreviation(n)} = {n}" for n in names)
    for line in textwrap.wrap(text, width=min(console.width, TABLE_WIDTH), subsequent_indent="  "):
        console.print(line, style="dim", markup=False, highlight=False)


def print_tables(data: ReportData, console: Console | None = None, periods: int = 13) -> None:
    """Months as rows and segments (or tiers) as abbreviated columns, so the tables fit 80 columns."""
    console = console or make_console()
    shown = data.periods[-periods:]
    names = data.segment_names()
    table = _table(console, "Segment shares by month (% of classified customers)")
    table.add_column("month", style="bold", no_wrap=True, min_width=8)
    for name in names:
        table.add_column(abbreviation(name), justify="right", no_wrap=True, min_width=3)
    table.add_column("customers", justify="right", style="dim", no_wrap=True, min_width=10)
    for period in shown:
        counts = data.segments.get(period, {})
        table.add_row(
            period, *(_whole_pct(data.share(counts, n)) for n in names), f"{sum(counts.values()):,}"
        )
    console.print(table)
    _legend(console, names)

    tiers = data.tier_names()
    table = _table(console, "Tier shares by month (% of customers)")
    table.add_column("month", style="bold", no_wrap=True, min_width=8)
    for name in tiers:
        table.add_column(name, justify="right", no_wrap=True, min_width=max(7, len(name) + 1))
    for period in shown:
        counts = data.tiers.get(period, {})
        table.add_row(period, *(_pct(data.share(counts, n)) for n in tiers))
    console.print(table)

    before, after, matrix = data.migration_table()
    if matrix:
        table = _table(
            console,
            f"Migration at the {data.migration_period} run (customers; rows: before, columns: after)",
        )
        # Row labels wrap past 19 characters ("Dormant, worth winning back" on two lines), so 14
        # segment columns still fit 80.
        width = min(ROW_LABEL_WIDTH, max(len(b) for b in [*before, "before \\ after"]))
        table.add_column("before \\ after", style="bold", min_width=width, max_width=ROW_LABEL_WIDTH)
        for name in after:
            table.add_column(abbreviation(name), justify="right", no_wrap=True, min_width=3)
        for b in before:
            row = matrix.get(b, {})
            table.add_row(b, *(_count(row[a]) if row.get(a) else "." for a in after))
        console.print(table)
        _legend(console, after)

    means = data.alive_means()
    if means:
        table = _table(console, "Mean P(alive) by segment (BG/NBD, at each customer's last run)")
        table.add_column("segment", no_wrap=True, min_width=27)
        table.add_column("P(alive)", justify="right", no_wrap=True, min_width=8)
        table.add_column("customers", justify="right", no_wrap=True, min_width=10)
        for name, mean in means.items():
            table.add_row(name, str(mean), f"{data.alive_customers[name]:,}")
        console.print(table)

    if data.points_issued or data.ledger:
        table = _table(console, "Points")
        table.add_column("month", no_wrap=True, min_width=8)
        table.add_column("issued", justify="right", no_wrap=True, min_width=11)
        if data.points_redeemed is not None:
            table.add_column("redeemed", justify="right", no_wrap=True, min_width=11)
        for month in data.point_months()[-periods:]:
            cells = [month, f"{data.points_issued.get(month, 0):,}"]
            if data.points_redeemed is not None:
                cells.append(f"{data.points_redeemed.get(month, 0):,}")
            table.add_row(*cells)
        console.print(table)
        if data.ledger:
            console.print("Points ledger: " + ", ".join(f"{k} {v:,}" for k, v in data.ledger.items()))

    if data.events:
        table = _table(console, "Events consumed by the marketing queue (deduplicated by event_id)")
        table.add_column("detail-type", no_wrap=True, min_width=27)
        table.add_column("events", justify="right", no_wrap=True, min_width=9)
        for name, count in sorted(data.events.items()):
            table.add_row(name, f"{count:,}")
        console.print(table)

    from loyalty_tools.report_marketing import print_marketing_tables

    print_marketing_tables(data, console)


# ---------------------------------------------------------------------------------------------
# The command


def read_summaries(bucket: str | None) -> list[dict[str, Any]]:
    """Every period's summary.json from the reclassification run bucket, oldest first."""
    if not bucket:
        return []
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    s3 = boto3.client("s3")
    out = []
    try:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="reclassification/", Delimiter="/"
        )
        prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
        for prefix in sorted(prefixes):
            try:
                body = s3.get_object(Bucket=bucket, Key=prefix + "summary.json")["Body"].read()
            except s3.exceptions.NoSuchKey:
                continue
            import json

            out.append(json.loads(body))
    except (BotoCoreError, ClientError):
        return []
    return out


def run_report(target_kind: str, out_dir: str, stack_name: str, segments: int = 4) -> ReportData:
    from loyalty.programme import load_programme

    from loyalty_tools.charts import write_report
    from loyalty_tools.export import scan_profiles
    from loyalty_tools.reclassify_local import LOCAL_BUCKET
    from loyalty_tools.target import resolve_target

    console = make_console()
    target = resolve_target(target_kind, stack_name)
    settings = target.activate()
    programme = load_programme(settings.programme_file)
    console.print(f"[bold]Report[/bold] for {target.description}")
    data = new_report(f"Loyalty report ({target.description})", programme)
    bucket = target.run_bucket or (LOCAL_BUCKET if target.kind != "aws" else None)
    summaries = read_summaries(bucket)
    for summary in summaries:
        data.add_summary(summary)
    from loyalty.adapters.runstore import S3RunStore
    from loyalty.service.period_cuts import LatestCuts

    latest = LatestCuts(S3RunStore(bucket) if bucket else None)()
    alive = alive_from_cuts(latest, programme)
    count = add_profiles(data, scan_profiles(segments), snapshot=not summaries, alive=alive)
    data.facts.update(
        {
            "customers": count,
            "monthly runs found": len(summaries),
            "source": "run summaries + customers table" if summaries else "customers table only",
        }
    )
    print_tables(data, console)
    written = write_report(data, out_dir)
    console.print(f"Wrote {len(written)} files to {Path(out_dir).resolve()} (open index.html)")
    return data
