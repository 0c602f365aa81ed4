"""Clearing one-stop assistance with institutions (DOMAIN §10): compute, approve, pay."""

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from clearing_helpers import settlement
from django.core.exceptions import ValidationError
from django.db.models import Sum

from claims.models import Institution
from core import idnumber
from core.roles import Role, grant_role
from funds.clearing import clearing_approve, clearing_compute, clearing_pay
from funds.models import ClearedSettlement, Clearing, ClearingLine, Leg, Transaction
from funds.models_clearing import CROSS_AREA
from funds.periods import period_close

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    """ "Today" (Asia/Shanghai) is 2023-09-15: July and August 2023 are past months."""
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        yield


D = Decimal


def _user(django_user_model, username, *roles, region="150300"):
    from core.models import Region

    user = django_user_model.objects.create_user(
        username=username, password="secret-pass-123", region=Region.objects.get(code=region)
    )
    for role in roles:
        grant_role(user, role)
    return user


@pytest.fixture
def payer(django_user_model):
    """A second 财务 of the city: pays what accountant_city computed."""
    return _user(django_user_model, "acc_payer", Role.ACCOUNTANT)


def _compute(period="2023-07", by=None, **kwargs):
    return clearing_compute(area_code="150300", period=period, by=by, **kwargs)


def _lines(result):
    return {
        line.institution_code: line
        for line in ClearingLine.objects.filter(clearing=result.clearing)
    }


def test_clearing_takes_the_areas_settlements_to_the_month_end_per_institution(accountant_city):
    settlement(maf_pay="100.00", code="H15030200001")
    settlement(maf_pay="40.00", code="H15030200001", visit="chronic_outpatient")
    settlement(maf_pay="10.50", code="H15030200001", visit="general_outpatient")
    settlement(maf_pay="200.00", code="P15030400002", name="乌达药店", region="150304")
    settlement(maf_pay="999.00", region="150202")  # a Baotou person: another area's fund
    settlement(maf_pay="0.00")  # no assistance at the counter: nothing to clear
    settlement(maf_pay="77.00", setl_time=date(2023, 8, 1))  # settled after July

    result = _compute(by=accountant_city)

    assert (result.settlements, result.reversals, result.payees) == (4, 0, 2)
    assert (result.inpatient, result.outpatient) == (D("300.00"), D("50.50"))
    assert result.total == D("350.50")
    lines = _lines(result)
    hospital = lines["H15030200001"]
    assert (hospital.settlements, hospital.inpatient, hospital.outpatient) == (
        3,
        D("100"),
        D("50.50"),
    )
    assert hospital.net == D("150.50") and hospital.medfee_sumamt == D("301.00")
    assert lines["P15030400002"].payee == "P15030400002"
    held = ClearedSettlement.objects.filter(line__clearing=result.clearing).select_related(
        "line", "settlement"
    )
    assert len(held) == 4
    assert all(h.line.institution_code == h.settlement.fixmedins_code for h in held)
    assert result.clearing.status == Clearing.Status.DRAFT
    assert result.clearing.computed_by == accountant_city


def test_setl_time_is_read_as_a_shanghai_date():
    # 2023-07-31 23:30 in Shanghai is 15:30 UTC: still July.
    row = settlement(maf_pay="10.00", setl_time=date(2023, 7, 31))
    row.setl_time = datetime(2023, 7, 31, 23, 30, tzinfo=idnumber.CHINA_TZ)
    row.save()
    late = settlement(maf_pay="20.00", setl_time=date(2023, 8, 1))
    late.setl_time = datetime(2023, 8, 1, 0, 0, tzinfo=idnumber.CHINA_TZ)
    late.save()
    assert _compute().total == D("10.00")


def test_each_settlement_is_cleared_once_across_months():
    settlement(maf_pay="100.00", setl_time=date(2023, 7, 5))
    july = _compute("2023-07")
    settlement(maf_pay="30.00", setl_time=date(2023, 8, 5))
    august = _compute("2023-08")
    assert (july.settlements, july.total) == (1, D("100.00"))
    assert (august.settlements, august.total) == (1, D("30.00"))
    assert ClearedSettlement.objects.count() == 2


