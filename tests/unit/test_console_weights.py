"""The page weights table (docs/back-office.md) from the browser tests' lines."""

from __future__ import annotations

import gzip

from loyalty_tools.console_weights import CONSOLE, table


def test_the_table_has_a_row_per_page_in_order_and_the_first_load_gzipped():
    lines = [
        {"page": "sign-in", "files": 60536, "api": 0, "requests": 12},
        {"page": "customer", "files": 400, "api": 3600, "requests": 9},
        {"page": "customer-marketing", "files": 0, "api": 900, "requests": 3},  # not a row
        {"page": "programme", "files": 2400, "api": 11049, "requests": 30},
        {"page": "runs", "files": 60300, "api": 8000, "requests": 15},
    ]
    files = [p for p in CONSOLE.iterdir() if p.is_file()]
    packed = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    rows = table(lines).splitlines()[2:]
    assert [r.split(" |")[0][2:].split(":")[0] for r in rows] == [
        "first load (sign-in)", "Customer (support)", "Runs", "Programme",
    ]  # fmt: skip
    assert f"| 60.5 KB ({packed / 1000:.1f} KB gzipped) | 0.0 KB | 12 |" in rows[0]
    assert rows[0].startswith(f"| first load (sign-in): all {len(files)} files")
    assert rows[3].endswith("| 2.4 KB | 11.0 KB | 30 |")
