"""`loyalty simulate --programme candidate.json --as-of D`: what a programme change would do to the
base, before it goes live.

The monthly run's own steps, through the same Lambda handler code and the same fan-out over scan
segments, as a dry run (loyalty.service.dry_run): every live profile classified under the candidate,
nothing written, nothing published, the report kept in the run bucket. "Current" is each customer as
the last monthly run left them (the stored segment and tier), so simulate with the as-of of the last
run to compare like with like. Output: tables in the terminal, and an HTML page with the charts (the
look of the demo report).
"""

from __future__ import annotations

import html
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from loyalty.programme import Programme
from rich.console import Console

from loyalty_tools.charts import CHARTS, migration_chart, plt, segment_colours
from loyalty_tools.report import _legend, _table, abbreviation, new_report

REPO = Path(__file__).resolve().parents[2]
PAGE_CHARTS = {
    "segments.png": "Segments: current and candidate programme",
    "tiers.png": "Tiers: current and candidate programme",
    "migration.png": CHARTS["migration.png"].replace("last month", "current to candidate"),
}


def simulate_here(
    candidate: Programme, as_of: Any, segments: int | None, bucket: str | None, on_step: Any = None
) -> dict[str, Any]:
    """The dry run on this machine through the handler code; returns the report (the summary)."""
    from loyalty_tools.reclassify_local import run_reclassification

    result = run_reclassification(
        as_of,
        total_segments=segments,
        bucket=bucket,
        on_step=on_step,
        dry_run=True,
        programme=dict(candidate.source),
    )
    return dict(result["summary"])


