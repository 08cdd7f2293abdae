"""`loyalty import` -> `loyalty reclassify` -> `loyalty export segments` on the local stack, checked
against an independent computation from the same CSV.

The CSV is generated here (LOYALTY_IMPORT_TEST_ROWS rows, 10,000 by default for CI; set 100000 to
measure the 100k figure in docs/import-export.md: the import prints rows/s). Columns use French names
to exercise the --col-* options, dates are naive local times with --date-format, and some rows are
bad on purpose: each must land in the rejects file with its reason.
"""

from __future__ import annotations

import csv
import os
import random
import re
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROWS = int(os.environ.get("LOYALTY_IMPORT_TEST_ROWS", "10000"))
AS_OF = date(2026, 1, 1)  # the run classifies 2025-12; its window is 2025-01 .. 2025-12
ZONE = ZoneInfo("Europe/Paris")
SILVER = 25_000  # default programme: silver (x2) at 250 EUR in 12 months; gold is x2 too
BAD_ROWS = [
    # (client, date, montant, why it must be rejected: a fragment of the reason)
    ("", "2025-03-01 10:00:00", "10,00", "client: missing"),
    ("BAD1", "01/03/2025", "10,00", "does not match"),
    ("BAD2", "2025-03-01 10:00:00", "abc", "montant"),
    ("BAD3", "2025-03-01 10:00:00", "-12,00", "return without"),
    ("BAD4", "2025-03-01 10:00:00", "0,00", "greater than zero"),
]


def make_csv(path: Path, rows: int, seed: int = 11) -> list[dict[str, str]]:
    rng = random.Random(seed)
    customers = max(50, rows // 20)
    good: list[dict[str, str]] = []
    for _ in range(rows):
        customer = f"K{rng.randrange(customers):06d}"
        day = date(2025, 1, 1).toordinal() + rng.randrange(365)
        when = datetime.fromordinal(day).replace(hour=rng.randint(8, 21), minute=rng.randrange(60))
        cents = rng.randint(150, 12_000)
        good.append(
            {
                "client": customer,
                "date": when.strftime("%Y-%m-%d %H:%M:%S"),
                "montant": f"{cents // 100},{cents % 100:02d}",
                "magasin": f"M{rng.randint(1, 9)}",
                "canal": rng.choice(["store", "web", "app"]),
                "rayon": rng.choice(["beaute", "mode", "maison"]),
            }
        )
    good.append(dict(good[0]))  # an identical row: a second, distinct purchase (own derived id)
    bad = [
        {"client": c, "date": d, "montant": m, "magasin": "M1", "canal": "store", "rayon": "mode"}
        for c, d, m, _ in BAD_ROWS
    ]
    everything = good + bad
    rng.shuffle(everything)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["client", "date", "montant", "magasin", "canal", "rayon"])
        writer.writeheader()
        writer.writerows(everything)
    return good


def expected_figures(good: list[dict[str, str]]) -> dict[str, dict[str, object]]:
    """Recency, frequency, spend and points from the CSV alone (the programme's rules, restated)."""
    by_customer: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for row in good:
        cents = int(row["montant"].replace(",", ""))
        by_customer[row["client"]].append((datetime.strptime(row["date"], "%Y-%m-%d %H:%M:%S"), cents))
    out = {}
    for customer, purchases in by_customer.items():
        purchases.sort()
        spend = points = 0
        for _, cents in purchases:
            rate = 2 if spend >= SILVER else 1  # the crossing purchase earns at the tier held before it
            points += (cents // 100) * rate
            spend += cents
        last = max(when for when, _ in purchases).date()
        out[customer] = {
            "recency_days": (AS_OF - last).days,
            "frequency_12m": len(purchases),
            "monetary_12m": f"{spend // 100}.{spend % 100:02d}",
            "points_balance": points,
            "tier": "member" if spend < SILVER else ("silver" if spend < 60_000 else "gold"),
        }
    return out


def loyalty(stack: Stack, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": stack.moto_url,
        "LOYALTY_API_URL": stack.api_url,
        "LOYALTY_API_KEY": stack.api_key,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "loyalty_tools.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def test_import_reclassify_export_matches_an_independent_computation(stack: Stack, tmp_path: Path) -> None:
    source = tmp_path / "historique.csv"
    good = make_csv(source, ROWS)
    options = [
        "--target", "env", "--col-customer-id", "client", "--col-occurred-at", "date", "--col-amount",
        "montant", "--col-store-id", "magasin", "--col-channel", "canal", "--col-category", "rayon",
        "--date-format", "%Y-%m-%d %H:%M:%S", "--decimal-comma",
    ]  # fmt: skip
    first = loyalty(stack, "import", str(source), *options)
    assert first.returncode == 0, first.stdout + first.stderr
    print(first.stdout)  # rows/s for the record (pytest -s)
    total = len(good) + len(BAD_ROWS)
    assert (
        f"rows {total:,}: imported {len(good):,}, already present 0, rejected {len(BAD_ROWS)}" in first.stdout
    )

    with (tmp_path / "historique.rejects.csv").open(newline="", encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle))
    assert len(rejects) == len(BAD_ROWS)
    for client, _, montant, why in BAD_ROWS:
        match = [r for r in rejects if r["client"] == client and r["montant"] == montant]
        assert len(match) == 1 and why in match[0]["reason"], (client, match)

    again = loyalty(stack, "import", str(source), *options)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"imported 0, already present {len(good):,}, rejected {len(BAD_ROWS)}" in again.stdout

    run = loyalty(stack, "reclassify", "--as-of", AS_OF.isoformat(), "--target", "env")
    assert run.returncode == 0, run.stdout + run.stderr

    exported = tmp_path / "segments.csv"
    out = loyalty(
        stack, "export", "segments", "--as-of", AS_OF.isoformat(), "-o", str(exported), "--target", "env"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    with exported.open(newline="", encoding="utf-8") as handle:
        rows = {
            r["customer_id"]: r for r in csv.DictReader(handle) if re.fullmatch(r"K\d+", r["customer_id"])
        }

    expected = expected_figures(good)
    assert set(rows) == set(expected)
    mismatches = []
    for customer, want in expected.items():
        got = rows[customer]
        have = {
            "recency_days": int(got["recency_days"]),
            "frequency_12m": int(got["frequency_12m"]),
            "monetary_12m": got["monetary_12m"],
            "points_balance": int(got["points_balance"]),
            "tier": got["tier"],
        }
        if have != want:
            mismatches.append((customer, want, have))
        assert got["segment"], customer
        assert re.fullmatch(r"[1-5]", got["r"]) and re.fullmatch(r"[1-5]", got["f"]), got
        assert 0 <= int(got["ab_bucket"]) <= 99
    assert not mismatches, mismatches[:5]
