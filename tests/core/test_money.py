"""core.money: Decimal amounts, display and 人民币大写. No database."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import format_money, money, to_chinese_capitals

# money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.0049", "0.00"),
        ("2.675", "2.68"),  # float 2.675 would round down; Decimal does not
        ("-0.005", "-0.01"),
        (Decimal("80000"), "80000.00"),
        (3500, "3500.00"),
        (" 12.3 ", "12.30"),
    ],
)
def test_money_rounds_half_up_to_the_fen(value, expected):
    result = money(value)
    assert isinstance(result, Decimal)
    assert str(result) == expected


def test_money_rounding_to_zero_gives_positive_zero():
    assert str(money("-0.001")) == "0.00"


@pytest.mark.parametrize("value", [0.1, 1.0, float("nan")])
def test_money_refuses_float(value):
    with pytest.raises(TypeError, match="never float"):
        money(value)


@pytest.mark.parametrize("value", [None, True])
def test_money_refuses_values_that_are_not_amounts(value):
    with pytest.raises(TypeError):
        money(value)


@pytest.mark.parametrize("value", ["", "abc", "1,000", "NaN", "Infinity", Decimal("NaN"), "1e30"])
def test_money_refuses_text_that_is_not_a_finite_number(value):
    with pytest.raises(ValueError):
        money(value)


# format_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("80000", "80,000.00"),
        ("-1234.5", "-1,234.50"),
        ("0", "0.00"),
        ("999.995", "1,000.00"),
        (1234567890, "1,234,567,890.00"),
    ],
)
def test_format_money_has_thousands_separators_and_two_decimals(value, expected):
    assert format_money(value) == expected


def test_format_money_refuses_float():
    with pytest.raises(TypeError):
        format_money(80000.0)


# to_chinese_capitals


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.00", "零元整"),
        ("0.05", "伍分"),
        ("10.00", "壹拾元整"),
        ("1001.00", "壹仟零壹元整"),
        ("100000.10", "壹拾万元零壹角"),
        ("80000.00", "捌万元整"),
        ("3500.00", "叁仟伍佰元整"),
        ("0.50", "伍角"),
        ("1.05", "壹元零伍分"),
        ("10.50", "壹拾元伍角"),
        ("105000.00", "壹拾万伍仟元整"),
        ("100000000.00", "壹亿元整"),
        ("1010101.01", "壹佰零壹万零壹佰零壹元零壹分"),
        ("12.34", "壹拾贰元叁角肆分"),
        ("20000.30", "贰万元零叁角"),
    ],
)
def test_capitals_follow_accounting_convention(value, expected):
    assert to_chinese_capitals(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # examples of the PBoC rules for filling in bills (正确填写票据和结算凭证的基本规定)
        ("1409.50", "壹仟肆佰零玖元伍角"),
        ("6007.14", "陆仟零柒元壹角肆分"),
        ("16409.02", "壹万陆仟肆佰零玖元零贰分"),
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("1680.32", "壹仟陆佰捌拾元叁角贰分"),  # the form without 零, which the rules allow
    ],
)
def test_capitals_match_the_central_bank_examples(value, expected):
    assert to_chinese_capitals(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.55", "伍角伍分"),
        ("10.05", "壹拾元零伍分"),
        ("100100", "壹拾万零壹佰元整"),
        ("100000001", "壹亿零壹元整"),
        ("100010000", "壹亿零壹万元整"),
        ("1000000000000", "壹万亿元整"),
        ("1000100000000", "壹万零壹亿元整"),
        (
            "999999999999.99",
            "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
        ),
    ],
)
def test_capitals_of_edge_amounts(value, expected):
    assert to_chinese_capitals(value) == expected


def test_negative_capitals_are_prefixed_负():
    assert to_chinese_capitals("-1234.50") == "负壹仟贰佰叁拾肆元伍角"


def test_amount_rounding_to_zero_has_no_sign():
    assert to_chinese_capitals("-0.004") == "零元整"


def test_capitals_round_half_up_to_the_fen_first():
    assert to_chinese_capitals("0.995") == "壹元整"


def test_capitals_accept_decimal_and_int():
    assert to_chinese_capitals(Decimal("3500")) == to_chinese_capitals(3500) == "叁仟伍佰元整"


def test_capitals_refuse_float():
    with pytest.raises(TypeError):
        to_chinese_capitals(3500.0)


def test_capitals_refuse_amounts_of_10_to_the_16_yuan():
    with pytest.raises(ValueError):
        to_chinese_capitals(10**16)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2)


@given(amounts)
def test_capitals_never_have_two_zeros_in_a_row_or_end_in_zero(amount):
    text = to_chinese_capitals(amount)
    assert "零零" not in text
    assert not text.endswith("零")
    assert not text.startswith("零")


@given(amounts)
def test_capitals_end_in_整_exactly_when_there_are_no_jiao_and_fen(amount):
    text = to_chinese_capitals(amount)
    assert text.endswith("整") == (amount % 1 == 0)
    assert text.endswith(("整", "角", "分"))
