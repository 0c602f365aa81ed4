"""Voucher and clearing lists: django-filter filters, sort by column, export what is shown."""

import io
from datetime import date

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
