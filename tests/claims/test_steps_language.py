"""An assessed bill's steps are kept as msgids and parameters, shown in the reader's language;
the text in the portal's language stays on the bill for the record."""

import io
from datetime import UTC, datetime

import pytest
import time_machine
from claims_helpers import approved_application, example_a
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from claims import pdf
from claims.engine_text import render_records, step_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def approved(near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city):
    return approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )


def _detail(client, user, application, language):
    client.force_login(user)
    client.cookies["django_language"] = language
    url = reverse("claims:application_detail", args=[application.pk])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_the_bill_keeps_the_chinese_text_and_the_records(approved):
    bill = approved.bills.get()
    assert bill.steps[0] == "适用救助类别：低保边缘家庭成员。"
    assert bill.step_records[0] == {
        "msgid": "适用救助类别：%(category)s。",
        "params": {"category": "near_subsistence"},
    }
    assert len(bill.step_records) == len(bill.steps)
    with translation.override("zh-hans"):
        assert bill.shown_steps() == bill.steps


def test_english_detail_page_shows_english_steps(client, approved, supervisor_city):
    html = _detail(client, supervisor_city, approved, "en")
    assert "Applicable category: Near-subsistence household member." in html
    assert "适用救助类别" not in html


def test_chinese_detail_page_shows_chinese_steps(client, approved, supervisor_city):
    html = _detail(client, supervisor_city, approved, "zh-hans")
    assert "适用救助类别：低保边缘家庭成员。" in html


def test_english_pdf_shows_english_steps(approved):
    with translation.override("en"):
        text = PdfReader(io.BytesIO(pdf.render_forms([approved]))).pages[0].extract_text()
    assert "Applicable category" in text
    assert "适用救助类别" not in text


def test_a_bill_assessed_before_the_records_shows_its_stored_text(approved):
    bill = approved.bills.get()
    bill.step_records = []
    with translation.override("en"):
        assert bill.shown_steps() == bill.steps


def test_records_format_numbers_once_and_words_per_language():
    from decimal import Decimal

    record = step_record(
        "同时持有 %(categories)s 身份，按就高不就低取 %(category)s，只救助一次。",
        {"categories": ("destitute", "subsistence"), "category": "destitute"},
    )
    assert record["params"]["categories"] == ["destitute", "subsistence"]
    money = step_record(
        "不设年度救助限额，本次基本救助 %(assistance)s 元", {"assistance": Decimal("3500")}
    )
    assert money["params"] == {"assistance": "3,500.00"}
    assert render_records([money]) == ["不设年度救助限额，本次基本救助 3,500.00 元"]
