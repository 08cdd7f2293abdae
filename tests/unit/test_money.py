import pytest
from loyalty.money import AmountError, format_amount, parse_amount


@pytest.mark.parametrize(
    ("text", "cents"), [("12.50", 1250), ("0.01", 1), ("7", 700), ("1000000.5", 100000050)]
)
def test_parse_exact(text, cents):
    assert parse_amount(text, "EUR") == cents
    assert parse_amount(format_amount(cents, "EUR"), "EUR") == cents


@pytest.mark.parametrize("bad", ["1.001", "-1", "1e3", "", " 1", "01", "1.", 12.5, None, "0", "NaN"])
def test_parse_refuses(bad):
    with pytest.raises(AmountError):
        parse_amount(bad, "EUR")


def test_zero_decimal_currency():
    assert parse_amount("1500", "JPY") == 1500
    with pytest.raises(AmountError):
        parse_amount("1.5", "JPY")
    assert format_amount(1500, "JPY") == "1500"
