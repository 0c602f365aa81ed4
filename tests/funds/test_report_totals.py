"""The report's total rows are complete: year to date, budget and execution of the income and
expense totals, the accounts' period income and expense, the benefit breakdown's columns —
on screen, in Excel and in the PDF."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from funds.periods import budget_set
from funds.selectors import month_report
from funds.services import benefit_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(fund, post_income, accountant_city):
    post_income("1000.00", booked_on=date(2023, 6, 3))  # before the month: YTD only
    post_income("2500.00", booked_on=date(2023, 7, 3), counter="400202")
    post_income("12.30", booked_on=date(2023, 7, 30), counter="4004")
    for i, (kind, amount, cat, visit, day) in enumerate(
        [
            ("inpatient", "800.00", "subsistence", "inpatient", date(2023, 7, 10)),
            ("outpatient", "120.50", "subsistence", "chronic_outpatient", date(2023, 7, 11)),
            ("outpatient", "30.00", "destitute", "general_outpatient", date(2023, 7, 12)),
            ("subsidy", "380.00", "destitute", "", date(2023, 7, 13)),
            ("inpatient", "200.00", "destitute", "inpatient", date(2023, 5, 2)),
        ]
    ):
        benefit_post(
            key=f"k{i}",
            area_code="150300",
            kind=kind,
            amount=Decimal(amount),
            booked_on=day,
            memo="x",
            by=None,
            category=cat,
            visit_type=visit,
        )
    for subject, amount in [("4002", "5000"), ("4004", "100"), ("500101", "4000")]:
        budget_set(
            fund=fund, year=2023, subject=subject, amount=Decimal(amount), by=accountant_city
        )
    return fund


def test_income_total_has_year_to_date_budget_and_execution(books):
    t = month_report(books, 2023, 7).income_totals
    assert t.amount == Decimal("2512.30")
    assert t.ytd == Decimal("3512.30")
    assert t.budget == Decimal("5100.00")
    assert t.ratio == Decimal("68.9")  # 3512.30 / 5100


def test_expense_total_has_year_to_date_budget_and_execution(books):
    report = month_report(books, 2023, 7)
    t = report.expense_totals
    assert t.amount == report.expense_total == Decimal("1330.50")
    assert t.ytd == Decimal("1530.50")
    assert t.budget == Decimal("4000.00")
    assert t.ratio == Decimal("38.3")
    assert report.surplus_ytd == Decimal("1981.80")


def test_total_budget_is_blank_without_any_budget(fund, post_income):
    post_income("10.00", booked_on=date(2023, 7, 3))
    t = month_report(fund, 2023, 7).income_totals
    assert (t.budget, t.ratio) == (None, None)


def test_account_totals_have_the_periods_income_and_expense(books):
    report = month_report(books, 2023, 7)
    assert report.debit_total == sum(a.debit for a in report.accounts) == Decimal("2512.30")
    assert report.credit_total == Decimal("1330.50")
    assert report.opening_total + report.debit_total - report.credit_total == (report.closing_total)


def test_benefit_breakdown_has_column_totals(books):
    report = month_report(books, 2023, 7)
    codes = [c for c, _l in report.benefit_columns]
    totals = dict(zip(codes, report.benefit_column_totals, strict=True))
    assert totals["inpatient"] == Decimal("800.00")
    assert totals["chronic_outpatient"] == Decimal("120.50")
    assert totals["general_outpatient"] == Decimal("30.00")
    assert totals["subsidy"] == Decimal("380.00")
    assert sum(report.benefit_column_totals) == report.benefit_total


def _row(html: str, label: str) -> str:
    start = html.index(f"<td>{label}</td>")
    return html[start : html.index("</tr>", start)]


def test_the_page_and_the_pdf_show_the_totals(client, accountant_city, books):
    client.force_login(accountant_city)
    page = client.get(reverse("funds:report", args=["150300"]), {"period": "2023-07"})
    pdf_html = render_to_string(
        "funds/report_pdf.html", {"report": month_report(books, 2023, 7), "agency": "x"}
    )
    for html in (page.content.decode(), pdf_html):
        income = _row(html, "收入合计")
        assert "3,512.30" in income and "5,100.00" in income and "68.9%" in income
        expense = _row(html, "支出合计")
        assert "1,530.50" in expense and "4,000.00" in expense and "38.3%" in expense
        assert "1,981.80" in _row(html, "本期收支结余")
        accounts = html[html.index("三、银行账户余额") :]
        total = _row(accounts, "合计")
        assert "2,512.30" in total and "1,330.50" in total
        benefits = html[html.index("四、待遇支出结构") :]
        total = _row(benefits, "合计")
        for figure in ("800.00", "120.50", "30.00", "380.00", "1,330.50"):
            assert figure in total


def test_excel_holds_the_complete_totals(books):
    from openpyxl import load_workbook

    from funds.exports import report_xlsx

    wb = load_workbook(io.BytesIO(report_xlsx(month_report(books, 2023, 7))))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    income = next(r for r in rows if r[1] == "收入合计")
    assert [Decimal(str(v)) for v in income[2:6]] == [
        Decimal("2512.30"),
        Decimal("3512.30"),
        Decimal("5100"),
        Decimal("68.9"),
    ]
    expense = next(r for r in rows if r[1] == "支出合计")
    assert Decimal(str(expense[3])) == Decimal("1530.50")
    accounts = next(r for r in rows if r[1] == "合计")
    assert [Decimal(str(v)) for v in accounts[3:5]] == [Decimal("2512.30"), Decimal("1330.50")]
    benefit_total = list(wb.worksheets[1].iter_rows(values_only=True))[-1]
    assert benefit_total[0] == "合计"
    assert all(v is not None for v in benefit_total[1:])
    assert Decimal(str(benefit_total[-1])) == Decimal("1330.50")
