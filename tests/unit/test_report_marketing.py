"""`loyalty report`'s marketing part from two monthly runs' summaries (the fakes): revenue per
segment, the tier x segment table, the experiment's treatment against holdout; drawn and captioned."""

from __future__ import annotations

from pathlib import Path

from loyalty_tools.charts import captions, write_report
from loyalty_tools.report import new_report, print_tables
from loyalty_tools.report_marketing import success_rates
from rich.console import Console

from tests.unit.test_experiments import PROGRAMME, two_runs


def report_of_two_runs():  # type: ignore[no-untyped-def]
    second, _, store = two_runs(200)
    data = new_report("test", PROGRAMME)
    data.add_summary(second)
    return data, second, store


def test_the_report_shows_revenue_tier_by_segment_and_the_experiment(tmp_path: Path) -> None:
    data, summary, store = report_of_two_runs()
    console = Console(record=True, width=80)
    print_tables(data, console)
    text = console.export_text()
    assert "Revenue per segment after the 2026-03 run" in text
    for segment, amount in summary["revenue_12m"].items():
        assert segment in text and f"{float(amount):,.2f}" in text
    assert "Customers by tier and segment after the 2026-03 run" in text
    assert "Experiment at-risk-reactivation, cohort At risk: reached a success segment" in text

    [(period, treated, held, low, high)] = success_rates(data)["at-risk-reactivation"]["At risk"]
    assert (period, treated, held) == ("2026-03", 1.0, 0.0)  # every treatment customer came back
    assert 0 < float(low) < float(high) <= 1

    words = captions(data)
    assert "100.0% of the treatment group and 0.0% of the holdout" in words["experiments.png"]
    assert f"{len(store.profiles):,} in all" in words["tier_segment.png"]
    written = write_report(data, tmp_path)
    index = Path(written["index.html"]).read_text()
    for name in ("revenue.png", "tier_segment.png", "experiments.png"):
        assert Path(written[name]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{name}"' in index


def test_without_summaries_the_marketing_charts_say_so(tmp_path: Path) -> None:
    data = new_report("empty", PROGRAMME)
    words = captions(data)
    assert words["experiments.png"].startswith("No experiment measured yet")
    assert words["revenue.png"].startswith("No revenue per segment yet")
    write_report(data, tmp_path)
    assert (tmp_path / "experiments.png").exists()
