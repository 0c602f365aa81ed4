"""Voucher and clearing lists: django-filter filters, sort by column, export what is shown."""

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from funds.models import Transaction
from funds.selectors import TransactionFilter

pytestmark = pytest.mark.django_db


@pytest.fixture
def wuhai_fund_with_vouchers(post_income):
    post_income("1000.00", booked_on=date(2023, 7, 9), reference="CZ-2")
    post_income("500.00", booked_on=date(2023, 7, 3), reference="CZ-1")
    return "150300"


def test_the_voucher_filter_ignores_a_malformed_month(wuhai_fund_with_vouchers):
    def count(month):
        return TransactionFilter({"month": month}, queryset=Transaction.objects.all()).qs.count()

    assert count("2023-1x") == count("") == 2
    assert count("2023-07") == 2 and count("2023-08") == 0


def test_the_voucher_list_sorts_and_exports(client, accountant_city, wuhai_fund_with_vouchers):
    area = wuhai_fund_with_vouchers
    client.force_login(accountant_city)
    url = reverse("funds:transaction_list", args=[area])
    page = client.get(url, {"sort": "booked"}).context["page"]
    days = [v.booked_on for v in page]
    assert days == sorted(days) and len(days) >= 2
    response = client.get(url, {"sort": "-booked", "export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert header[1] == "记账日期"
    exported = [r[1].date() for r in rows]
    assert exported == sorted(exported, reverse=True)
    assert all(isinstance(r[0], int) for r in rows)


def test_the_clearing_list_links_to_its_export(client, accountant_city, wuhai_fund_with_vouchers):
    client.force_login(accountant_city)
    url = reverse("funds:clearing_list", args=[wuhai_fund_with_vouchers])
    assert "export=xlsx" in client.get(url, {"sort": "-total"}).content.decode()
    response = client.get(url, {"export": "xlsx"})
    header = next(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows())
    assert header[0].value == "清算月份"


@pytest.fixture
def near_subsistence_app(haibowan, wuhai, caseworker_haibowan):
    from claims.models import Application, Bill, Institution
    from tests.factories import PersonFactory

    institution, _ = Institution.objects.get_or_create(
        code="H15030200001", defaults={"name": "乌海市人民医院", "level": 3, "admdvs": "150302"}
    )
    application = Application.objects.create(
        person=PersonFactory(region=haibowan),
        area=wuhai,
        received_on=date(2023, 7, 1),
        status="approved",
        prepared_by=caseworker_haibowan,
    )
    bill = Bill.objects.create(
        application=application,
        institution=institution,
        visit_type="inpatient",
        admitted=date(2023, 6, 1),
        discharged=date(2023, 6, 10),
        year=2023,
        invoice_number="INV-9",
        total_cost=Decimal("1000"),
        policy_range_cost=Decimal("1000"),
        basic_insurance_paid=Decimal("500"),
        critical_illness_paid=Decimal("0"),
    )
    return application, bill


def test_a_benefit_posting_links_to_its_application(
    client, accountant_city, supervisor_city, near_subsistence_app
):
    from funds.services import benefit_post

    application, bill = near_subsistence_app
    voucher = benefit_post(
        key=f"claims.bill:{bill.pk}",
        area_code="150300",
        kind="inpatient",
        amount=Decimal("300.00"),
        booked_on=date(2023, 7, 9),
        memo="住院救助",
        by=supervisor_city,
        category="subsistence",
        visit_type="inpatient",
    )
    client.force_login(accountant_city)
    html = client.get(
        reverse("funds:transaction_detail", args=["150300", voucher.pk])
    ).content.decode()
    assert reverse("claims:application_detail", args=[application.pk]) in html
    assert f"<code>claims.bill:{bill.pk}</code>" not in html


def test_closing_a_month_asks_with_its_entries_and_reconciliation(
    client, accountant_city, wuhai_fund_with_vouchers
):
    client.force_login(accountant_city)
    url = reverse("funds:period_list", args=["150300"])
    text = client.get(url, {"year": 2023}).content.decode()
    assert "结账 2023年7月：本月已过账凭证 2 笔，银行对账：未对账。" in text
