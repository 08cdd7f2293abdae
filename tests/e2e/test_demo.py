"""`loyalty demo --customers 150 --months 4`, as the README writes it, in a clean environment (only
PATH, HOME, a locale and a state dir: nothing the suite sets): it exits 0, prints the tables within
80 columns with whole headers, writes the PNGs and an index.html that speaks in words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.cleanenv import clean_env, run

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COMMAND = "loyalty demo --customers 150 --months 4"  # README: "is a quick one"
TABLE_TITLES = (
    "Segment shares by month",
    "Tier shares by month",
    "Migration at the 2025-04 run",
    "Points",
    "Events consumed by the marketing queue",
)


def test_the_readmes_small_demo_prints_the_tables_and_writes_the_pictures(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run(COMMAND, clean_env(tmp_path / "home", tmp_path / "state"), work, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout
    for title in TABLE_TITLES:
        assert title in text, title
    assert "ReclassificationCompleted" in text and "CustomerSegmentChanged" in text
    assert "requests failed" not in text

    # Tables: from each title to the next blank-free block, every line within 80 columns, no "…".
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Segment shares by month"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Posted "))
    table_lines = lines[start:end]
    assert max(len(line) for line in table_lines) <= 80, max(table_lines, key=len)
    assert not [line for line in table_lines if "…" in line]
    header = next(line for line in table_lines if line.startswith("month ") and "customers" in line)
    assert header.split()[-1] == "customers"  # the last header is whole
    # Plain progress lines, since stdout is not a terminal: done/total, rate and ETA.
    assert re.search(
        r"^transactions \(2025-0\d\): [\d,]+/[\d,]+ transactions \(\d+%\), [\d.,]+ transactions/s", text, re.M
    )

    out = work / "demo-report"
    for name in ("segments.png", "migration.png", "tiers.png", "points.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(
        f'src="{name}"' in index for name in ("segments.png", "migration.png", "tiers.png", "points.png")
    )
    body = re.sub(r"<style>.*?</style>", "", index, flags=re.S)
    assert not re.search(r"[{}]", body), "a raw Python value in the report"
    assert "transactions posted: " in body and "answered 201" in body
    assert "After the 2025-04 run the largest segments are" in body
    assert "Lost" not in body  # 4 months: nobody has gone 12 months without a purchase
