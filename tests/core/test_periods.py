"""The one period parser (core.periods), Django-free."""

import pytest

from core.periods import split_period


@pytest.mark.parametrize(
    ("text", "parts"),
    [("2023", (2023, None)), ("2023-07", (2023, 7)), ("2023-12", (2023, 12))],
)
def test_a_year_or_a_month_is_a_period(text, parts):
    assert split_period(text) == parts


@pytest.mark.parametrize(
    "text",
    ["0000", "1899", "2023-00", "2023-13", "2023-7", "2023/07", "２０２３", "2023-07-01", ""],
)
def test_anything_else_is_not(text):
    assert split_period(text) is None


def test_the_options_ask_for_a_month_allow_one_digit_and_move_the_first_year():
    assert split_period("2023", month_required=True) is None
    assert split_period("2023-7", one_digit_month=True) == (2023, 7)
    assert split_period("0500-01", first_year=1) == (500, 1)
