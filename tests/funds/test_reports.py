from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from funds.models import Leg, Subject
from funds.periods import budget_set, period_close
from funds.selectors import fund_report, month_report, year_report
from funds.services import benefit_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(fund, post_income, accountant_city):
    post_income("1000.00", booked_on=date(2023, 6, 3))
    post_income("2500.00", booked_on=date(2023, 7, 3), counter="400202")
    post_income("12.30", booked_on=date(2023, 7, 30), counter="4004")
    for i, (kind, amount, cat, visit) in enumerate(
        [
            ("inpatient", "800.00", "subsistence", "inpatient"),
            ("outpatient", "120.50", "subsistence", "chronic_outpatient"),
            ("outpatient", "30.00", "destitute", "general_outpatient"),
            ("subsidy", "380.00", "destitute", ""),
        ]
    ):
        benefit_post(
            key=f"k{i}",
            area_code="150300",
            kind=kind,
            amount=Decimal(amount),
            booked_on=date(2023, 7, 10 + i),
            memo="x",
            by=None,
            category=cat,
            visit_type=visit,
        )
    budget_set(fund=fund, year=2023, subject="500101", amount=Decimal("1600"), by=accountant_city)
    return fund


def test_report_totals_equal_the_ledger_sums(books):
    report = month_report(books, 2023, 7)
    legs = Leg.objects.filter(fund=books, booked_on__year=2023, booked_on__month=7)
    income = -legs.filter(subject__kind=Subject.Kind.INCOME).aggregate(s=Sum("amount"))["s"]
    expense = legs.filter(subject__kind=Subject.Kind.EXPENSE).aggregate(s=Sum("amount"))["s"]
    assert report.income_total == income == Decimal("2512.30")
    assert report.expense_total == expense == Decimal("1330.50")
    by_code = {r.subject.code: r for r in report.income + report.expense}
    assert by_code["4002"].amount == Decimal("2500.00")  # parent = Σ levels
    assert by_code["400202"].amount == Decimal("2500.00")
    assert by_code["500101"].budget == Decimal("1600.00")
    assert by_code["500101"].ratio == Decimal("50.0")


def test_opening_plus_moves_equals_closing(books):
    report = month_report(books, 2023, 7)
    fiscal = next(a for a in report.accounts if a.subject.code == Subject.FISCAL)
    assert fiscal.opening == Decimal("1000.00")
    assert fiscal.closing == Decimal("3512.30")
    expense_account = next(a for a in report.accounts if a.subject.code == Subject.EXPENSE_ACCOUNT)
    assert expense_account.closing == Decimal("-1330.50")
    assert report.closing_total - report.opening_total == report.surplus


def test_benefits_by_category_and_visit_type(books):
    report = month_report(books, 2023, 7)
    rows = {
        b["label"]: dict(zip([c for c, _l in report.benefit_columns], b["cells"], strict=True))
        for b in report.benefits
    }
    assert rows["低保对象"]["inpatient"] == Decimal("800.00")
    assert rows["低保对象"]["chronic_outpatient"] == Decimal("120.50")
    assert rows["特困人员"]["general_outpatient"] == Decimal("30.00")
    assert rows["特困人员"]["subsidy"] == Decimal("380.00")
    assert report.benefit_total == report.expense_total


def test_year_report_equals_sum_of_months(books):
    year = year_report(books, 2023)
    months = [month_report(books, 2023, m) for m in range(1, 13)]
    assert year.income_total == sum(m.income_total for m in months)
    assert year.expense_total == sum(m.expense_total for m in months)


def test_report_is_the_same_with_a_snapshot(books, accountant_city):
    before = fund_report(books, date(2023, 7, 1), date(2023, 7, 31))
    period_close(fund=books, year=2023, month=6, by=accountant_city)
    after = fund_report(books, date(2023, 7, 1), date(2023, 7, 31))
    assert [(a.opening, a.closing) for a in before.accounts] == [
        (a.opening, a.closing) for a in after.accounts
    ]


def test_excel_export_holds_the_totals(books):
    import io

    from openpyxl import load_workbook

    from funds.exports import report_xlsx

    wb = load_workbook(io.BytesIO(report_xlsx(month_report(books, 2023, 7))))
    values = [row for row in wb.worksheets[0].iter_rows(values_only=True)]
    income_total = next(r for r in values if r[1] == "收入合计")
    assert Decimal(str(income_total[2])) == Decimal("2512.30")
