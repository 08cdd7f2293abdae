"""French spreadsheets at the importer: decimal commas with spaces as thousands separators, days that
do not exist, and local times the clocks skip or show twice at a daylight-saving change (refused,
each with a reason that says so); the summary groups rejects by reason without the rows' values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from loyalty.programme import load_programme
from loyalty.settings import Settings
from loyalty_tools.importer import Columns, Reject, RowParser, _reason_kind

PROGRAMME = load_programme(Settings().programme_file)  # Europe/Paris


def parse(occurred_at: str, montant: str = "12,50"):
    parser = RowParser(
        Columns(amount="montant"),
        PROGRAMME,
        "%d/%m/%Y %H:%M",
        True,
        now=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )
    return parser.parse(2, {"customer_id": "C1", "occurred_at": occurred_at, "montant": montant})


@pytest.mark.parametrize(
    ("montant", "cents"),
    [
        ("12,50", 1250),
        ("1 234,50", 123450),
        ("1\u00a0234,50", 123450),
        ("1\u202f234,50", 123450),
        ("1.234,5", 123450),
    ],
)
def test_decimal_commas_and_thousands_separators(montant: str, cents: int) -> None:
    assert parse("03/11/2025 10:00", montant).amount == cents


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        ("31/02/2025 10:00", "'31/02/2025 10:00' does not exist (no such day in the calendar)"),
        ("31/04/2025 10:00", "'31/04/2025 10:00' does not exist (no such day in the calendar)"),
        (
            "30/03/2025 02:30",
            "'30/03/2025 02:30' does not exist in Europe/Paris: the clocks go forward from 02:00 to 03:00 "
            "that night (daylight saving)",
        ),
        (
            "26/10/2025 02:30",
            "'26/10/2025 02:30' is ambiguous in Europe/Paris: the clocks go back from 03:00 to 02:00 that "
            "night, so it happens twice (daylight saving); give the offset, e.g. 2025-10-26T02:30:00+02:00 "
            "or 2025-10-26T02:30:00+01:00",
        ),
    ],
)
def test_days_that_do_not_exist_and_daylight_saving_gaps_and_repeats_are_refused(
    occurred_at: str, reason: str
) -> None:
    with pytest.raises(Reject) as refused:
        parse(occurred_at)
    assert str(refused.value) == f"occurred_at: {reason}"


@pytest.mark.parametrize(
    ("occurred_at", "iso"),
    [
        ("30/03/2025 01:59", "2025-03-30T01:59:00+01:00"),  # the last minute before the gap
        ("30/03/2025 03:00", "2025-03-30T03:00:00+02:00"),  # the first after it
        ("26/10/2025 01:59", "2025-10-26T01:59:00+02:00"),
        ("26/10/2025 03:00", "2025-10-26T03:00:00+01:00"),  # the hour after the repeat is unique
    ],
)
def test_times_next_to_a_change_are_read_in_the_programme_zone(occurred_at: str, iso: str) -> None:
    assert parse(occurred_at).occurred_at.isoformat() == iso


def test_an_offset_in_the_file_settles_an_ambiguous_hour() -> None:
    parser = RowParser(Columns(), PROGRAMME, now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    base = {"customer_id": "C1", "amount": "3.00"}
    summer = parser.parse(2, {**base, "occurred_at": "2025-10-26T02:30:00+02:00"})
    winter = parser.parse(3, {**base, "occurred_at": "2025-10-26T02:30:00+01:00"})
    assert (winter.occurred_at - summer.occurred_at).total_seconds() == 3600


def test_reasons_are_counted_without_the_rows_values() -> None:
    reasons = [
        "occurred_at: '31/02/2025 10:00' does not exist (no such day in the calendar)",
        "occurred_at: '30/02/2024 09:00' does not exist (no such day in the calendar)",
        "occurred_at: '30/03/2025 02:30' does not exist in Europe/Paris: the clocks go forward from 02:00 to "
        "03:00 that night (daylight saving)",
        "duplicate of line 12 (same transaction)",
        "duplicate of line 40 (same transaction)",
    ]
    assert [_reason_kind(r) for r in reasons] == [
        "occurred_at: ... does not exist",
        "occurred_at: ... does not exist",
        "occurred_at: ... does not exist in Europe/Paris",
        "duplicate of line N",
        "duplicate of line N",
    ]
