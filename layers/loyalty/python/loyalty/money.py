"""Exact money: amounts travel as decimal strings and live as integer minor units (cents)."""

from __future__ import annotations

import re
from decimal import Decimal

# ISO 4217 minor units for the currencies a programme is likely to use; others default to 2.
MINOR_UNITS: dict[str, int] = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0, "SEK": 2, "DKK": 2, "PLN": 2}

_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]+)?$")


class AmountError(ValueError):
    """An amount that is not a plain, positive decimal string with the currency's precision."""


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


def parse_amount(text: object, currency: str, *, allow_zero: bool = False) -> int:
    """'12.50' -> 1250 for EUR. Refuses floats, exponents, signs and excess precision."""
    if not isinstance(text, str):
        raise AmountError('must be a decimal string such as "12.50"')
    match = _AMOUNT.match(text)
    if not match:
        raise AmountError('must be a decimal string such as "12.50" (digits, optional point)')
    digits = minor_units(currency)
    fraction = match.group(2) or ""
    if len(fraction) - 1 > digits:
        raise AmountError(f"has more than {digits} decimal places for {currency}")
    cents = int(Decimal(text).scaleb(digits))
    if cents == 0 and not allow_zero:
        raise AmountError("must be greater than zero")
    return cents


def format_amount(cents: int, currency: str) -> str:
    """1250 -> '12.50' for EUR."""
    digits = minor_units(currency)
    if digits == 0:
        return str(cents)
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}"
