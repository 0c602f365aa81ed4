"""人民币大写 as the approval form prints it (core.money.to_chinese_capitals)."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from core.money import to_chinese_capitals


@pytest.mark.parametrize(
    "amount, capitals",
    [
        ("0.00", "零元整"),
        ("0.05", "伍分"),
        ("10.00", "壹拾元整"),
        ("1001.00", "壹仟零壹元整"),
        ("100000.10", "壹拾万元零壹角"),
        ("80000.00", "捌万元整"),
        ("3500.00", "叁仟伍佰元整"),
        ("3220.00", "叁仟贰佰贰拾元整"),
    ],
)
def test_amounts_in_chinese_capitals(amount, capitals):
    assert to_chinese_capitals(Decimal(amount)) == capitals


def test_the_template_filter_prints_the_same_capitals():
    rendered = Template("{% load portal %}{{ v|capitals }}").render(
        Context({"v": Decimal("1001.00")})
    )
    assert rendered == "壹仟零壹元整"
