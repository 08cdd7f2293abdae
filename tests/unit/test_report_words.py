"""The demo's and `loyalty report`'s tables and captions: 13 segments (the default map) fit 80 columns
with whole headers, captions say what the data shows, facts read as words, colours are distinct."""

from __future__ import annotations

import io

from loyalty.programme import load_programme
from loyalty.settings import Settings
from loyalty_tools.charts import SEGMENT_COLOURS, captions, in_words, segment_colours
from loyalty_tools.demo import answers_in_words
from loyalty_tools.report import ReportData, new_report, print_tables
from rich.console import Console

PROGRAMME = load_programme(Settings().programme_file)


def year_of_data() -> ReportData:
    data = new_report("test", PROGRAMME)
    names = data.segment_order
    # The 13 segments of the default map (with Dormant split in two), Engaged non-buyers, and Others.
    assert len(names) == 15
    for month in range(1, 14):
        period = f"2025-{month:02d}" if month <= 12 else "2026-01"
        share = {n: 100 + 37 * i + month * (i % 3) for i, n in enumerate(names)}
        data.add_summary(
            {
                "period": period,
                "after": {"segments": share, "tiers": {"member": 90_000, "silver": 8_000, "gold": 1_000}},
                "migration": {b: {a: (i * 7919 + j * 104_729) % 60_000 for j, a in enumerate(names)}
                              for i, b in enumerate(["(none)", *names])},
            }
        )  # fmt: skip
    data.points_issued = {"2026-01": 1_234_567}
    data.points_redeemed = {"2026-01": 45_000}
    data.ledger = {"earned": 1_234_567, "redeemed": 45_000, "expired": 0, "balance": 1_189_567}
    data.events = {"CustomerSegmentChanged": 12_345}
    return data


def test_thirteen_segments_and_the_migration_fit_80_columns_with_whole_headers() -> None:
    out = io.StringIO()
    print_tables(year_of_data(), Console(file=out, width=80))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert not [line for line in lines if "…" in line]
    shares_header = next(line for line in lines if line.startswith("month ") and "customers" in line)
    assert shares_header.split() == ["month", "Los", "EN", "Cha", "CLT", "DWWB", "Dor", "AR", "Loy", "PL",
                                     "New", "Pro", "NA", "ATS", "Hib", "Oth", "customers"]  # fmt: skip
    migration_header = next(line for line in lines if line.startswith("before \\ after"))
    assert migration_header.split()[-1] == "Oth"


def test_captions_use_the_charts_own_numbers() -> None:
    data = ReportData(title="t", segment_order=["Champions", "Hibernating", "Lost"], tier_order=["member"])
    data.add_summary({"period": "2025-01", "after": {"segments": {"Champions": 1, "Hibernating": 3},
                                                     "tiers": {"member": 4}}})  # fmt: skip
    data.add_summary(
        {
            "period": "2025-02",
            "after": {"segments": {"Champions": 3, "Hibernating": 1}, "tiers": {"member": 4}},
            "migration": {"Hibernating": {"Champions": 2, "Hibernating": 1}, "Champions": {"Champions": 1}},
        }
    )
    text = captions(data)
    assert (
        "After the 2025-02 run the largest segments are Champions (75%), Hibernating (25%)."
        in text["segments.png"]
    )
    assert (
        "Since 2025-01, Champions grew from 25% to 75% and Hibernating shrank from 75% to 25%."
        in text["segments.png"]
    )
    assert "Lost" not in text["segments.png"]
    assert "Of 4 customers, 2 stayed" in text["migration.png"]
    assert "the largest move is 2 customers from Hibernating to Champions" in text["migration.png"]
    assert "after the 2025-02 run: member 4" in text["tiers.png"]


def test_facts_read_as_words() -> None:
    assert in_words({201: 3552}) == "201: 3,552"
    assert in_words(12345) == "12,345"
    assert answers_in_words({201: 3552}) == "every one answered 201"  # type: ignore[arg-type]
    assert answers_in_words({201: 50, 502: 2}) == "50 answered 201, 2 answered 502"  # type: ignore[arg-type]


def test_every_default_segment_has_its_own_colour() -> None:
    names = [rule.name for rule in PROGRAMME.segments] + [PROGRAMME.fallback_segment]
    colours = segment_colours([*names, "Custom A", "Custom B"])
    assert set(names) <= set(SEGMENT_COLOURS)
    assert len(set(colours.values())) == len(colours)


def test_whole_percent_rounds_half_up_and_never_shows_zero_for_someone() -> None:
    from loyalty_tools.report import _whole_pct

    assert [_whole_pct(v) for v in (0, 0.2, 0.5, 1, 1.5, 2.5, 99.6)] == [
        ".",
        "<1",
        "<1",
        "1",
        "2",
        "3",
        "100",
    ]


def test_p_alive_against_recency_and_the_segments_means() -> None:
    from dataclasses import replace as with_fields
    from decimal import Decimal
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from loyalty.domain.profile import Profile
    from loyalty_tools.report import add_profiles

    data = new_report("t", PROGRAMME)
    base = Profile("x", "member", classified_period="2026-01", last_purchase_at="2026-02-18T11:00:00Z")
    profiles = [
        with_fields(base, customer_id="a", segment="Champions"),
        with_fields(base, customer_id="b", segment="Champions"),
        with_fields(base, customer_id="c", segment="Dormant", last_purchase_at="2025-10-01T09:00:00Z"),
        with_fields(base, customer_id="d", segment="Dormant"),  # no fit at its run
        with_fields(base, customer_id="e", segment="Loyal",
                    last_purchase_at="2026-03-05T09:00:00Z"),  # bought after its run: mean only
    ]  # fmt: skip
    # P(alive) as of the last finished period (2026-02), computed from its cuts (not stored).
    computed = {"a": "0.900", "b": "0.801", "c": "0.050", "d": None, "e": "0.700"}

    def alive(profile: Profile) -> tuple[Decimal | None, str]:
        value = computed[profile.customer_id]
        return (None if value is None else Decimal(value)), "2026-02"

    add_profiles(data, profiles, snapshot=False, alive=alive)
    assert list(data.alive_means()) == ["Champions", "Dormant", "Loyal"]  # the programme's order
    assert data.alive_means()["Champions"] == Decimal("0.851")  # (0.900 + 0.801) / 2, half up
    # Recency to the day after the run's period (2026-03-01), in the programme's days.
    assert sorted(data.alive_points.items()) == [(11, 0.801, "Champions"), (11, 0.9, "Champions"),
                                                 (151, 0.05, "Dormant")]  # fmt: skip
    text = captions(data)["alive.png"]
    assert (
        "3 of 4 customers" in text
        and "highest Champions (0.851)" in text
        and "lowest Dormant (0.050)" in text
    )
    out = io.StringIO()
    print_tables(data, Console(file=out, width=80))
    assert "Mean P(alive) by segment" in out.getvalue() and "0.851" in out.getvalue()
    with TemporaryDirectory() as folder:
        from loyalty_tools.charts import write_report

        written = write_report(data, folder)
        assert Path(written["alive.png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert 'src="alive.png"' in Path(written["index.html"]).read_text()
