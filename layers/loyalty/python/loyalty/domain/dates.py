"""Month and instant arithmetic: the one home of it (grep here before writing another).

Months are programme months named 'YYYY-MM' (the programme's zone decides which month an instant is
in: Programme.month_of). Stored instants are UTC ISO 8601 text."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache


@lru_cache(maxsize=4096)  # a base's months are a few hundred names; parsed per customer per month
def month_index(month: str) -> int:
    """'2026-03' -> a month counter, so months can be compared and subtracted."""
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_name(index: int) -> str:
    year, month0 = divmod(index, 12)
    return f"{year:04d}-{month0 + 1:02d}"


def add_months(month: str, count: int) -> str:
    return month_name(month_index(month) + count)


def trailing_months(end_month: str, count: int = 12) -> list[str]:
    """The `count` months ending with `end_month`, oldest first."""
    return list(trailing_window(end_month, count))


@lru_cache(maxsize=256)  # the same few windows for every customer of a run (the tier review, totals)
def trailing_window(end_month: str, count: int = 12) -> tuple[str, ...]:
    """trailing_months as a tuple, computed once per (end_month, count)."""
    end = month_index(end_month)
    return tuple(month_name(i) for i in range(end - count + 1, end + 1))


def month_of_day(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def day_month_index(day: date) -> int:
    """The month counter of the month `day` is in (month_index of its month)."""
    return day.year * 12 + day.month - 1


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def last_day(month: str) -> date:
    return first_day(add_months(month, 1)) - timedelta(days=1)


def add_months_to_day(day: date, months: int) -> date:
    """The same day `months` months later, the month's last day where it has fewer days (31 Jan + 1
    month is 28 or 29 February)."""
    year, month0 = divmod(day_month_index(day) + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def run_period(as_of: date) -> str:
    """The month a monthly run dated `as_of` (programme zone) classifies: the month before as_of's."""
    return month_name(day_month_index(as_of) - 1)


def iso_utc(instant: datetime) -> str:
    """An aware instant as UTC text to the second: '2026-03-01T09:00:00Z'."""
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_utc_precise(instant: datetime) -> str:
    """An aware instant as UTC text to the microsecond, '+00:00' form (vouchers and redemptions: codes
    issued in the same second still sort by issue)."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds")
