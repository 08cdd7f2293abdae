"""`loyalty simulate`'s output from a dry run on the fakes: the side-by-side tables, the migration,
what the run would do, the page and its charts; a bad candidate stops before anything runs."""

from __future__ import annotations

import json
from pathlib import Path

from loyalty.fakes import InMemoryCustomerScan, InMemoryRunStore, InMemoryStore, RecordingPublisher
from loyalty.programme import parse_programme
from loyalty.service.reclassify import ReclassifyService, run_steps
from loyalty_tools.cli import app
from loyalty_tools.whatif import print_whatif, run_cost, write_whatif_page
from rich.console import Console
from typer.testing import CliRunner

from tests.unit.test_classify import AS_OF, FIXED, SMALL, archetype_profiles
from tests.unit.test_dry_run import candidate_source, silver_customers


def dry_run_report() -> dict:
    store = InMemoryStore()
    store.profiles.update({**archetype_profiles(SMALL), **silver_customers(12)})
    svc = ReclassifyService(InMemoryCustomerScan(store), RecordingPublisher(), FIXED, InMemoryRunStore())
    run_steps(svc, AS_OF, "real", total_segments=2)
    report = run_steps(svc, AS_OF, "what-if", 2, dry_run=True, programme=candidate_source("300.00"))[
        "summary"
    ]
    return {**report, "cost": run_cost(report)}


def test_the_terminal_shows_current_and_candidate_side_by_side_and_what_would_happen() -> None:
    report = dry_run_report()
    console = Console(record=True, width=100)
    print_whatif(report, parse_programme(candidate_source("300.00")), console)
    text = console.export_text()
    silver_before = report["before"]["tiers"]["silver"]
    silver_after = report["after"]["tiers"].get("silver", 0)
    [silver_row] = [line for line in text.splitlines() if line.strip().startswith("silver")]
    assert silver_row.split()[1] == str(silver_before) and silver_row.split()[3] == str(silver_after)
    assert silver_row.split()[-1] == f"{silver_after - silver_before:+,}"
    assert "Migration, current to candidate" in text
    rows = {" ".join(line.split()[:-1]): line.split()[-1] for line in text.splitlines() if line.strip()}
    assert rows["events: CustomerTierChanged"] == str(report["events"]["CustomerTierChanged"])
    assert rows["profiles that would change"] == str(report["changed"])
    assert "monthly run on AWS (cost model)" in text and report["cost"]["total_usd"] >= 0


def test_the_page_has_the_tables_and_the_three_charts(tmp_path: Path) -> None:
    report = dry_run_report()
    page = write_whatif_page(report, parse_programme(candidate_source("300.00")), tmp_path)
    html = page.read_text()
    for name in ("segments.png", "tiers.png", "migration.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{name}"' in html
    assert "<td>silver</td>" in html and "written or published by this simulation: nothing" in html


def test_a_bad_candidate_stops_the_command_naming_its_key(tmp_path: Path) -> None:
    bad = candidate_source("300.00")
    bad["experiments"] = [{"name": "x", "segments": ["Nobody"], "holdout_percent": 20, "from": "2026-01",
                           "success_segments": ["Loyal"]}]  # fmt: skip
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = CliRunner().invoke(app, ["simulate", "--programme", str(path), "--as-of", "2026-04-01"])
    assert result.exit_code == 2
    assert "programme.experiments[0].segments[0]: is not a segment of the programme" in result.output
