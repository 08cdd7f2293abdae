"""The pictures of `loyalty demo` and `loyalty report`: PNG charts (matplotlib, Agg) and an index.html.

Input is a ReportData (tools/loyalty_tools/report.py), whatever produced it: the demo's monthly runs
or a deployed stack's reclassification history.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # files only, no display; set before pyplot is imported

import matplotlib.pyplot as plt

from loyalty_tools.report_marketing import MAKERS as MARKETING_MAKERS
from loyalty_tools.report_marketing import MARKETING_CHARTS, marketing_captions

if TYPE_CHECKING:
    from loyalty_tools.report import ReportData

# A fixed colour per default segment, so every chart reads the same way, from a qualitative palette
# (Tableau 10 plus three dark/light neutrals): neighbours in the stack never share a hue family.
# Segments of other programmes take the unused colours in order.
SEGMENT_COLOURS = {
    "Champions": "#2ca02c",  # green
    "Loyal": "#1f77b4",  # blue
    "Potential loyalists": "#17becf",  # cyan
    "New": "#bcbd22",  # olive
    "Promising": "#e377c2",  # pink
    "Need attention": "#ff7f0e",  # orange
    "About to sleep": "#8c564b",  # brown
    "At risk": "#d62728",  # red
    "Can't lose them": "#9467bd",  # purple
    "Dormant, worth winning back": "#6b6ecf",  # light indigo (next to Dormant)
    "Dormant": "#393b79",  # indigo
    "Hibernating": "#7f7f7f",  # grey
    "Lost": "#252525",  # near black
    "Engaged non-buyers": "#9edae5",  # light cyan: silent buyers still interacting, kept warm
    "Others": "#d9d9d9",  # light grey
}
SPARE_COLOURS = ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d"]
TIER_COLOURS = ["#c7c7c7", "#9fb3c8", "#d4af37", "#222222", "#7b3294"]
CHARTS = {
    "segments.png": "Segment shares over time",
    "migration.png": "Segment migration, last month",
    "tiers.png": "Tier distribution",
    "points.png": "Points issued and redeemed",
    "alive.png": "P(alive) against recency, and by segment",
}
CHARTS.update(MARKETING_CHARTS)  # revenue, tier x segment, experiments (report_marketing.py)


def segment_colours(names: list[str]) -> dict[str, str]:
    spare = iter(SPARE_COLOURS * (1 + len(names) // len(SPARE_COLOURS)))
    return {name: SEGMENT_COLOURS.get(name) or next(spare) for name in names}


def _thousands(axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))


def _legend_in_stack_order(ax: Any, **kwargs: Any) -> None:
    """The legend lists the top of the stack first, as the eye reads the bars."""
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], **kwargs)


def segment_shares_chart(data: ReportData, path: Path) -> None:
    periods = data.periods
    names = data.segment_names()
    fig, ax = plt.subplots(figsize=(11, 5.5))
    bottoms = [0.0] * len(periods)
    colours = segment_colours(names)
    for name in names:
        shares = [data.share(data.segments.get(p, {}), name) for p in periods]
        ax.bar(periods, shares, bottom=bottoms, label=name, color=colours[name], width=0.8)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of classified customers")
    ax.set_title("Segment shares after each monthly reclassification")
    ax.tick_params(axis="x", rotation=45)
    _legend_in_stack_order(ax, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=9, frameon=False)
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
        bar = fig.colorbar(image, ax=ax, shrink=0.8, label="customers")
        _thousands(bar.ax.yaxis)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def alive_chart(data: ReportData, path: Path) -> None:
    """Left: each sampled customer's P(alive) against the days since their last purchase, coloured by
    segment. Right: the mean P(alive) of each segment."""
    means = data.alive_means()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    if not means:
        for ax in (left, right):
            ax.set_axis_off()
        left.text(0.5, 0.5, "No P(alive) yet (needs a monthly run with a fitted model)", ha="center")
    else:
        colours = segment_colours(list(means))
        points = data.alive_points.items()
        for name in means:
            mine = [(r, p) for r, p, s in points if s == name]
            if mine:
                left.scatter(*zip(*mine, strict=True), s=9, alpha=0.6, color=colours[name])
        left.set_xlabel("days since the last purchase (at the customer's last run)")
        left.set_ylabel("P(alive)")
        left.set_ylim(-0.02, 1.02)
        left.set_title(f"P(alive) against recency ({len(points):,} customers; colours as on the right)")
        names = list(means)[::-1]
        values = [float(means[n]) for n in names]
        right.barh(names, values, color=[colours[n] for n in names])
        for y, value in enumerate(values):
            right.text(value + 0.01, y, f"{value:.2f}", va="center", fontsize=8)
        right.set_xlim(0, 1.1)
        right.set_xlabel("mean P(alive)")
        right.set_title("Mean P(alive) by segment")
        right.tick_params(axis="y", labelsize=8)
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
    _thousands(ax.yaxis)
    ax.set_title("Tier distribution after each monthly run (trailing 12-month spend)")
    ax.tick_params(axis="x", rotation=45)
    ax.set_ylim(0, max([*bottoms, 1]) * 1.25)  # room for the legend above the bars
    _legend_in_stack_order(ax, loc="upper left", frameon=False)
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
    _thousands(ax.yaxis)
    ax.set_title(title)
    ax.legend(loc="upper right", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pct(value: float) -> str:
    if value == 0:
        return "0%"
    return f"{value:.0f}%" if value >= 0.5 else "under 1%"


def captions(data: ReportData) -> dict[str, str]:
    """What each chart shows, in words and with its own numbers, so a caption can never describe a
    picture the data did not draw (a 4-month demo has no Lost customers, for instance)."""
    return {
        "segments.png": _segments_caption(data),
        "migration.png": _migration_caption(data),
        "tiers.png": _tiers_caption(data),
        "points.png": _points_caption(data),
        "alive.png": _alive_caption(data),
        **marketing_captions(data),
    }


def _alive_caption(data: ReportData) -> str:
    means = data.alive_means()
    if not means:
        return "No P(alive) yet: it comes with a monthly run that could fit the BG/NBD model."
    high = max(means, key=lambda n: means[n])
    low = min(means, key=lambda n: means[n])
    shown = len(data.alive_points)
    total = sum(data.alive_customers.values())
    return (
        f"Left: P(alive), the BG/NBD probability that a customer is still buying, against the days since "
        f"their last purchase, for {shown:,} of {total:,} customers (a uniform sample); in the model "
        "it falls with silence, faster for customers who used to buy often. Right: the mean per "
        f"segment; highest {high} ({means[high]}), lowest {low} ({means[low]})."
    )


def _segments_caption(data: ReportData) -> str:
    if not data.periods:
        return "No monthly run yet: nothing to show."
    first, last = data.periods[0], data.periods[-1]
    now, then = data.segments.get(last, {}), data.segments.get(first, {})
    top = sorted(now, key=lambda n: -now[n])[:3]
    text = (
        f"Each bar is one monthly reclassification, {first} to {last}: the share of classified "
        "customers in each segment, stacked in the legend's order (its first entry is the top of the bar). "
        f"After the {last} run the largest segments are "
        + ", ".join(f"{n} ({_pct(data.share(now, n))})" for n in top)
        + "."
    )
    if len(data.periods) > 1:
        moves = {n: data.share(now, n) - data.share(then, n) for n in sorted({*now, *then})}
        up, down = max(moves, key=lambda n: moves[n]), min(moves, key=lambda n: moves[n])
        changes = []
        if moves[up] >= 1:
            changes.append(f"{up} grew from {_pct(data.share(then, up))} to {_pct(data.share(now, up))}")
        if moves[down] <= -1:
            changes.append(
                f"{down} shrank from {_pct(data.share(then, down))} to {_pct(data.share(now, down))}"
            )
        if changes:
            text += f" Since {first}, " + " and ".join(changes) + "."
    return text


def _migration_caption(data: ReportData) -> str:
    _, after, matrix = data.migration_table()
    if not matrix:
        return "No migration yet: it needs two monthly runs."
    total = sum(sum(row.values()) for row in matrix.values())
    stayed = sum(matrix.get(n, {}).get(n, 0) for n in after)
    new = sum(matrix.get("(none)", {}).values())
    moves = [(n, b, a) for b, row in matrix.items() for a, n in row.items() if b not in (a, "(none)")]
    text = (
        f"Rows: the segment a customer had before the {data.migration_period} run; columns: the segment "
        f"after it. Of {total:,} customers, {stayed:,} stayed where they were (the diagonal)"
    )
    if new:
        text += f", {new:,} were classified for the first time (the '(none)' row)"
    if moves:
        n, b, a = max(moves)
        text += f"; the largest move is {n:,} customers from {b} to {a}"
    return text + ". Every move off the diagonal is one CustomerSegmentChanged event for marketing."


def _tiers_caption(data: ReportData) -> str:
    if not data.periods:
        return "No monthly run yet: nothing to show."
    last = data.periods[-1]
    tiers = data.tiers.get(last, {})
    counts = ", ".join(f"{n} {tiers.get(n, 0):,}" for n in data.tier_names())
    return (
        f"Customers per tier after each monthly run; after the {last} run: {counts}. Upgrades happen at "
        "the purchase that crosses a threshold; downgrades only at the monthly run, when the trailing "
        "12-month spend falls below the tier."
    )


def _points_caption(data: ReportData) -> str:
    text = "Points earned per month (net of returns)"
    text += " against points turned into vouchers." if data.points_redeemed is not None else "."
    ledger = data.ledger
    if ledger:
        text += (
            f" Over all customers: {ledger.get('earned', 0):,} earned, {ledger.get('redeemed', 0):,} "
            f"redeemed, {ledger.get('expired', 0):,} expired, a balance of {ledger.get('balance', 0):,} "
            "(earned - redeemed - expired = balance)."
        )
    return text


def in_words(value: Any) -> str:
    """A fact for a person: numbers with separators, mappings as "key: value" lists, never a repr."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {in_words(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        return ", ".join(in_words(v) for v in value)
    return str(value)


def write_report(data: ReportData, out_dir: str | Path) -> dict[str, Path]:
    """All charts and index.html into out_dir; returns {file name: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    makers = {
        "segments.png": segment_shares_chart,
        "migration.png": migration_chart,
        "tiers.png": tiers_chart,
        "points.png": points_chart,
        "alive.png": alive_chart,
        **MARKETING_MAKERS,
    }
    written: dict[str, Path] = {}
    for name, make in makers.items():
        make(data, out / name)
        written[name] = out / name
    (out / "index.html").write_text(index_html(data), encoding="utf-8")
    written["index.html"] = out / "index.html"
    return written


def index_html(data: ReportData) -> str:
    text = captions(data)
    figures = "\n".join(
        f'<figure><h2>{html.escape(CHARTS[name])}</h2><img src="{name}" alt="{html.escape(CHARTS[name])}">'
        f"<figcaption>{html.escape(text[name])}</figcaption></figure>"
        for name in CHARTS
    )
    facts = "".join(f"<li>{html.escape(k)}: {html.escape(in_words(v))}</li>" for k, v in data.facts.items())
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
