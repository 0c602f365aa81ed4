"""A roster of persons from counties all over Inner Mongolia (DOMAIN §8, §9.1)."""

from datetime import date

import pytest
from roster_helpers import csv_bytes

from beneficiaries.models import Person
from beneficiaries.roster_services import roster_import
from core import idnumber
from core.models import Region

pytestmark = pytest.mark.django_db

COUNTIES = {
    "150203": "150200",  # 昆都仑区, 包头市
    "150722": "150700",  # 莫力达瓦达斡尔族自治旗, 呼伦贝尔市
    "152502": "152500",  # 锡林浩特市, 锡林郭勒盟
    "152921": "152900",  # 阿拉善左旗, 阿拉善盟
    "150429": "150400",  # 宁城县, 赤峰市
}


def _rows():
    rows = []
    for seq, code in enumerate([*COUNTIES, "152601"], 1):  # 152601 集宁市: the old code
        rows.append(
            [f"测试{seq}", idnumber.make(code, date(1970, 1, seq), seq), "低保对象", "2023-01-01",
             "", code, ""]
        )  # fmt: skip
    return rows


def test_a_region_wide_roster_imports_every_county_into_its_area():
    plan = roster_import(
        name="roster.csv",
        data=csv_bytes(_rows()),
        department="civil_affairs",
        region=Region.objects.get(code="150000"),
        as_of=date(2023, 7, 1),
        by=None,
    )
    assert (plan["errors"], plan["applied"]) == ([], True)
    regions = dict(Person.objects.values_list("name", "region_id"))
    assert regions == {
        "测试1": "150203",
        "测试2": "150722",
        "测试3": "152502",
        "测试4": "152921",
        "测试5": "150429",
        "测试6": "150902",  # 集宁市 (152601) → 集宁区
    }
    for person in Person.objects.select_related("region__parent"):
        expected = COUNTIES.get(person.region_id, "150900")
        assert person.region.coordination_area.code == expected


def test_a_city_roster_refuses_another_citys_county():
    plan = roster_import(
        name="roster.csv",
        data=csv_bytes(_rows()[:2]),
        department="civil_affairs",
        region=Region.objects.get(code="150200"),
        as_of=date(2023, 7, 1),
        dry_run=True,
        by=None,
    )
    assert [(e["row"], e["field"]) for e in plan["errors"]] == [(3, "行政区划代码")]
