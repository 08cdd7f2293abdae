"""The marketing part of `loyalty report` (and the demo's report): revenue per segment, the tier x
segment table, and one chart per experiment (treatment against holdout over the months), from the
monthly runs' summaries (ReclassificationCompleted: revenue_12m, tier_segment, experiments)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from loyalty_tools.report import ReportData

MARKETING_CHARTS = {
    "revenue.png": "Revenue per segment (12-month spend), last run",
    "tier_segment.png": "Tiers by segment, last run",
    "experiments.png": "Experiments: treatment against holdout",
}


def success_rates(data: ReportData) -> dict[str, dict[str, list[tuple[str, float, float, str, str]]]]:
    """experiment -> cohort -> [(period, treatment rate, holdout rate, ci95 low, ci95 high)]: the share
    of each group's cohort that reached any success segment (the uplift's interval is that of the
    success segment with the largest difference)."""
    out: dict[str, dict[str, list[tuple[str, float, float, str, str]]]] = {}
    for period in data.periods:
        for name, cohorts in (data.experiments.get(period) or {}).items():
            for cohort, groups in cohorts.items():
                uplifts = {k: v for k, v in (groups.get("uplift") or {}).items() if v}
                rates = []
                for group in ("treatment", "holdout"):
                    customers = groups[group]["customers"]
                    reached = sum(groups[group]["moved_to"].get(s, 0) for s in uplifts)
                    rates.append(reached / customers if customers else 0.0)
                best = max(uplifts.values(), key=lambda u: Decimal(u["difference"]), default=None)
                low, high = (best["ci95_low"], best["ci95_high"]) if best else ("-", "-")
                out.setdefault(name, {}).setdefault(cohort, []).append(
                    (period, rates[0], rates[1], low, high)
                )
    return out


def print_marketing_tables(data: ReportData, console: Console) -> None:
    from loyalty_tools.report import _legend, _table, abbreviation

    last = data.periods[-1] if data.periods else None
    revenue = data.revenue.get(last or "", {})
    if revenue:
        total = sum(Decimal(v) for v in revenue.values()) or Decimal(1)
        table = _table(console, f"Revenue per segment after the {last} run (12-month net spend)")
        table.add_column("segment", no_wrap=True, min_width=27)
        table.add_column("revenue", justify="right", no_wrap=True, min_width=12)
        table.add_column("share", justify="right", no_wrap=True, min_width=6)
        for name in data._ordered(revenue, data.segment_order):
            amount = Decimal(revenue[name])
            table.add_row(name, f"{amount:,.2f}", f"{100 * amount / total:.0f}%")
        console.print(table)
    cross = data.tier_segment.get(last or "", {})
    if cross:
        segments = data._ordered({s for row in cross.values() for s in row}, data.segment_order)
        table = _table(console, f"Customers by tier and segment after the {last} run")
        table.add_column("tier", no_wrap=True, min_width=8)
        for name in segments:
            table.add_column(abbreviation(name), justify="right", no_wrap=True, min_width=3)
        for tier in data._ordered(cross, data.tier_order):
            table.add_row(
                tier, *(f"{cross[tier].get(s, 0):,}" if cross[tier].get(s) else "." for s in segments)
            )
        console.print(table)
        _legend(console, segments)
    for name, cohorts in success_rates(data).items():
        for cohort, rows in cohorts.items():
            table = _table(console, f"Experiment {name}, cohort {cohort}: reached a success segment")
            for column in ("month", "treatment", "holdout", "uplift 95% CI"):
                table.add_column(column, justify="right", no_wrap=True, min_width=8)
            for period, treated, held, low, high in rows:
                table.add_row(period, f"{100 * treated:.1f}%", f"{100 * held:.1f}%", f"[{low}, {high}]")
            console.print(table)


def revenue_chart(data: ReportData, path: Path) -> None:
    from loyalty_tools.charts import plt, segment_colours

    last = data.periods[-1] if data.periods else ""
    revenue = data.revenue.get(last, {})
    names = data._ordered(revenue, data.segment_order)
    fig, ax = plt.subplots(figsize=(11, 0.4 * len(names) + 1.8))
    if not names:
        ax.text(0.5, 0.5, "No revenue yet (it comes with a monthly run)", ha="center", va="center")
        ax.set_axis_off()
    else:
        colours = segment_colours(names)
        ax.barh(names, [float(Decimal(revenue[n])) for n in names], color=[colours[n] for n in names])
        ax.invert_yaxis()
        ax.set_xlabel("12-month net spend")
        ax.set_title(f"Revenue per segment after the {last} run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tier_segment_chart(data: ReportData, path: Path) -> None:
    from loyalty_tools.charts import plt

    last = data.periods[-1] if data.periods else ""
    cross = data.tier_segment.get(last, {})
    fig, ax = plt.subplots(figsize=(11, 4.5))
    if not cross:
        ax.text(
            0.5, 0.5, "No tier x segment table yet (it comes with a monthly run)", ha="center", va="center"
        )
        ax.set_axis_off()
    else:
        segments = data._ordered({s for row in cross.values() for s in row}, data.segment_order)
        tiers = data._ordered(cross, data.tier_order)
        grid = [[cross[t].get(s, 0) for s in segments] for t in tiers]
        ax.imshow(grid, cmap="Greens", aspect="auto")
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if value:
                    ax.text(j, i, f"{value:,}", ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(segments)), segments, rotation=40, ha="right")
        ax.set_yticks(range(len(tiers)), tiers)
        ax.set_title(f"Customers by tier and segment after the {last} run")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def experiments_chart(data: ReportData, path: Path) -> None:
    """One panel per experiment and cohort: the share of each group that reached a success segment."""
    from loyalty_tools.charts import plt

    panels = [(n, c, rows) for n, cohorts in success_rates(data).items() for c, rows in cohorts.items()]
    fig, axes = plt.subplots(max(1, len(panels)), 1, figsize=(11, 3.6 * max(1, len(panels))), squeeze=False)
    if not panels:
        axes[0][0].text(0.5, 0.5, "No experiment measured yet (it needs two monthly runs)", ha="center")
        axes[0][0].set_axis_off()
    for ax, (name, cohort, rows) in zip((a[0] for a in axes), panels, strict=False):
        periods = [r[0] for r in rows]
        ax.plot(periods, [100 * r[1] for r in rows], marker="o", label="treatment", color="#1f77b4")
        ax.plot(periods, [100 * r[2] for r in rows], marker="o", label="holdout", color="#7f7f7f")
        ax.set_ylabel("% reaching a success segment")
        ax.set_ylim(0, 100)
        ax.set_title(f"{name}: {cohort} cohort")
        ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def marketing_captions(data: ReportData) -> dict[str, str]:
    last = data.periods[-1] if data.periods else None
    revenue = data.revenue.get(last or "", {})
    if revenue:
        top = max(revenue, key=lambda n: Decimal(revenue[n]))
        revenue_text = (
            f"The 12-month net spend of each segment's customers after the {last} run; the largest is "
            f"{top} ({Decimal(revenue[top]):,.2f})."
        )
    else:
        revenue_text = "No revenue per segment yet: it comes with a monthly run."
    cross = data.tier_segment.get(last or "", {})
    cross_text = (
        f"Customers per tier (rows) and segment (columns) after the {last} run: "
        f"{sum(sum(r.values()) for r in cross.values()):,} in all."
        if cross
        else "No tier x segment table yet: it comes with a monthly run."
    )
    rates = success_rates(data)
    if rates:
        parts = []
        for name, cohorts in rates.items():
            for cohort, rows in cohorts.items():
                period, treated, held, low, high = rows[-1]
                parts.append(
                    f"{name} ({cohort}): in {period} {100 * treated:.1f}% of the treatment group and "
                    f"{100 * held:.1f}% of the holdout reached a success segment, "
                    f"uplift 95% CI [{low}, {high}]"
                )
        experiments_text = "; ".join(parts) + "."
    else:
        experiments_text = (
            "No experiment measured yet: it needs an experiment in the programme and two monthly runs."
        )
    return {"revenue.png": revenue_text, "tier_segment.png": cross_text, "experiments.png": experiments_text}


MAKERS: dict[str, Any] = {
    "revenue.png": revenue_chart,
    "tier_segment.png": tier_segment_chart,
    "experiments.png": experiments_chart,
}
