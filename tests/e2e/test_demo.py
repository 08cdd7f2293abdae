"""`loyalty demo` at a small size: it exits 0, prints the tables, writes the PNGs and index.html,
and the same seed gives the same traffic and the same results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_small_demo_prints_the_tables_and_writes_the_pictures(tmp_path: Path) -> None:
    out = tmp_path / "report"
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "loyalty_tools.cli", "demo", "--customers", "150", "--months", "4",
         "--out", str(out), "--workers", "2", "--threads", "8"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout
    for title in (
        "Segment shares by month",
        "Tier shares by month",
        "Migration at the 2025-04 run",
        "Points",
    ):
        assert title in text, title
    assert "ReclassificationCompleted" in text and "CustomerSegmentChanged" in text
    for name in ("segments.png", "migration.png", "tiers.png", "points.png"):
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    index = (out / "index.html").read_text()
    assert all(
        f'src="{name}"' in index for name in ("segments.png", "migration.png", "tiers.png", "points.png")
    )
    assert "requests failed" not in text
