"""The pictures of `loyalty demo` and `loyalty report`: PNG charts (matplotlib, Agg) and an index.html.

Input is a ReportData (tools/loyalty_tools/report.py), whatever produced it: the demo's monthly runs
or a deployed stack's reclassification history.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only, no display; set before pyplot is imported

import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from loyalty_tools.report import ReportData

# A fixed colour per default segment, so every chart reads the same way (others get the cycle).
SEGMENT_COLOURS = {
    "Champions": "#1b7837",
    "Loyal": "#5aae61",
    "Potential loyalists": "#a6dba0",
    "New": "#80cdc1",
    "Promising": "#35978f",
    "Need attention": "#fee08b",
    "About to sleep": "#fdae61",
    "At risk": "#f46d43",
    "Can't lose them": "#d73027",
    "Dormant": "#9e0142",
    "Hibernating": "#8073ac",
    "Lost": "#878787",
    "Others": "#d9d9d9",
}
TIER_COLOURS = ["#c7c7c7", "#9fb3c8", "#d4af37", "#222222", "#7b3294"]
CHARTS = {
    "segments.png": "Segment shares over time",
    "migration.png": "Segment migration, last month",
    "tiers.png": "Tier distribution",
    "points.png": "Points issued and redeemed",
}


def _colour(name: str, index: int) -> str:
    return SEGMENT_COLOURS.get(name) or plt.get_cmap("tab20")(index % 20)


def segment_shares_chart(data: ReportData, path: Path) -> None:
    periods = data.periods
    names = data.segment_names()
    fig, ax = plt.subplots(figsize=(11, 5.5))
    bottoms = [0.0] * len(periods)
    for index, name in enumerate(names):
        shares = [data.share(data.segments.get(p, {}), name) for p in periods]
        ax.bar(periods, shares, bottom=bottoms, label=name, color=_colour(name, index), width=0.8)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of classified customers")
    ax.set_title("Segment shares after each monthly reclassification")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def migration_chart(data: ReportData, path: Path) -> None:
    before, after, matrix = data.migration_table()
    fig, ax = plt.subplots(figsize=(11, 8))
    if not matrix:
        ax.text(0.5, 0.5, "No migration yet (needs two monthly runs)", ha="center", va="center")
        ax.set_axis_off()
    else:
        grid = [[matrix.get(b, {}).get(a, 0) for a in after] for b in before]
        image = ax.imshow(grid, cmap="Blues", aspect="auto")
        peak = max(max(row) for row in grid) or 1
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if value:
                    colour = "white" if value > peak * 0.55 else "black"
                    ax.text(j, i, str(value), ha="center", va="center", fontsize=8, color=colour)
        ax.set_xticks(range(len(after)), after, rotation=40, ha="right")
        ax.set_yticks(range(len(before)), before)
        ax.set_xlabel(f"segment after the {data.migration_period} run")
        ax.set_ylabel("segment before (previous month)")
        ax.set_title(f"Where customers moved: {data.migration_period} (customers per cell)")
        fig.colorbar(image, ax=ax, shrink=0.8, label="customers")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def tiers_chart(data: ReportData, path: Path) -> None:
    periods = data.periods
    names = data.tier_names()
    fig, ax = plt.subplots(figsize=(11, 5))
    bottoms = [0] * len(periods)
    for index, name in enumerate(names):
        counts = [data.tiers.get(p, {}).get(name, 0) for p in periods]
        ax.bar(periods, counts, bottom=bottoms, label=name, color=TIER_COLOURS[index % len(TIER_COLOURS)])
        bottoms = [b + c for b, c in zip(bottoms, counts, strict=True)]
    ax.set_ylabel("customers")
    ax.set_title("Tier distribution after each monthly run (trailing 12-month spend)")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def points_chart(data: ReportData, path: Path) -> None:
    months = data.point_months()
    issued = [data.points_issued.get(m, 0) for m in months]
    fig, ax = plt.subplots(figsize=(11, 5))
    if data.points_redeemed is not None:
        redeemed = [data.points_redeemed.get(m, 0) for m in months]
        xs = range(len(months))
        ax.bar([x - 0.2 for x in xs], issued, width=0.4, label="issued (net of returns)", color="#4393c3")
        ax.bar([x + 0.2 for x in xs], redeemed, width=0.4, label="redeemed (vouchers)", color="#d6604d")
        ax.set_xticks(list(xs), months, rotation=45)
        title = "Points issued and redeemed per month"
    else:
        ax.bar(months, issued, label="issued (net of returns)", color="#4393c3")
        ax.tick_params(axis="x", rotation=45)
        title = "Points issued per month (redemptions by month not available for this stack)"
    peak = max([*issued, *(data.points_redeemed or {}).values(), 1])
    ax.set_ylim(0, peak * 1.2)  # room for the ledger line and the legend
    totals = data.ledger
    if totals:
        text = "  ".join(f"{k}: {v:,}" for k, v in totals.items())
        ax.text(0.01, 0.97, text, transform=ax.transAxes, va="top", fontsize=9, color="#333333")
    ax.set_ylabel("points")
    ax.set_title(title)
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


CAPTIONS = {
    "segments.png": "Each bar is one monthly reclassification: the share of classified customers in each "
    "segment. Watch the first months fill with New and Promising customers, then Champions and Loyal "
    "appear as purchases repeat, while drifting and silent customers move to At risk, Hibernating, "
    "Dormant and, after 12 months without a purchase, Lost.",
    "migration.png": "Rows: the segment a customer had before the last run; columns: the segment after it. "
    "The diagonal is customers who stayed; off-diagonal cells are the moves marketing reacts to "
    "(CustomerSegmentChanged events). '(none)' are customers classified for the first time.",
    "tiers.png": "Tiers after each monthly run. Upgrades happen at the purchase that crosses a threshold; "
    "downgrades only at the monthly run, when the trailing 12-month spend falls below the tier.",
    "points.png": "Points earned per month (net of returns) against points turned into vouchers. The totals "
    "line is the points ledger over all customers: earned - redeemed - expired = balance.",
}


def write_report(data: ReportData, out_dir: str | Path) -> dict[str, Path]:
    """All charts and index.html into out_dir; returns {file name: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    makers = {
        "segments.png": segment_shares_chart,
        "migration.png": migration_chart,
        "tiers.png": tiers_chart,
        "points.png": points_chart,
    }
    written: dict[str, Path] = {}
    for name, make in makers.items():
        make(data, out / name)
        written[name] = out / name
    (out / "index.html").write_text(index_html(data), encoding="utf-8")
    written["index.html"] = out / "index.html"
    return written


def index_html(data: ReportData) -> str:
    figures = "\n".join(
        f'<figure><h2>{html.escape(CHARTS[name])}</h2><img src="{name}" alt="{html.escape(CHARTS[name])}">'
        f"<figcaption>{html.escape(CAPTIONS[name])}</figcaption></figure>"
        for name in CHARTS
    )
    facts = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>" for k, v in data.facts.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(data.title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; color: #222; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
figcaption {{ color: #555; max-width: 900px; }} li {{ margin: 0.2em 0; }}
</style></head><body>
<h1>{html.escape(data.title)}</h1>
<ul>{facts}</ul>
{figures}
</body></html>
"""