def run_cost(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """The monthly run's cost on AWS under the candidate, from the bench's month model (bench/ is in
    the repository, not in the installed package: None when it is not there)."""
    if not (REPO / "bench" / "month_model.py").exists():
        return None
    sys.path.insert(0, str(REPO))
    try:
        from bench.month_model import month_model
    finally:
        sys.path.remove(str(REPO))
    customers = max(1, int(report.get("customers", 0)))
    changed = int(report.get("changed", 0))
    events = sum(int(n) for n in (report.get("events") or {}).values())
    model = month_model(
        customers=customers,
        changed_share=changed / customers,
        events_per_changed=events / changed if changed else 0.0,
    )
    return {"total_usd": model["total_usd"], **{f"{k}_usd": v for k, v in model["cost_usd"].items()}}


def _order(programme: Programme, names: set[str]) -> list[str]:
    known = [rule.name for rule in programme.segments] + [programme.fallback_segment]
    return [n for n in known if n in names] + sorted(names - set(known))


def side_by_side(report: Mapping[str, Any], key: str, order: list[str]) -> list[tuple[str, int, int]]:
    before = report["before"][key]
    after = report["after"][key]
    names = [n for n in order if n in before or n in after]
    names += sorted((set(before) | set(after)) - set(names))
    return [(n, int(before.get(n, 0)), int(after.get(n, 0))) for n in names]


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def print_whatif(report: Mapping[str, Any], candidate: Programme, console: Console) -> None:
    segment_order = _order(candidate, set(report["before"]["segments"]) | set(report["after"]["segments"]))
    tier_order = [t.name for t in candidate.tiers]
    for title, key, order in (
        ("Segments: current (stored) and candidate", "segments", segment_order),
        ("Tiers: current (stored) and candidate", "tiers", tier_order),
    ):
        rows = side_by_side(report, key, order)
        total_before = sum(b for _, b, _ in rows)
        total_after = sum(a for _, _, a in rows)
        table = _table(console, title)
        table.add_column("", no_wrap=True, min_width=7)
        for column in ("current", "share", "candidate", "share", "change"):
            table.add_column(column, justify="right", no_wrap=True, min_width=7)
        for name, before, after in rows:
            table.add_row(
                name, f"{before:,}", _share(before, total_before), f"{after:,}", _share(after, total_after),
                f"{after - before:+,}",
            )  # fmt: skip
        console.print(table)

    migration = report.get("migration") or {}
    if migration:
        after_names = _order(candidate, {a for row in migration.values() for a in row})
        table = _table(
            console, "Migration, current to candidate (customers; rows: current, columns: candidate)"
        )
        table.add_column("current \\ candidate", no_wrap=False, max_width=19)
        for name in after_names:
            table.add_column(abbreviation(name), justify="right", no_wrap=True, min_width=3)
        for before in _order(candidate, set(migration)):
            row = migration[before]
            table.add_row(before, *(f"{row[a]:,}" if row.get(a) else "." for a in after_names))
        console.print(table)
        _legend(console, after_names)

    table = _table(console, "What the run would do (nothing was written or published)")
    table.add_column("", no_wrap=True, min_width=30)
    table.add_column("", justify="right", no_wrap=True, min_width=12)
    table.add_row("customers scanned", f"{report['customers']:,}")
    table.add_row("profiles that would change", f"{report['changed']:,}")
    table.add_row("points that would expire", f"{report['points_expired']:,}")
    for kind, count in sorted((report.get("events") or {}).items()):
        table.add_row(f"events: {kind}", f"{count:,}")
    cost = report.get("cost")
    if cost:
        table.add_row("monthly run on AWS (cost model)", f"${cost['total_usd']:,.2f}")
    console.print(table)
    console.print(
        f"Report kept in the run bucket at {report.get('report_key')}", markup=False, highlight=False
    )


# -- the page ---------------------------------------------------------------------------------------


def _paired_bars(rows: list[tuple[str, int, int]], title: str, path: Path, colours: dict[str, str]) -> None:
    fig, ax = plt.subplots(figsize=(11, 0.45 * len(rows) + 1.8))
    ys = range(len(rows))
    ax.barh([y - 0.2 for y in ys], [b for _, b, _ in rows], height=0.4, label="current", color="#bbbbbb")
    ax.barh(
        [y + 0.2 for y in ys],
        [a for _, _, a in rows],
        height=0.4,
        label="candidate",
        color=[colours.get(n, "#4393c3") for n, _, _ in rows],
    )
    ax.set_yticks(list(ys), [n for n, _, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("customers")
    ax.set_title(title)
    ax.legend(loc="lower right", frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_whatif_page(report: Mapping[str, Any], candidate: Programme, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    segment_rows = side_by_side(
        report,
        "segments",
        _order(candidate, set(report["before"]["segments"]) | set(report["after"]["segments"])),
    )
    tier_rows = side_by_side(report, "tiers", [t.name for t in candidate.tiers])
    _paired_bars(segment_rows, PAGE_CHARTS["segments.png"], out / "segments.png",
                 segment_colours([n for n, _, _ in segment_rows]))  # fmt: skip
    _paired_bars(tier_rows, PAGE_CHARTS["tiers.png"], out / "tiers.png", {})
    data = new_report("what-if", candidate)
    data.migration = {
        b: {a: int(n) for a, n in row.items()} for b, row in (report.get("migration") or {}).items()
    }
    data.migration_period = f"{report['period']} what-if"
    migration_chart(data, out / "migration.png")

    def table(rows: list[tuple[str, int, int]], label: str) -> str:
        body = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{b:,}</td><td>{a:,}</td><td>{a - b:+,}</td></tr>"
            for n, b, a in rows
        )
        return (
            f"<table><thead><tr><th>{label}</th><th>current</th><th>candidate</th><th>change</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )

    cost = report.get("cost") or {}
    facts = {
        "period": report["period"],
        "customers scanned": f"{report['customers']:,}",
        "profiles that would change": f"{report['changed']:,}",
        "points that would expire": f"{report['points_expired']:,}",
        "events that would be published": ", ".join(
            f"{k}: {v:,}" for k, v in sorted((report.get("events") or {}).items())
        )
        or "none",
        "monthly run on AWS (cost model)": f"${cost['total_usd']:,.2f}" if cost else "not available",
        "written or published by this simulation": "nothing",
    }
    items = "".join(f"<li>{html.escape(k)}: {html.escape(str(v))}</li>" for k, v in facts.items())
    figures = "\n".join(
        f'<figure><h2>{html.escape(title)}</h2><img src="{name}" alt="{html.escape(title)}"></figure>'
        for name, title in PAGE_CHARTS.items()
    )
    title = f"What-if: programme {candidate.name} as of {report['as_of']}"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; color: #222; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
li {{ margin: 0.2em 0; }} table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ padding: 0.2em 0.8em; border-bottom: 1px solid #eee; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<ul>{items}</ul>
<h2>Segments</h2>{table(segment_rows, "segment")}
<h2>Tiers</h2>{table(tier_rows, "tier")}
{figures}
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def run_simulate(
    programme_file: str, as_of: Any, target_kind: str, stack_name: str, segments: int | None, out_dir: str
) -> dict[str, Any]:
    from loyalty.programme import load_programme

    from loyalty_tools.local import state_dir
    from loyalty_tools.progress import make_console, progress_bar
    from loyalty_tools.reclassify_local import handler_output
    from loyalty_tools.target import TargetError, resolve_target

    candidate = load_programme(programme_file)  # a bad file stops here, naming the key
    target = resolve_target(target_kind, stack_name)
    if target.kind == "aws":
        raise TargetError(
            "simulate runs the steps on this machine; in AWS start the state machine with "
            '{"as_of": ..., "dry_run": true, "programme": ...} (docs/experiments.md)'
        )
    target.activate()
    console = make_console(stderr=True)
    with progress_bar(console) as progress, handler_output(state_dir() / "logs" / "simulate.log"):
        task = progress.add_task("simulate", total=None, unit="steps")

        def on_step(event: dict[str, Any], result: dict[str, Any]) -> None:
            if event["step"] == "prepare":
                runs = len(result["segments"]) * (2 if result["run"]["needs_stats"] else 1)
                progress.update(task, total=2 + runs + 1)
            progress.advance(task, 1)

        report = simulate_here(candidate, as_of, segments, target.run_bucket, on_step)
    report["cost"] = run_cost(report)
    out = make_console()
    print_whatif(report, candidate, out)
    page = write_whatif_page(report, candidate, out_dir)
    out.print(f"Wrote {page.resolve()}", markup=False, highlight=False)
    return report
