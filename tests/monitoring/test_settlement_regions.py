"""A settlement extract of persons from several counties, one with an old code (DOMAIN §8)."""

import pytest
from monitoring_helpers import certno, srow

from core.scoping import scoped
from monitoring.models import Settlement
from monitoring.settlements import settlement_import

pytestmark = pytest.mark.django_db

ROWS = [
    ("S-BT", "150203", "H15020300001"),  # 昆都仑区
    ("S-EEDS", "150603", "H15060300002"),  # 康巴什区
    ("S-XAM", "152201", "H15220100003"),  # 乌兰浩特市
    ("S-ALS", "152923", "H15292300004"),  # 额济纳旗
    ("S-OLD", "152100", "H15210000005"),  # 呼伦贝尔盟: superseded by 呼伦贝尔市
]


def test_settlements_from_many_counties_import_without_row_errors(settlement_file):
    rows = [
        srow(sid, certno(n, region if region != "152100" else "150702"), insu_admdvs=region,
             fixmedins_code=code)
        for n, (sid, region, code) in enumerate(ROWS, 1)
    ]  # fmt: skip
    result = settlement_import(path=settlement_file(rows))
    assert (result.imported, result.errors) == (5, [])
    stored = dict(Settlement.objects.values_list("setl_id", "insu_admdvs_id"))
    assert stored == {
        "S-BT": "150203",
        "S-EEDS": "150603",
        "S-XAM": "152201",
        "S-ALS": "152923",
        "S-OLD": "150700",
    }


def test_each_area_sees_only_its_own_settlements(settlement_file, django_user_model):
    rows = [
        srow(sid, certno(n, "150702"), insu_admdvs=region) for n, (sid, region, _c) in
        enumerate(ROWS, 1)
    ]  # fmt: skip
    settlement_import(path=settlement_file(rows))
    hulunbuir = django_user_model.objects.create_user("hlbe", region_id="150700")
    baotou = django_user_model.objects.create_user("bt", region_id="150200")
    assert list(scoped(Settlement.objects, hulunbuir).values_list("setl_id", flat=True)) == [
        "S-OLD"
    ]
    assert list(scoped(Settlement.objects, baotou).values_list("setl_id", flat=True)) == ["S-BT"]


def test_an_unknown_code_is_still_a_row_error(settlement_file):
    result = settlement_import(path=settlement_file([srow("S1", certno(1), insu_admdvs="159999")]))
    assert [(e.field, e.message) for e in result.errors] == [("insu_admdvs", "医保区划代码未知")]
