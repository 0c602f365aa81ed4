"""The institution register is filled when settlements are imported (DOMAIN §8, issue #15)."""

import pytest
from monitoring_helpers import certno, srow

from claims import selectors
from claims.institutions import register_from_settlements
from claims.models import Institution
from monitoring.models import Settlement
from monitoring.settlements import settlement_import

pytestmark = pytest.mark.django_db

C1 = certno(1)


def test_import_registers_new_codes_with_region_from_the_code_and_level_1(settlement_file):
    rows = [
        srow("S1", C1, fixmedins_code="H15030200002", fixmedins_name="乌海市人民医院"),
        srow("S2", C1, fixmedins_code="H15030200002", fixmedins_name="乌海市人民医院"),
        srow("S3", C1, fixmedins_code="P11010500009", fixmedins_name="北京某药店"),
    ]
    result = settlement_import(path=settlement_file(rows))
    assert result.applied
    registered = {
        i.code: (i.name, i.admdvs, i.level, i.designated) for i in Institution.objects.all()
    }
    assert registered == {
        "H15030200002": ("乌海市人民医院", "150302", 1, True),
        "P11010500009": ("北京某药店", "110105", 1, True),
    }
    # audited like every change (history row with the reason)
    history = Institution.history.get(code="P11010500009")
    assert history.history_type == "+" and history.history_change_reason == "导入结算明细时登记"
    # the manual-bill form offers the same register
    assert set(selectors.institutions().values_list("code", flat=True)) == set(registered)


def test_admin_edits_are_kept_and_malformed_codes_are_left_out(settlement_file):
    Institution.objects.create(
        code="H15030200002", name="乌海市人民医院（管理员）", level=3, admdvs="150302"
    )
    rows = [
        srow("S1", C1, fixmedins_code="H15030200002", fixmedins_name="平台名称"),
        srow("S2", C1, fixmedins_code="H15030001", fixmedins_name="无区划编号"),
    ]
    settlement_import(path=settlement_file(rows))
    known = Institution.objects.get(code="H15030200002")
    assert (known.name, known.level) == ("乌海市人民医院（管理员）", 3)
    assert not Institution.objects.filter(code="H15030001").exists()
    assert Institution.objects.count() == 1


def test_dry_run_and_rejected_files_register_nothing(settlement_file):
    rows = [srow("S1", C1, fixmedins_code="H15030200002")]
    settlement_import(path=settlement_file(rows), dry_run=True)
    assert not Institution.objects.exists()
    bad = [srow("S1", C1, fixmedins_code="H15030200002", enddate="2023-02-30")]
    assert settlement_import(path=settlement_file(bad)).errors
    assert not Institution.objects.exists()


def test_register_from_a_queryset_and_twice_is_idempotent(settlement_file):
    settlement_import(path=settlement_file([srow("S1", C1, fixmedins_code="H15020200001")]))
    Institution.objects.all().delete()
    rows = Settlement.objects.all()
    assert register_from_settlements(rows) == 1
    assert register_from_settlements(rows) == 0
    assert Institution.objects.get().admdvs == "150202"


def test_the_replay_reads_the_register_the_import_filled(settlement_file):
    """An institution outside Inner Mongolia, known from its code at import, is no longer
    taken as inside the region by the replay (no tilted assistance there, W 三(四))."""
    from claims import adapters

    rows = [
        srow("S1", C1, fixmedins_code="H11010500001", fixmedins_name="北京某医院"),
        srow("S2", C1, fixmedins_code="H15030200002", fixmedins_name="乌海市人民医院"),
    ]
    settlement_import(path=settlement_file(rows))
    items = adapters.net_settlements(Settlement.objects.order_by("setl_id"))
    register = {i.code: i for i in Institution.objects.all()}
    bills = [
        adapters.settlement_bill(item, institutions=register, area_code="150300") for item in items
    ]
    assert [(b.in_region, b.in_coordination_area) for b in bills] == [(False, False), (True, True)]
