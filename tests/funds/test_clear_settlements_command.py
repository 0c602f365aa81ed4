"""The `clear_settlements` command contract (DOMAIN §10): JSON keys and order, exit codes."""

import json
from datetime import UTC, date, datetime

import pytest
import time_machine
from clearing_helpers import settlement
from django.core.management import call_command

from claims.models import Institution
from core import idnumber
from funds.clearing import clearing_approve, clearing_compute, clearing_pay
from funds.models import ClearedSettlement, Clearing

pytestmark = pytest.mark.django_db

KEYS = [
    "area",
    "period",
    "settlements",
    "reversals",
    "payees",
    "inpatient",
    "outpatient",
    "total",
    "cross_area",
    "applied",
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        yield


def _run(capsys, *args):
    with pytest.raises(SystemExit) as exit_:
        call_command("clear_settlements", *args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def _month(capsys, period="2023-07", *extra, area="150300"):
    return _run(capsys, "--area", area, "--period", period, *extra)


def _data():
    original = settlement(maf_pay="1000.00", code="H15030200001", setl_time=date(2023, 6, 30))
    clearing_compute(area_code="150300", period="2023-06")
    settlement(maf_pay="1523400.55", code="H15030200001", medfee="2000000.00")
    settlement(maf_pay="-1000.00", code="H15030200001", reversal_of=original.setl_id)
    settlement(maf_pay="84211.30", code="P15030400003", visit="general_outpatient")
    settlement(maf_pay="45210.00", code="H15020200001")
    settlement(maf_pay="1000.00", code="H11010500001", visit="chronic_outpatient")


def test_prints_the_contract_json_with_keys_in_order_and_amounts_as_strings(capsys):
    _data()
    code, out, err = _month(capsys)
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert list(result) == KEYS
    assert result == {
        "area": "150300",
        "period": "2023-07",
        "settlements": 5,
        "reversals": 1,
        "payees": 3,
        "inpatient": "1567610.55",
        "outpatient": "85211.30",
        "total": "1652821.85",
        "cross_area": "46210.00",
        "applied": True,
    }
    assert out.count("\n") <= 1
    assert Clearing.objects.get(month=7).status == Clearing.Status.DRAFT


def test_dry_run_prints_the_same_and_writes_nothing(capsys):
    _data()
    held = ClearedSettlement.objects.count()
    institutions = Institution.objects.count()
    code, out, _err = _month(capsys, "2023-07", "--dry-run")
    result = json.loads(out)
    assert code == 0 and result["applied"] is False and result["settlements"] == 5
    assert not Clearing.objects.filter(month=7).exists()
    assert ClearedSettlement.objects.count() == held
    assert Institution.objects.count() == institutions
    code, out, _err = _month(capsys, "2023-07")
    assert {**json.loads(out), "applied": False} == result


def test_nothing_to_clear_prints_zeros_and_writes_no_draft(capsys):
    code, out, _err = _month(capsys, "2023-05")
    assert code == 0
    assert json.loads(out) == {
        "area": "150300",
        "period": "2023-05",
        "settlements": 0,
        "reversals": 0,
        "payees": 0,
        "inpatient": "0.00",
        "outpatient": "0.00",
        "total": "0.00",
        "cross_area": "0.00",
        "applied": False,
    }
    assert not Clearing.objects.exists()


def test_recomputing_a_draft_replaces_it(capsys):
    settlement(maf_pay="10.00")
    _month(capsys)
    settlement(maf_pay="5.25", code="H15030200002")
    code, out, _err = _month(capsys)
    result = json.loads(out)
    assert (code, result["settlements"], result["total"], result["payees"]) == (0, 2, "15.25", 2)
    assert Clearing.objects.count() == 1


@pytest.mark.parametrize(
    "period", ["2023-7", "2023-13", "2023-00", "2023/07", "202307", "２０２３-07", "2023-07-01", ""]
)
def test_malformed_period_exits_2_with_nothing_on_stdout(capsys, period):
    code, out, err = _month(capsys, period)
    assert (code, out) == (2, "") and err


@pytest.mark.parametrize("area", ["999900", "150000", "150302", "15030", ""])
def test_area_that_is_not_a_coordination_area_exits_2(capsys, area):
    code, out, err = _month(capsys, area=area)
    assert (code, out) == (2, "") and err


def test_future_period_exits_2_by_the_shanghai_date(capsys):
    settlement(maf_pay="10.00", setl_time=date(2023, 7, 31))
    # 15:59 UTC on 31 July is 23:59 in Shanghai: August has not begun.
    with time_machine.travel(datetime(2023, 7, 31, 15, 59, tzinfo=UTC), tick=False):
        code, out, err = _month(capsys, "2023-08")
        assert (code, out) == (2, "") and err
        assert _month(capsys, "2023-07")[0] == 0
    # 16:00 UTC is midnight in Shanghai: now August is the current month.
    with time_machine.travel(datetime(2023, 7, 31, 16, 0, tzinfo=UTC), tick=False):
        assert _month(capsys, "2023-08")[0] == 0


def test_an_approved_clearing_of_the_month_exits_2(capsys, supervisor_city):
    settlement(maf_pay="10.00")
    result = clearing_compute(area_code="150300", period="2023-07")
    clearing_approve(clearing=result.clearing, by=supervisor_city)
    code, out, err = _month(capsys)
    assert (code, out) == (2, "") and "已审核" in err
    assert Clearing.objects.get().lines.count() == 1


def test_a_paid_clearing_of_the_month_exits_2(capsys, supervisor_city, accountant_city):
    settlement(maf_pay="10.00")
    result = clearing_compute(area_code="150300", period="2023-07")
    clearing_approve(clearing=result.clearing, by=supervisor_city)
    clearing_pay(clearing=result.clearing, by=accountant_city, paid_on=date(2023, 8, 3))
    code, out, err = _month(capsys)
    assert (code, out) == (2, "") and "已支付" in err


def test_dry_run_with_nothing_left_keeps_the_existing_draft(capsys):
    row = settlement(maf_pay="10.00")
    _month(capsys)
    row.insu_admdvs_id = "150202"  # no longer the area's: a recompute would find nothing
    row.save()
    code, out, _err = _month(capsys, "2023-07", "--dry-run")
    assert (code, json.loads(out)["settlements"], json.loads(out)["applied"]) == (0, 0, False)
    assert Clearing.objects.filter(month=7).exists()
    assert ClearedSettlement.objects.filter(settlement=row).exists()


def test_the_refusal_names_the_month_and_its_status(capsys, supervisor_city):
    settlement(maf_pay="10.00")
    result = clearing_compute(area_code="150300", period="2023-07")
    clearing_approve(clearing=result.clearing, by=supervisor_city)
    _code, _out, err = _month(capsys)
    assert err.strip() == "2023-07 的清算单已审核，不能重新计算。"
