"""The whole region (DOMAIN §8): every GB/T 2260 unit of 150000 and the one resolver."""

import importlib
from datetime import date

import pytest
from django.apps import apps as django_apps

from core.models import Region, RegionAlias
from core.regions import institution_region, resolve_region, resolve_regions
from core.regions_data import read_regions_file

pytestmark = pytest.mark.django_db


def test_twelve_leagues_and_cities_and_103_counties_are_loaded():
    cities = Region.objects.filter(level=Region.Level.CITY)
    assert cities.count() == 12
    assert set(cities.values_list("parent_id", flat=True)) == {"150000"}
    counties = Region.objects.filter(level=Region.Level.COUNTY)
    assert counties.count() == 103
    for county in counties.select_related("parent"):
        assert county.parent.level == Region.Level.CITY
        assert county.code[:4] == county.parent.code[:4]
    per_city = {c.code: c.children.count() for c in cities}
    assert per_city == {
        "150100": 9,
        "150200": 9,
        "150300": 3,
        "150400": 12,
        "150500": 8,
        "150600": 9,
        "150700": 14,
        "150800": 7,
        "150900": 11,
        "152200": 6,
        "152500": 12,
        "152900": 3,
    }


@pytest.mark.parametrize(
    "code, name, parent",
    [
        ("150206", "白云鄂博矿区", "150200"),
        ("150223", "达尔罕茂明安联合旗", "150200"),
        ("150603", "康巴什区", "150600"),
        ("150722", "莫力达瓦达斡尔族自治旗", "150700"),
        ("150981", "丰镇市", "150900"),
        ("152531", "多伦县", "152500"),
        ("152923", "额济纳旗", "152900"),
        ("150302", "海勃湾区", "150300"),
    ],
)
def test_current_names_and_parents(code, name, parent):
    region = Region.objects.get(code=code)
    assert (region.name, region.parent_id, region.level) == (name, parent, Region.Level.COUNTY)
    assert region.coordination_area.code == parent


def test_the_data_migration_is_idempotent_and_keeps_wuhai_rows():
    from django.db import connection

    migration = importlib.import_module("core.migrations.0008_regions_150000")
    Region.objects.filter(code="150302").update(name="旧名")
    before = Region.objects.count(), RegionAlias.objects.count()
    migration.load(django_apps, connection.schema_editor())
    migration.load(django_apps, connection.schema_editor())
    assert (Region.objects.count(), RegionAlias.objects.count()) == before
    assert Region.objects.get(code="150302").name == "海勃湾区"


def test_the_file_names_its_source_and_every_current_row_has_one():
    current, superseded = read_regions_file()
    assert len(current) == 1 + 12 + 103
    assert all("民政部" in row["source"] for row in current)
    assert all(row["valid_until"] and row["successor"] for row in superseded)


@pytest.mark.parametrize(
    "old, new",
    [
        ("152100", "150700"),  # 呼伦贝尔盟 → 呼伦贝尔市
        ("152700", "150600"),  # 伊克昭盟 → 鄂尔多斯市
        ("152600", "150900"),  # 乌兰察布盟 → 乌兰察布市
        ("152800", "150800"),  # 巴彦淖尔盟 → 巴彦淖尔市
        ("152601", "150902"),  # 集宁市 → 集宁区
        ("152801", "150802"),  # 临河市 → 临河区
        ("152301", "150502"),  # 通辽市（县级）→ 科尔沁区
    ],
)
def test_superseded_codes_resolve_to_their_successor(old, new):
    assert not Region.objects.filter(code=old).exists()
    assert resolve_region(old) == new
    assert RegionAlias.objects.get(code=old).valid_until <= date(2004, 1, 1)


def test_current_codes_resolve_to_themselves_and_unknown_to_none():
    assert resolve_region("150203") == "150203"
    assert resolve_region(" 150203 ") == "150203"
    assert resolve_region("159999") is None
    assert resolve_region("") is None
    assert resolve_regions(["150203", "152100", "999999"]) == {
        "150203": "150203",
        "152100": "150700",
    }


def test_institution_codes_carry_their_current_region():
    assert institution_region("H15020300001") == "150203"
    assert institution_region("P15280100007") == "150802"  # 临河市 → 临河区
    assert institution_region("H15030001") is None  # malformed
    assert institution_region("H15999900001") == "159999"  # unknown: as written


def test_a_region_added_in_admin_resolves_at_once():
    Region.objects.create(code="150208", name="测试区", level=3, parent_id="150200")
    assert resolve_region("150208") == "150208"