def test_late_arrival_falls_into_the_next_clearing():
    settlement(maf_pay="100.00", setl_time=date(2023, 7, 5))
    july = _compute("2023-07")
    clearing_approve_as_supervisor(july)
    # Imported in August, settled in July: July is approved, so August takes it.
    settlement(maf_pay="25.00", setl_time=date(2023, 7, 20))
    august = _compute("2023-08")
    assert (august.settlements, august.total) == (1, D("25.00"))


def clearing_approve_as_supervisor(result):
    from django.contrib.auth import get_user_model

    from core.models import Region

    user, _created = get_user_model().objects.get_or_create(
        username="sup_helper", defaults={"region": Region.objects.get(code="150300")}
    )
    grant_role(user, Role.SUPERVISOR)
    return clearing_approve(clearing=result.clearing, by=user)


def test_reversal_of_a_cleared_settlement_is_a_negative_line_next_month():
    original = settlement(maf_pay="300.00", setl_time=date(2023, 7, 5))
    _compute("2023-07")
    settlement(maf_pay="-300.00", setl_time=date(2023, 8, 2), reversal_of=original.setl_id)
    august = _compute("2023-08")
    assert (august.settlements, august.reversals) == (1, 1)
    line = _lines(august)["H15030200001"]
    assert line.net == D("-300.00") and line.reversals == 1  # 应扣回
    assert august.total == D("-300.00")


def test_a_draft_of_an_earlier_month_holds_its_settlements():
    settlement(maf_pay="100.00", setl_time=date(2023, 7, 5))
    july = _compute("2023-07")
    assert july.clearing.status == Clearing.Status.DRAFT
    august = _compute("2023-08")
    assert august.settlements == 0 and august.clearing is None
    assert not Clearing.objects.filter(month=8).exists()


def test_recomputing_a_draft_replaces_it_and_takes_late_arrivals():
    settlement(maf_pay="100.00", setl_time=date(2023, 7, 5))
    first = _compute("2023-07")
    settlement(maf_pay="50.00", setl_time=date(2023, 7, 6), code="H15030200009")
    second = _compute("2023-07")
    assert second.clearing.pk == first.clearing.pk
    assert (second.settlements, second.payees, second.total) == (2, 2, D("150.00"))
    assert ClearingLine.objects.filter(clearing=second.clearing).count() == 2
    assert ClearedSettlement.objects.count() == 2


def test_recomputing_a_draft_with_nothing_left_removes_it():
    row = settlement(maf_pay="100.00", setl_time=date(2023, 7, 5))
    _compute("2023-07")
    # The row is the only one; once a later clearing holds it (impossible through the
    # service while July holds it), July's recompute would find nothing: simulate by
    # moving it outside the area.
    row.insu_admdvs_id = "150202"
    row.save()
    result = _compute("2023-07")
    assert (result.settlements, result.applied) == (0, False)
    assert not Clearing.objects.exists() and not ClearedSettlement.objects.exists()


def test_institutions_outside_the_area_are_grouped_under_the_cross_area_payee():
    settlement(maf_pay="100.00", code="H15030200001")
    settlement(maf_pay="60.00", code="H15020200001", name="包头市中心医院")  # Baotou
    settlement(maf_pay="40.00", code="H11010500001", name="北京某医院", visit="general_outpatient")
    result = _compute()
    lines = _lines(result)
    assert lines["H15020200001"].payee == CROSS_AREA
    assert lines["H11010500001"].payee == CROSS_AREA
    assert lines["H15030200001"].payee == "H15030200001"
    assert (result.payees, result.cross_area, result.total) == (2, D("100.00"), D("200.00"))


