"""The uplift interval against published values (Newcombe 1998, Stat Med 17:857-872, and 1998b for
single proportions), to the 4 places the papers print."""

from __future__ import annotations

import pytest
from loyalty.domain.uplift import uplift, wilson


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombe_1998b(successes: int, n: int, low: float, high: float) -> None:
    assert [round(v, 4) for v in wilson(successes, n)] == [low, high]


@pytest.mark.parametrize(
    ("a", "m", "b", "n", "difference", "low", "high"),
    [
        (56, 70, 48, 80, 0.2, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.6, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.5714, 0.0582, 0.8062),
        (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
        (0, 10, 0, 20, 0.0, -0.1611, 0.2775),
    ],
)
def test_difference_interval_matches_newcombe_1998_method_10(
    a: int, m: int, b: int, n: int, difference: float, low: float, high: float
) -> None:
    result = uplift(a, m, b, n)
    assert result is not None
    assert (round(result.difference, 4), round(result.low, 4), round(result.high, 4)) == (
        difference,
        low,
        high,
    )


def test_the_interval_stays_within_minus_one_and_one_and_an_empty_group_gives_none() -> None:
    result = uplift(10, 10, 0, 20)
    assert result is not None and result.high == 1.0 and 0 < result.low < 1
    assert uplift(3, 10, 0, 0) is None and uplift(0, 0, 3, 10) is None
    same = uplift(1, 4, 1, 4)
    assert same is not None
    shown = same.to_dict()
    assert (shown["treatment_rate"], shown["holdout_rate"], shown["difference"]) == (
        "0.2500",
        "0.2500",
        "0.0000",
    )
    assert shown["ci95_low"] == "-" + shown["ci95_high"]  # equal groups: symmetric around 0


def test_successes_outside_zero_to_n_are_refused() -> None:
    with pytest.raises(ValueError, match=r"within 0\.\.n"):
        wilson(11, 10)
