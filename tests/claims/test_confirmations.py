"""Buttons that change an application ask first, with the figures of what will happen."""

import html
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from claims_helpers import example_a, new_application
from django.urls import reverse

from claims import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _july():
    with time_machine.travel(date(2023, 7, 12), tick=False):
        yield


def page(client, user, application) -> str:
    client.force_login(user)
    url = reverse("claims:application_detail", args=[application.pk])
    return html.unescape(client.get(url).content.decode())


def test_submit_asks_with_the_bill_count_and_estimated_assistance(
    client, caseworker_haibowan, near_subsistence_person, city_hospital
):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    text = page(client, caseworker_haibowan, application)
    name = near_subsistence_person.name
    assert f"提交 {name} 的救助申请：1 张票据，测算救助金额 3,500.00 元。" in text


def test_approve_and_reject_ask_with_the_amount(
    client, caseworker_haibowan, supervisor_city, near_subsistence_person, city_hospital
):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    services.application_submit(application=application, by=caseworker_haibowan)
    text = page(client, supervisor_city, application)
    name = near_subsistence_person.name
    assert f"审批通过 {name} 的救助申请：1 张票据，救助金额 3,500.00 元" in text
    assert f"对 {name} 的申请（1 张票据）作出不予救助决定，确定？" in text


def test_record_payment_asks_with_amount_and_account(
    client,
    caseworker_haibowan,
    supervisor_city,
    accountant_city,
    near_subsistence_person,
    city_hospital,
):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    application.bank_name, application.bank_account = "农业银行", "6228480000000000019"
    application.save(update_fields=["bank_name", "bank_account"])
    services.application_submit(application=application, by=caseworker_haibowan)
    services.application_approve(application=application, by=supervisor_city)
    text = page(client, accountant_city, application)
    assert "支付 3,500.00 元（农业银行 6228480000000000019）" in text


def test_the_bill_table_adds_insurance_payments_to_the_fen(
    client, caseworker_haibowan, near_subsistence_person, city_hospital
):
    bill = example_a(city_hospital, "INV-F")
    bill.update(basic_insurance_paid=Decimal("18000.50"), critical_illness_paid=Decimal("2000.30"))
    application = new_application(near_subsistence_person, caseworker_haibowan, bills=[bill])
    assert "20,000.80" in page(client, caseworker_haibowan, application)