def test_clearing_fills_the_institution_register_and_keeps_admin_edits():
    Institution.objects.create(
        code="H15030200001", name="乌海市第一人民医院（管理员）", level=3, admdvs="150302"
    )
    settlement(maf_pay="100.00", code="H15030200001", name="平台名称")
    settlement(maf_pay="60.00", code="H15020200007", name="包头市中心医院")
    result = _compute()
    known = Institution.objects.get(code="H15030200001")
    assert (known.name, known.level) == ("乌海市第一人民医院（管理员）", 3)
    added = Institution.objects.get(code="H15020200007")
    assert (added.name, added.admdvs, added.level, added.designated) == (
        "包头市中心医院",
        "150202",
        1,
        True,
    )
    assert _lines(result)["H15030200001"].institution_name == "乌海市第一人民医院（管理员）"


def test_dry_run_writes_nothing():
    settlement(maf_pay="100.00", code="H15030200005")
    result = _compute(dry_run=True)
    assert (result.settlements, result.total, result.applied) == (1, D("100.00"), False)
    assert not Clearing.objects.exists() and not ClearedSettlement.objects.exists()
    assert not Institution.objects.filter(code="H15030200005").exists()


# --- Approval and payment ----------------------------------------------------------------


@pytest.fixture
def approved(accountant_city, supervisor_city):
    settlement(maf_pay="300.00", code="H15030200001")
    settlement(maf_pay="45.00", code="H15030200001", visit="chronic_outpatient")
    settlement(maf_pay="60.00", code="H15020200001")
    settlement(maf_pay="40.00", code="H11010500001", visit="general_outpatient")
    result = _compute(by=accountant_city)
    return clearing_approve(clearing=result.clearing, by=supervisor_city)


def _legs(subject):
    return Leg.objects.filter(subject_id=subject).aggregate(s=Sum("amount"))["s"]


def test_paying_posts_per_payee_and_visit_type(approved, payer):
    clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 8, 10), reference="ZZ01")
    keys = set(Transaction.objects.values_list("key", flat=True))
    assert keys == {
        "clearing:150300:2023-07:H15030200001:inpatient",
        "clearing:150300:2023-07:H15030200001:outpatient",
        "clearing:150300:2023-07:cross_area:inpatient",
        "clearing:150300:2023-07:cross_area:outpatient",
    }
    assert (_legs("500101"), _legs("500102"), _legs("1004")) == (
        D("360.00"),
        D("85.00"),
        D("-445.00"),
    )
    approved.refresh_from_db()
    assert approved.status == Clearing.Status.PAID and approved.paid_by == payer


def test_a_negative_net_posts_the_reverse(accountant_city, supervisor_city, payer):
    original = settlement(maf_pay="300.00", setl_time=date(2023, 6, 5))
    june = _compute("2023-06", by=accountant_city)
    clearing_approve(clearing=june.clearing, by=supervisor_city)
    settlement(maf_pay="-300.00", setl_time=date(2023, 7, 2), reversal_of=original.setl_id)
    settlement(maf_pay="100.00", setl_time=date(2023, 7, 3), visit="general_outpatient")
    july = _compute("2023-07", by=accountant_city)
    clearing_approve(clearing=july.clearing, by=supervisor_city)
    clearing_pay(clearing=july.clearing, by=payer, paid_on=date(2023, 8, 10))
    voucher = Transaction.objects.get(key="clearing:150300:2023-07:H15030200001:inpatient")
    amounts = dict(voucher.legs.values_list("subject_id", "amount"))
    assert amounts == {"500101": D("-300.00"), "1004": D("300.00")}  # 应扣回


def test_a_retried_payment_posts_once(approved, payer):
    clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 8, 10))
    clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 8, 10))
    assert Transaction.objects.count() == 4
    assert _legs("1004") == D("-445.00")


def test_a_voucher_already_posted_under_the_key_is_not_posted_again(approved, payer):
    from funds.clearing import _post_once

    approved.refresh_from_db()
    first = _post_once(
        clearing=approved,
        payee="H15030200001",
        kind="inpatient",
        amount=D("300.00"),
        by=payer,
        day=date(2023, 8, 10),
    )
    clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 8, 10))
    assert Transaction.objects.filter(key=first.key).count() == 1
    assert _legs("500101") == D("360.00")


