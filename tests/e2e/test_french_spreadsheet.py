"""A French spreadsheet through `loyalty import` and back out of `loyalty export segments`, as an
engineer runs them (a clean environment, pointed at the suite's stack through its state directory):
`;` between fields, decimal commas, dd/mm/yyyy local times; the rows that cannot be right are refused
and the summary names every reason; the export writes `;` and decimal commas."""

from __future__ import annotations

import csv
import io
import os
import uuid
from pathlib import Path

import pytest

from tests.e2e.cleanenv import clean_env, run
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e]


def test_a_french_spreadsheet_imports_and_exports_with_semicolons_and_decimal_commas(
    stack: Stack, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    a, b = f"FR{tag}A", f"FR{tag}B"
    rows = [
        (a, "03/11/2025 09:30", "42,50"),
        (a, "17/11/2025 18:05", "1 019,90"),
        (b, "30/03/2025 01:59", "10,00"),
        (b, "31/02/2025 10:00", "10,00"),  # no such day
        (b, "30/03/2025 02:30", "10,00"),  # the clocks skip it
        (b, "26/10/2025 02:30", "10,00"),  # the clocks show it twice
        (b, "12/05/2025 11:00", "dix"),  # not an amount
    ]
    text = "client;date;montant\n" + "".join(f"{c};{d};{m}\n" for c, d, m in rows)
    work = tmp_path / "work"
    work.mkdir()
    (work / "ventes.csv").write_text(text, encoding="utf-8")
    env = clean_env(tmp_path / "home", Path(os.environ["LOYALTY_STATE_DIR"]))  # the suite's stack
    imported = run(
        "loyalty import ventes.csv --delimiter ';' --decimal-comma --col-customer-id client "
        "--col-occurred-at date --col-amount montant --date-format '%d/%m/%Y %H:%M'",
        env,
        work,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr
    out = imported.stdout
    assert "rows 7: imported 3, already present 0, rejected 4" in out, out
    for reason in (
        "1 x date: ... does not exist\n",
        "1 x date: ... does not exist in Europe/Paris\n",
        "1 x date: ... is ambiguous in Europe/Paris\n",
        '1 x montant: must be a decimal string such as "12.50"',
    ):
        assert reason in out, (reason, out)
    with (work / "ventes.rejects.csv").open(newline="", encoding="utf-8") as handle:
        rejects = {r["date"]: r["reason"] for r in csv.DictReader(handle, delimiter=";")}
    assert "the clocks go forward from 02:00 to 03:00" in rejects["30/03/2025 02:30"]
    assert "give the offset, e.g. 2025-10-26T02:30:00+02:00" in rejects["26/10/2025 02:30"]
    assert "does not exist" in rejects["31/02/2025 10:00"]

    exported = run(
        "loyalty export segments --as-of 2025-12-01 --delimiter ';' --decimal-comma -o -", env, work
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[0].startswith("customer_id;recency_days;")
    ours = {
        r["customer_id"]: r
        for r in csv.DictReader(io.StringIO(exported.stdout), delimiter=";")
        if r["customer_id"] in (a, b)
    }
    assert ours[a]["monetary_12m"] == "1062,40" and ours[b]["monetary_12m"] == "10,00"
