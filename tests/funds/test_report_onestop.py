"""Benefit expense by category and visit type includes cleared one-stop assistance (DOMAIN
§10, last bullet): a paid clearing's postings are split by the category of each settlement
(the highest-ranked identity covering it on its end date, §3; `other` when none does), the
split sums exactly to the postings, and one-stop and manual are shown side by side."""

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from clearing_helpers import settlement
from django.db.models import Sum
from django.urls import reverse
from factories import IdentityFactory, PersonFactory

from core import idnumber
from core.roles import Role, grant_role
from funds.clearing import clearing_approve, clearing_compute, clearing_pay
from funds.models import Leg, Transaction
from funds.selectors import month_report
from funds.services import benefit_post, entry_approve, transaction_reverse
from monitoring.models import Settlement

pytestmark = pytest.mark.django_db
D = Decimal
INPATIENT, CHRONIC, GENERAL = 0, 1, 2


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        yield


@pytest.fixture
def payer(django_user_model):
    from core.models import Region

    user = django_user_model.objects.create_user(
        username="acc_payer", password="secret-pass-123", region=Region.objects.get(code="150300")
    )
    grant_role(user, Role.ACCOUNTANT)
    return user


def _holder(s, *identities):
    """A person with the settlement's certno holding (category, start, end) identities."""
    person = PersonFactory(id_number=s.certno)
    for category, start, end in identities:
        IdentityFactory(person=person, category=category, start=start, end=end)
    return person


def _pay(accountant_city, supervisor_city, payer, period="2023-07"):
    result = clearing_compute(area_code="150300", period=period, by=accountant_city)
    approved = clearing_approve(clearing=result.clearing, by=supervisor_city)
    return clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 8, 10))


def _rows(report):
    return {b["code"]: b for b in report.benefits}


def _clearing_legs():
    return Leg.objects.filter(
        subject__parent_id="5001", transaction__key__startswith="clearing:"
    ).aggregate(s=Sum("amount"))["s"]


@pytest.fixture
def paid(accountant_city, supervisor_city, payer):
    a = settlement(maf_pay="300.00")
    _holder(a, ("subsistence", date(2023, 1, 1), None))
    b = settlement(maf_pay="100.00")  # holds two: the higher rank applies (就高不就低)
    _holder(b, ("subsistence", date(2022, 1, 1), None), ("destitute", date(2023, 3, 1), None))
    c = settlement(maf_pay="45.00", visit="chronic_outpatient")
    _holder(c, ("subsistence", date(2023, 1, 1), None))
    settlement(maf_pay="40.00", visit="general_outpatient")  # not known to the portal
    e = settlement(maf_pay="10.00", visit="general_outpatient")
    _holder(e, ("near_subsistence", date(2022, 1, 1), date(2023, 5, 15)))  # covered to May 31
    r = settlement(maf_pay="-50.00", reversal_of=a.setl_id)  # partial reversal of a
    Settlement.objects.filter(pk=r.pk).update(certno=a.certno)
    f = settlement(maf_pay="60.00", code="H11010500001", name="北京某医院")  # cross-area payee
    _holder(f, ("poverty_risk", date(2023, 1, 1), None))
    return _pay(accountant_city, supervisor_city, payer)


def test_paid_clearing_is_split_by_the_category_covering_each_settlement(paid):
    rows = _rows(month_report(paid.fund, 2023, 8))
    assert rows["subsistence"]["onestop"] == [D("250.00"), D("45.00"), D("0")]
    assert rows["destitute"]["onestop"] == [D("100.00"), D("0"), D("0")]
    assert rows["poverty_risk"]["onestop"] == [D("60.00"), D("0"), D("0")]
    assert rows["other"]["onestop"] == [D("0"), D("0"), D("50.00")]
    assert "" not in rows  # nothing left uncategorised


def test_the_split_sums_exactly_to_the_posted_amounts(paid):
    report = month_report(paid.fund, 2023, 8)
    assert sum(report.benefit_onestop_totals) == _clearing_legs() == D("505.00")
    assert (
        report.benefit_onestop_totals[INPATIENT]
        == Leg.objects.filter(subject_id="500101").aggregate(s=Sum("amount"))["s"]
    )
    assert report.benefit_total == report.expense_total