def test_the_one_who_computed_cannot_approve(accountant_city, django_user_model):
    both = _user(django_user_model, "two_roles", Role.ACCOUNTANT, Role.SUPERVISOR)
    settlement(maf_pay="100.00")
    result = _compute(by=both)
    with pytest.raises(ValidationError, match="本人计算"):
        clearing_approve(clearing=result.clearing, by=both)
    assert Clearing.objects.get().status == Clearing.Status.DRAFT


def test_the_approver_cannot_pay(approved, django_user_model, supervisor_city):
    grant_role(supervisor_city, Role.ACCOUNTANT)  # now holds both roles
    both = django_user_model.objects.get(pk=supervisor_city.pk)  # fresh permission cache
    with pytest.raises(ValidationError, match="计算人或审核人"):
        clearing_pay(clearing=approved, by=both, paid_on=date(2023, 8, 10))
    assert not Transaction.objects.exists()


def test_the_one_who_computed_cannot_pay(approved, accountant_city):
    with pytest.raises(ValidationError, match="计算人或审核人"):
        clearing_pay(clearing=approved, by=accountant_city, paid_on=date(2023, 8, 10))
    assert not Transaction.objects.exists()


def test_a_draft_cannot_be_paid(accountant_city, payer):
    settlement(maf_pay="100.00")
    result = _compute(by=accountant_city)
    with pytest.raises(ValidationError, match="已审核"):
        clearing_pay(clearing=result.clearing, by=payer, paid_on=date(2023, 8, 10))


def test_payment_in_a_closed_period_is_refused(approved, payer, accountant_city):
    period_close(fund=approved.fund, year=2023, month=8, by=accountant_city)
    with pytest.raises(ValidationError, match="已结账"):
        clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 8, 10))
    approved.refresh_from_db()
    assert approved.status == Clearing.Status.APPROVED and not Transaction.objects.exists()


def test_an_approved_clearing_cannot_be_recomputed(approved):
    settlement(maf_pay="5.00", setl_time=date(2023, 7, 30))
    with pytest.raises(ValidationError, match="不能重新计算"):
        _compute("2023-07")
    assert approved.lines.count() == 3


def test_regional_user_cannot_compute_or_approve(regional_viewer, accountant_city):
    grant_role(regional_viewer, Role.ACCOUNTANT)
    settlement(maf_pay="100.00")
    with pytest.raises(ValidationError):
        _compute(by=regional_viewer)
    result = _compute(by=accountant_city)
    with pytest.raises(ValidationError):
        clearing_approve(clearing=result.clearing, by=regional_viewer)


def test_district_caseworker_and_supervisor_cannot_compute(caseworker_haibowan, supervisor_city):
    settlement(maf_pay="100.00")
    for user in (caseworker_haibowan, supervisor_city):  # no region / no role
        with pytest.raises(ValidationError, match="不能计算"):
            _compute(by=user)
    assert not Clearing.objects.exists()


def test_a_future_period_is_refused():
    with pytest.raises(ValidationError, match="尚未到来"):
        _compute("2023-10")


def test_imported_settlements_are_cleared_by_the_visit_type_the_import_stored(tmp_path):
    from clearing_helpers import assisted_row, import_rows

    import_rows(
        tmp_path,
        [
            assisted_row("A1", 1, maf_pay="120.00", med_type="21"),  # 普通住院
            assisted_row("A2", 2, maf_pay="30.00", med_type="14"),  # 门诊慢特病
            assisted_row("A3", 3, maf_pay="8.00", med_type="11"),  # 普通门诊
            assisted_row("A4", 1, maf_pay="120.00", reversal_of="A1"),
        ],
    )
    result = _compute()
    assert (result.settlements, result.reversals) == (4, 1)
    assert (result.inpatient, result.outpatient, result.total) == (
        D("0.00"),
        D("38.00"),
        D("38.00"),
    )
