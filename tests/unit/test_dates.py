"""domain/dates.py: the one home of month and instant arithmetic."""

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from loyalty.domain.dates import (
    add_months,
    add_months_to_day,
    day_month_index,
    first_day,
    iso_utc,
    iso_utc_precise,
    last_day,
    month_index,
    month_name,
    month_of_day,
    run_period,
    trailing_months,
)

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))


def test_examples() -> None:
    assert add_months("2026-11", 2) == "2027-01" and add_months("2026-01", -1) == "2025-12"
    assert trailing_months("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]
    assert add_months_to_day(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months_to_day(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert last_day("2026-02") == date(2026, 2, 28) and last_day("2026-12") == date(2026, 12, 31)
    assert run_period(date(2026, 1, 1)) == "2025-12" and run_period(date(2026, 3, 31)) == "2026-02"
    paris = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2026, 3, 1, 10, 0, 0, 999, tzinfo=paris)) == "2026-03-01T09:00:00Z"
    assert iso_utc_precise(datetime(2026, 3, 1, 9, tzinfo=UTC)) == "2026-03-01T09:00:00.000000+00:00"


@given(days)
def test_a_day_is_in_its_month_between_its_first_and_last_day(day: date) -> None:
    month = month_of_day(day)
    assert month_index(month) == day_month_index(day) and month_name(day_month_index(day)) == month
    assert first_day(month) <= day <= last_day(month)
    assert last_day(month) + timedelta(days=1) == first_day(add_months(month, 1))
    assert run_period(day) == add_months(month, -1)


@given(days, st.integers(min_value=-240, max_value=240))
def test_adding_months_keeps_the_day_or_ends_the_month(day: date, months: int) -> None:
    later = add_months_to_day(day, months)
    assert month_of_day(later) == add_months(month_of_day(day), months)
    assert later.day == day.day or later == last_day(month_of_day(later))
    assert later.day <= day.day