def test_an_identity_ending_during_the_stay_does_not_give_its_category(
    accountant_city, supervisor_city, payer
):
    s = settlement(maf_pay="80.00", setl_time=date(2023, 7, 10))
    Settlement.objects.filter(pk=s.pk).update(begndate=date(2023, 7, 1))
    # P §15: ends during the stay (admitted ≤ end ≤ discharged): does not cover it, although
    # the day of discharge is inside the month of its end.
    _holder(s, ("destitute", date(2022, 1, 1), date(2023, 7, 5)))
    s2 = settlement(maf_pay="20.00", setl_time=date(2023, 7, 10))
    Settlement.objects.filter(pk=s2.pk).update(begndate=date(2023, 6, 20))
    _holder(s2, ("subsistence", date(2023, 7, 1), None))  # gained during the stay: covers it
    clearing = _pay(accountant_city, supervisor_city, payer)
    rows = _rows(month_report(clearing.fund, 2023, 8))
    assert rows["other"]["onestop"][INPATIENT] == D("80.00")
    assert rows["subsistence"]["onestop"][INPATIENT] == D("20.00")


def test_outpatient_is_split_by_the_visit_type_it_was_cleared_with(paid):
    # The medical-type dictionary is re-mapped after payment (§9.2): the chronic settlement
    # now reads general, but what was cleared and posted was chronic.
    Settlement.objects.filter(visit_type="chronic_outpatient").update(
        visit_type="general_outpatient"
    )
    report = month_report(paid.fund, 2023, 8)
    assert _rows(report)["subsistence"]["onestop"][CHRONIC] == D("45.00")
    assert sum(report.benefit_onestop_totals) == _clearing_legs()


def test_a_reversed_clearing_posting_takes_its_split_back(paid, accountant_city, payer):
    voucher = Transaction.objects.get(key="clearing:150300:2023-07:H15030200001:outpatient")
    reversal = transaction_reverse(
        voucher=voucher, by=accountant_city, memo="退回", booked_on=date(2023, 8, 20)
    )
    entry_approve(voucher=reversal, by=payer)
    report = month_report(paid.fund, 2023, 8)
    rows = _rows(report)
    assert rows["subsistence"]["onestop"][CHRONIC] == D("0.00")
    assert rows["other"]["onestop"][GENERAL] == D("0.00")
    assert sum(report.benefit_onestop_totals) == _clearing_legs() == D("410.00")


def test_one_stop_and_manual_are_side_by_side(paid, accountant_city):
    benefit_post(
        key="claims.bill:1",
        area_code="150300",
        kind="inpatient",
        amount=D("700.00"),
        booked_on=date(2023, 8, 12),
        memo="手工报销",
        by=None,
        category="subsistence",
        visit_type="inpatient",
    )
    report = month_report(paid.fund, 2023, 8)
    row = _rows(report)["subsistence"]
    assert (row["onestop"][INPATIENT], row["manual"][INPATIENT]) == (D("250.00"), D("700.00"))
    assert row["cells"][INPATIENT] == D("950.00")
    assert report.benefit_manual_totals == [D("700.00"), D("0"), D("0")]
    assert report.benefit_total == report.expense_total


def test_the_page_the_pdf_and_excel_show_both_sources(client, paid, accountant_city):
    from django.template.loader import render_to_string
    from openpyxl import load_workbook

    from funds.exports import report_xlsx

    client.force_login(accountant_city)
    page = client.get(reverse("funds:report", args=["150300"]), {"period": "2023-08"})
    report = month_report(paid.fund, 2023, 8)
    pdf_html = render_to_string("funds/report_pdf.html", {"report": report, "agency": "x"})
    for html in (page.content.decode(), pdf_html):
        assert "一站式结算（清算）" in html and "手工（零星）报销" in html
        assert "其他（结算时无有效救助身份）" in html
    sheet = load_workbook(io.BytesIO(report_xlsx(report))).worksheets[1]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "一站式结算·住院" and rows[0][4] == "手工报销·住院"
    subsistence = next(r for r in rows if r[0] == "低保对象")
    assert [D(str(v)) for v in subsistence[1:4]] == [D("250"), D("45"), D("0")]
    assert rows[-1][0] == "合计" and D(str(rows[-1][-1])) == D("505")


def test_the_rank_is_the_areas_policy_in_force_on_the_end_date(
    accountant_city, supervisor_city, payer
):
    from core.models import Policy

    policy = Policy.objects.get(area_id="150300", valid_from=date(2023, 1, 1))
    rules = {r.category: r for r in policy.categories.all()}
    # The city ranks subsistence above destitute (an admin's choice, §2: never hard-coded).
    top, second = rules["destitute"].rank, rules["subsistence"].rank
    rules["destitute"].rank, rules["subsistence"].rank = 99, top
    rules["destitute"].save(update_fields=["rank"])
    rules["subsistence"].save(update_fields=["rank"])
    assert second != 99
    s = settlement(maf_pay="100.00")
    _holder(s, ("subsistence", date(2022, 1, 1), None), ("destitute", date(2023, 3, 1), None))
    clearing = _pay(accountant_city, supervisor_city, payer)
    rows = _rows(month_report(clearing.fund, 2023, 8))
    assert rows["subsistence"]["onestop"][INPATIENT] == D("100.00")
    assert "destitute" not in rows
