"""The whole journey through the Django test client, with DOMAIN §4 examples A and B."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from claims.models import Application
from core.models import AuditEvent
from funds.models import Transaction

pytestmark = pytest.mark.django_db
TODAY = date(2023, 8, 1)


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Tests never read the wall clock: every test here runs on 2023-08-01 in Shanghai."""
    with time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC)):
        yield


def _bill_data(institution, invoice, *, admitted, discharged, policy, basic, critical):
    return {
        "institution": institution.pk,
        "visit_type": "inpatient",
        "admitted": admitted,
        "discharged": discharged,
        "service_date": "",
        "invoice_number": invoice,
        "setl_id": "",
        "total_cost": str(Decimal(policy) + 2000),
        "policy_range_cost": policy,
        "basic_insurance_paid": basic,
        "critical_illness_paid": critical,
        "out_of_catalog_cost": "0",
    }


def _intake(client, person, institution, bill):
    response = client.get(reverse("claims:start"), {"id_number": person.id_number})
    assert response.status_code == 302
    create_url = response["Location"]
    response = client.post(
        create_url,
        {
            "kind": "reimbursement",
            "channel": "entrusted",
            "received_on": "2023-06-01",
            "documents": ["id_card", "invoices", "discharge_summary"],
            "bank_name": "农行",
            "bank_account": "6228480000000001",
            "note": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    application = Application.objects.latest("id")
    response = client.post(reverse("claims:bill_create", args=[application.pk]), bill)
    assert response.status_code == 302, response.context["form"].errors
    return application


def test_intake_assessment_approval_print_and_payment(
    client,
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    accountant_city,
):
    person = near_subsistence_person
    # Caseworker: intake, bills, preview.
    client.force_login(caseworker_haibowan)
    bill_a = _bill_data(
        city_hospital,
        "INV-A",
        admitted="2023-03-01",
        discharged="2023-03-10",
        policy="30000",
        basic="18000",
        critical="2000",
    )
    application = _intake(client, person, city_hospital, bill_a)
    assert application.channel == "entrusted"
    assert application.documents == ["id_card", "invoices", "discharge_summary"]
    detail = reverse("claims:application_detail", args=[application.pk])
    page = client.get(detail).content.decode()
    assert "3,500.00" in page
    assert "起付标准 5,000.00 元" in page

    # An invalid bill is refused with a Chinese message on its field.
    bad = bill_a | {"invoice_number": "INV-BAD", "basic_insurance_paid": "29000"}
    response = client.post(reverse("claims:bill_create", args=[application.pk]), bad)
    assert response.status_code == 200
    assert "不能大于政策范围内费用" in " ".join(
        response.context["form"].errors["basic_insurance_paid"]
    )

    response = client.post(reverse("claims:application_submit", args=[application.pk]))
    assert response.status_code == 302

    # The preparer sees no approval buttons.
    assert "审批通过" not in client.get(detail).content.decode()

    # Supervisor: queue, approval, print.
    client.force_login(supervisor_city)
    queue = client.get(reverse("claims:queue")).content.decode()
    assert person.name in queue
    response = client.post(
        reverse("claims:application_decide", args=[application.pk]),
        {"decision": "approve", "comment": "同意", "approver_name": "张主任"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.total == Decimal("3500.00")

    response = client.get(reverse("claims:application_pdf", args=[application.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert person.name in text
    assert "3,500.00" in text
    assert "叁仟伍佰元整" in text
    assert application.form_number in text
    assert person.id_number not in text  # masked
    assert AuditEvent.objects.filter(action="print", object_id=str(application.pk)).exists()

    # Fund accountant: records the payment (never the supervisor, DOMAIN §8).
    client.force_login(accountant_city)
    response = client.post(
        reverse("claims:application_pay", args=[application.pk]),
        {"reference": "NYH20230701", "paid_on": TODAY.isoformat()},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "paid"
    assert Transaction.objects.filter(key__startswith="claims.bill:").count() == 1

    # A paid application cannot be edited.
    client.force_login(caseworker_haibowan)
    response = client.post(
        reverse("claims:bill_create", args=[application.pk]),
        bill_a | {"invoice_number": "INV-LATE"},
    )
    assert response.status_code == 200
    assert "不能添加票据" in response.content.decode()

    # Example B: the next application starts from the state of the year (A paid).
    bill_b = _bill_data(
        city_hospital,
        "INV-B",
        admitted="2023-05-01",
        discharged="2023-05-08",
        policy="10000",
        basic="5000",
        critical="1000",
    )
    second = _intake(client, person, city_hospital, bill_b)
    client.post(reverse("claims:application_submit", args=[second.pk]))
    client.force_login(supervisor_city)
    client.post(
        reverse("claims:application_decide", args=[second.pk]),
        {"decision": "approve", "comment": ""},
    )
    second.refresh_from_db()
    assert (second.assistance, second.tilted_assistance, second.total) == (
        Decimal("2800.00"),
        Decimal("420.00"),
        Decimal("3220.00"),
    )

    # Both forms as one PDF, one per page.
    response = client.post(
        reverse("claims:application_pdf_batch"), {"ids": [application.pk, second.pk]}
    )
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 2
    assert "叁仟贰佰贰拾元整" in reader.pages[1].extract_text()


def test_rejection_through_the_queue(
    client, near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    client.force_login(caseworker_haibowan)
    bill = _bill_data(
        city_hospital,
        "INV-R",
        admitted="2023-03-01",
        discharged="2023-03-10",
        policy="30000",
        basic="18000",
        critical="2000",
    )
    application = _intake(client, near_subsistence_person, city_hospital, bill)
    client.post(reverse("claims:application_submit", args=[application.pk]))
    client.force_login(supervisor_city)
    client.post(
        reverse("claims:application_decide", args=[application.pk]),
        {"decision": "reject", "comment": "发票与清单不符"},
    )
    application.refresh_from_db()
    assert application.status == "rejected"
    assert application.decision_comment == "发票与清单不符"
