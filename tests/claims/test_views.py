"""Every claims page is region-scoped: another district's application is a 404."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from claims_helpers import example_a, new_application
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims import bills, services

pytestmark = pytest.mark.django_db
TODAY = date(2023, 8, 1)


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Tests never read the wall clock: every test here runs on 2023-08-01 in Shanghai."""
    with time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC)):
        yield


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def haibowan_draft(near_subsistence_person, city_hospital, caseworker_haibowan, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    bills.attachment_add(
        application=application,
        upload=SimpleUploadedFile("scan.png", PNG, "image/png"),
        by=caseworker_haibowan,
    )
    return application


def _urls(application):
    bill = application.bills.get()
    attachment = application.attachments.get()
    return [
        ("get", reverse("claims:application_detail", args=[application.pk])),
        ("get", reverse("claims:application_edit", args=[application.pk])),
        ("get", reverse("claims:bill_create", args=[application.pk])),
        ("get", reverse("claims:bill_edit", args=[bill.pk])),
        ("post", reverse("claims:bill_delete", args=[bill.pk])),
        ("post", reverse("claims:attachment_upload", args=[application.pk])),
        ("get", reverse("claims:attachment_download", args=[attachment.pk])),
        ("post", reverse("claims:application_submit", args=[application.pk])),
        ("get", reverse("claims:application_create", args=[application.person.pk])),
    ]


def test_other_region_gets_404_on_every_page(client, haibowan_draft, caseworker_wuda):
    client.force_login(caseworker_wuda)
    for method, url in _urls(haibowan_draft):
        response = getattr(client, method)(url)
        assert response.status_code == 404, url


def test_other_region_gets_404_on_decide_pay_and_print(
    client, haibowan_draft, caseworker_haibowan, supervisor_city, django_user_model, wuda
):
    from core.roles import Role, grant_role

    services.application_submit(application=haibowan_draft, by=caseworker_haibowan)
    services.application_approve(application=haibowan_draft, by=supervisor_city)
    wuda_supervisor = django_user_model.objects.create_user(
        username="sup_wuda", password="x-pass-123", region=wuda
    )
    grant_role(wuda_supervisor, Role.SUPERVISOR)
    grant_role(wuda_supervisor, Role.ACCOUNTANT)
    client.force_login(wuda_supervisor)
    pk = haibowan_draft.pk
    assert client.post(reverse("claims:application_decide", args=[pk])).status_code == 404
    assert client.post(reverse("claims:application_pay", args=[pk])).status_code == 404
    assert client.get(reverse("claims:application_pdf", args=[pk])).status_code == 404
    response = client.post(reverse("claims:application_pdf_batch"), {"ids": [pk]})
    assert response.status_code == 302  # nothing of theirs selected


def test_lists_show_only_the_users_region(client, haibowan_draft, caseworker_wuda, wuda_person):
    new_application(wuda_person, caseworker_wuda)
    client.force_login(caseworker_wuda)
    page = client.get(reverse("claims:index")).content.decode()
    assert wuda_person.name in page
    assert haibowan_draft.person.name not in page


def test_the_city_supervisor_sees_every_district(
    client, haibowan_draft, caseworker_wuda, wuda_person, supervisor_city
):
    new_application(wuda_person, caseworker_wuda)
    client.force_login(supervisor_city)
    page = client.get(reverse("claims:index")).content.decode()
    assert wuda_person.name in page
    assert haibowan_draft.person.name in page


def test_attachments_are_served_to_the_region_with_nosniff(
    client, haibowan_draft, caseworker_haibowan
):
    client.force_login(caseworker_haibowan)
    attachment = haibowan_draft.attachments.get()
    response = client.get(reverse("claims:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG


def test_the_accountant_records_payment_but_cannot_approve(
    client, haibowan_draft, caseworker_haibowan, supervisor_city, accountant_city
):
    services.application_submit(application=haibowan_draft, by=caseworker_haibowan)
    client.force_login(accountant_city)
    pk = haibowan_draft.pk
    assert client.get(reverse("claims:index")).status_code == 200
    assert client.post(reverse("claims:application_decide", args=[pk])).status_code == 403
    services.application_approve(application=haibowan_draft, by=supervisor_city)
    response = client.post(
        reverse("claims:application_pay", args=[pk]),
        {"reference": "NYH-9", "paid_on": TODAY.isoformat()},
    )
    assert response.status_code == 302
    haibowan_draft.refresh_from_db()
    assert haibowan_draft.status == "paid"
    assert haibowan_draft.paid_by == accountant_city


def test_a_caseworker_cannot_approve_or_pay(client, haibowan_draft, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    pk = haibowan_draft.pk
    assert client.post(reverse("claims:application_decide", args=[pk])).status_code == 403
    assert client.post(reverse("claims:application_pay", args=[pk])).status_code == 403
    assert client.get(reverse("claims:application_pdf", args=[pk])).status_code == 403


def test_the_upload_view_refuses_a_disguised_file(client, haibowan_draft, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    upload = SimpleUploadedFile("x.png", b"MZ\x90\x00 not an image", "image/png")
    response = client.post(
        reverse("claims:attachment_upload", args=[haibowan_draft.pk]),
        {"file": upload},
        follow=True,
    )
    assert "只接受 PDF、JPEG 或 PNG" in response.content.decode()
    assert haibowan_draft.attachments.count() == 1


def test_start_refuses_a_person_of_another_region(client, caseworker_wuda, near_subsistence_person):
    client.force_login(caseworker_wuda)
    response = client.get(reverse("claims:start"), {"id_number": near_subsistence_person.id_number})
    assert response.status_code == 200
    assert "本辖区未登记该人员" in response.content.decode()


def test_person_page_shows_the_claims_panel(client, haibowan_draft, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    url = reverse("beneficiaries:person_detail", args=[haibowan_draft.person.pk])
    page = client.get(url).content.decode()
    assert reverse("claims:application_detail", args=[haibowan_draft.pk]) in page


def test_received_date_in_the_future_is_refused(
    client, near_subsistence_person, caseworker_haibowan
):
    client.force_login(caseworker_haibowan)
    response = client.post(
        reverse("claims:application_create", args=[near_subsistence_person.pk]),
        {
            "kind": "reimbursement",
            "channel": "counter",
            "received_on": date(2099, 1, 1).isoformat(),
        },
    )
    assert response.status_code == 200
    assert "受理日期不能晚于今天" in response.content.decode()
