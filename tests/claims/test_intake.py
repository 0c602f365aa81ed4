"""Intake: bills are validated per field in Chinese; an invoice is never reimbursed twice."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from claims_helpers import example_a, example_b, new_application, settlement
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from claims import bills, services
from claims.models import Attachment
from core.identifiers import normalize_identifier

D = Decimal
pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%test\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture
def draft(near_subsistence_person, caseworker_haibowan):
    return new_application(near_subsistence_person, caseworker_haibowan)


def _errors(exc) -> dict:
    return exc.value.message_dict


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"total_cost": D("-1")}, "total_cost", "金额不能为负数"),
        ({"policy_range_cost": D("40000")}, "policy_range_cost", "不能大于医疗费总额"),
        ({"basic_insurance_paid": D("29000")}, "basic_insurance_paid", "不能大于政策范围内费用"),
        ({"admitted": date(2023, 3, 20)}, "admitted", "不能晚于出院日期"),
        ({"discharged": None}, "discharged", "须填写入院日期和出院日期"),
        ({"out_of_catalog_cost": D("5000")}, "out_of_catalog_cost", "目录外费用"),
    ],
)
def test_invalid_bills_are_refused_with_a_chinese_message_on_the_field(
    draft, city_hospital, caseworker_haibowan, change, field, message
):
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(
            application=draft, by=caseworker_haibowan, **(example_a(city_hospital) | change)
        )
    assert message in " ".join(_errors(exc)[field])


@time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC), tick=False)
def test_a_bill_dated_in_the_future_is_refused(draft, city_hospital, caseworker_haibowan):
    today = date(2023, 8, 1)
    future = today + timedelta(days=3)
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(
            application=draft,
            by=caseworker_haibowan,
            **(example_a(city_hospital) | {"admitted": today, "discharged": future}),
        )
    assert "晚于今天" in _errors(exc)["discharged"][0]


def test_an_outpatient_bill_needs_a_service_date(draft, city_hospital, caseworker_haibowan):
    fields = example_a(city_hospital) | {"visit_type": "general_outpatient"}
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(application=draft, by=caseworker_haibowan, **fields)
    assert "service_date" in _errors(exc)


def test_the_same_invoice_is_refused_in_another_application(
    draft, near_subsistence_person, city_hospital, caseworker_haibowan
):
    bills.bill_add(application=draft, by=caseworker_haibowan, **example_a(city_hospital))
    other = new_application(near_subsistence_person, caseworker_haibowan)
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(application=other, by=caseworker_haibowan, **example_a(city_hospital))
    assert "不能重复报销" in _errors(exc)["invoice_number"][0]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("2026001", "２０２６００１"),  # full-width digits
        ("2026001", "2026\u200b001"),  # zero-width space
        ("2026001", " 2026\u2060001\ufeff"),  # word joiner, BOM, spaces
        ("INV-A", "ＩＮＶ－Ａ"),
        ("2026\u200d001", "2026001"),  # stored normalized, so the plain one clashes
    ],
)
def test_the_duplicate_invoice_refusal_compares_normalized_invoice_numbers(
    draft, near_subsistence_person, city_hospital, caseworker_haibowan, first, second
):
    bill = bills.bill_add(
        application=draft, by=caseworker_haibowan, **example_a(city_hospital, invoice=first)
    )
    assert bill.invoice_number == normalize_identifier(first)
    other = new_application(near_subsistence_person, caseworker_haibowan)
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(
            application=other, by=caseworker_haibowan, **example_a(city_hospital, invoice=second)
        )
    assert "不能重复报销" in _errors(exc)["invoice_number"][0]


def test_a_settlement_id_is_stored_normalized(draft, city_hospital, caseworker_haibowan):
    bill = bills.bill_add(
        application=draft,
        by=caseworker_haibowan,
        **(example_a(city_hospital) | {"setl_id": "Ｓ\u200b-１"}),
    )
    assert bill.setl_id == "S-1"


def test_an_invoice_number_of_only_invisible_characters_is_refused(
    draft, city_hospital, caseworker_haibowan
):
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(
            application=draft,
            by=caseworker_haibowan,
            **example_a(city_hospital, invoice="\u200b\u3000"),
        )
    assert "invoice_number" in _errors(exc)


def test_the_same_invoice_number_of_another_institution_is_accepted(
    draft, city_hospital, institutions, caseworker_haibowan
):
    bills.bill_add(application=draft, by=caseworker_haibowan, **example_a(city_hospital))
    bills.bill_add(
        application=draft,
        by=caseworker_haibowan,
        **example_b(institutions["H15030300001"], invoice="INV-A"),
    )
    assert draft.bills.count() == 2


def test_an_invoice_of_a_rejected_application_can_be_taken_again(
    draft, near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    bills.bill_add(application=draft, by=caseworker_haibowan, **example_a(city_hospital))
    services.application_submit(application=draft, by=caseworker_haibowan)
    services.application_reject(application=draft, by=supervisor_city, comment="材料不全")
    again = new_application(near_subsistence_person, caseworker_haibowan)
    bills.bill_add(application=again, by=caseworker_haibowan, **example_a(city_hospital))
    assert again.bills.count() == 1


def test_the_database_refuses_a_duplicate_invoice_too(draft, city_hospital, caseworker_haibowan):
    from django.db import IntegrityError, transaction

    from claims.models import Bill

    bill = bills.bill_add(application=draft, by=caseworker_haibowan, **example_a(city_hospital))
    bill.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        Bill.objects.bulk_create([bill])


def test_a_bill_assisted_at_the_one_stop_counter_is_refused(
    draft, near_subsistence_person, city_hospital, caseworker_haibowan
):
    settlement(
        near_subsistence_person,
        "S-PAID",
        enddate=date(2023, 3, 10),
        policy="30000",
        basic="18000",
        critical="2000",
        maf_pay="3500",
    )
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(
            application=draft,
            by=caseworker_haibowan,
            **(example_a(city_hospital) | {"setl_id": "S-PAID"}),
        )
    assert _errors(exc)["setl_id"] == ["该笔费用已在一站式结算中获得医疗救助。"]


def test_a_settlement_reversed_to_no_assistance_may_be_claimed(
    draft, near_subsistence_person, city_hospital, caseworker_haibowan
):
    settlement(
        near_subsistence_person,
        "S-ONCE",
        enddate=date(2023, 3, 10),
        policy="30000",
        basic="18000",
        critical="2000",
        maf_pay="3500",
    )
    settlement(
        near_subsistence_person,
        "S-ONCE-R",
        enddate=date(2023, 3, 12),
        policy="-30000",
        basic="-18000",
        critical="-2000",
        maf_pay="-3500",
        reversal_of="S-ONCE",
    )
    bills.bill_add(
        application=draft,
        by=caseworker_haibowan,
        **(example_a(city_hospital) | {"setl_id": "S-ONCE"}),
    )


def test_a_settlement_id_is_used_by_one_bill_only(
    draft, near_subsistence_person, city_hospital, caseworker_haibowan
):
    bills.bill_add(
        application=draft,
        by=caseworker_haibowan,
        **(example_a(city_hospital) | {"setl_id": "S-NEW"}),
    )
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(
            application=draft,
            by=caseworker_haibowan,
            **(example_b(city_hospital) | {"setl_id": "S-NEW"}),
        )
    assert "已在申请" in _errors(exc)["setl_id"][0]


def test_a_settlement_of_another_person_is_refused(
    draft, destitute_person, city_hospital, caseworker_haibowan
):
    settlement(
        destitute_person,
        "S-OTHER",
        enddate=date(2023, 3, 10),
        policy="30000",
        basic="18000",
        critical="2000",
        maf_pay="0",
    )
    with pytest.raises(ValidationError) as exc:
        bills.bill_add(
            application=draft,
            by=caseworker_haibowan,
            **(example_a(city_hospital) | {"setl_id": "S-OTHER"}),
        )
    assert "不属于本申请人" in _errors(exc)["setl_id"][0]


# --- Attachments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, content_type", [(PNG, "image/png"), (PDF, "application/pdf"), (JPEG, "image/jpeg")]
)
def test_scans_are_accepted_by_their_content(
    draft, caseworker_haibowan, settings, tmp_path, content, content_type
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("scan.bin", content, content_type="text/plain")
    attachment = bills.attachment_add(application=draft, upload=upload, by=caseworker_haibowan)
    assert attachment.content_type == content_type
    assert attachment.original_name == "scan.bin"


def test_a_file_that_is_not_a_scan_is_refused_whatever_its_name(
    draft, caseworker_haibowan, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile("invoice.pdf", b"<html>not a pdf</html>", "application/pdf")
    with pytest.raises(ValidationError) as exc:
        bills.attachment_add(application=draft, upload=upload, by=caseworker_haibowan)
    assert "PDF、JPEG 或 PNG" in _errors(exc)["file"][0]
    assert not Attachment.objects.exists()


def test_a_file_over_the_size_limit_is_refused(draft, caseworker_haibowan, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.UPLOAD_MAX_BYTES = 100
    upload = SimpleUploadedFile("big.png", PNG + b"\x00" * 200, "image/png")
    with pytest.raises(ValidationError) as exc:
        bills.attachment_add(application=draft, upload=upload, by=caseworker_haibowan)
    assert "文件过大" in _errors(exc)["file"][0]
