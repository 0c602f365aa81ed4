"""Clearing pages (DOMAIN §10): list/compute, detail, approve, pay, drill-down, PDF, Excel."""

import io
from datetime import date, datetime

import pytest
import time_machine
from clearing_helpers import settlement
from django.urls import reverse

from core import idnumber
from core.models import AuditEvent, Region
from core.roles import Role, grant_role
from funds.clearing import clearing_approve, clearing_compute
from funds.models import Clearing, Fund, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        yield


@pytest.fixture
def payer(django_user_model):
    user = django_user_model.objects.create_user(
        username="acc_payer", password="x", region=Region.objects.get(code="150300")
    )
    grant_role(user, Role.ACCOUNTANT)
    return user


@pytest.fixture
def draft(accountant_city):
    settlement(maf_pay="300.00", code="H15030200001")
    settlement(maf_pay="-50.00", code="H15030200002", visit="general_outpatient")
    settlement(maf_pay="60.00", code="H15020200001")
    return clearing_compute(area_code="150300", period="2023-07", by=accountant_city).clearing


def _url(name, clearing, *extra):
    return reverse(f"funds:{name}", args=[clearing.fund.area_id, clearing.pk, *extra])


def test_accountant_computes_a_draft_from_the_list(client, accountant_city):
    settlement(maf_pay="300.00")
    client.force_login(accountant_city)
    url = reverse("funds:clearing_list", args=["150300"])
    response = client.post(url, {"period": "2023-07"})
    clearing = Clearing.objects.get()
    assert response.status_code == 302 and response.url == _url("clearing_detail", clearing)
    assert clearing.computed_by == accountant_city
    assert "2023-07" in client.get(url).content.decode()


def test_a_future_month_shows_the_services_message(client, accountant_city):
    client.force_login(accountant_city)
    url = reverse("funds:clearing_list", args=["150300"])
    response = client.post(url, {"period": "2023-10"}, follow=True)
    assert "尚未到来" in response.content.decode() and not Clearing.objects.exists()


def test_detail_shows_payees_cross_area_and_recovery(client, supervisor_city, draft):
    client.force_login(supervisor_city)
    page = client.get(_url("clearing_detail", draft)).content.decode()
    assert "异地就医清算" in page and "应扣回" in page and "审核通过" in page


def test_supervisor_approves_and_a_third_person_pays_through_the_pages(
    client, supervisor_city, payer, draft
):
    client.force_login(supervisor_city)
    client.post(_url("clearing_approve", draft))
    draft.refresh_from_db()
    assert draft.status == Clearing.Status.APPROVED
    client.force_login(payer)
    client.post(_url("clearing_pay", draft), {"paid_on": "2023-08-10", "reference": "ZZ9"})
    draft.refresh_from_db()
    assert draft.status == Clearing.Status.PAID and draft.payment_reference == "ZZ9"
    assert Transaction.objects.filter(key__startswith="clearing:150300:2023-07:").count() == 3


def test_the_one_who_computed_cannot_approve_through_the_page(client, accountant_city, draft):
    grant_role(accountant_city, Role.SUPERVISOR)
    client.force_login(accountant_city)
    response = client.post(_url("clearing_approve", draft), follow=True)
    assert "本人计算" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == Clearing.Status.DRAFT


def test_line_drill_down_lists_the_settlements_masked(client, accountant_city, draft):
    client.force_login(accountant_city)
    line = draft.lines.get(institution_code="H15030200001")
    page = client.get(_url("clearing_line", draft, line.pk)).content.decode()
    held = line.held.get().settlement
    assert held.setl_id in page and held.certno not in page and held.certno[-4:] in page


def test_statement_pdf_per_payee_is_printed_and_audited(client, accountant_city, draft):
    client.force_login(accountant_city)
    response = client.get(_url("clearing_pdf", draft, "cross_area"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="print", detail__payee="cross_area").exists()
    assert client.get(_url("clearing_pdf", draft, "H99999999999")).status_code == 404


def test_excel_export_has_lines_and_settlements(client, accountant_city, draft):
    from openpyxl import load_workbook

    client.force_login(accountant_city)
    response = client.get(_url("clearing_xlsx", draft))
    book = load_workbook(io.BytesIO(response.content))
    lines, detail = book.worksheets
    codes = [row[1] for row in lines.iter_rows(min_row=4, values_only=True)]
    assert codes[:3] == ["H15030200001", "H15030200002", "H15020200001"]
    assert detail.max_row == 4  # header + 3 settlements


def test_another_areas_user_gets_404(client, draft, django_user_model):
    other = django_user_model.objects.create_user(
        username="acc_bt", password="x", region=Region.objects.get(code="150200")
    )
    grant_role(other, Role.ACCOUNTANT)
    client.force_login(other)
    for name in ("clearing_detail", "clearing_xlsx"):
        assert client.get(_url(name, draft)).status_code == 404
    assert client.post(_url("clearing_approve", draft)).status_code == 404
    # A fund of another area is a 404 too, even with the right pk.
    Fund.objects.get_or_create(area_id="150200", defaults={"name": "包头"})
    url = reverse("funds:clearing_detail", args=["150200", draft.pk])
    assert client.get(url).status_code == 404


def test_regional_viewer_reads_but_cannot_approve(client, regional_viewer, draft):
    client.force_login(regional_viewer)
    page = client.get(_url("clearing_detail", draft)).content.decode()
    assert "审核通过" not in page
    client.post(_url("clearing_approve", draft))
    draft.refresh_from_db()
    assert draft.status == Clearing.Status.DRAFT


def test_a_caseworker_without_the_view_permission_is_refused(client, caseworker_haibowan, draft):
    client.force_login(caseworker_haibowan)
    assert client.get(_url("clearing_detail", draft)).status_code in (403, 404)


def test_paid_clearing_cannot_be_approved_again(client, supervisor_city, payer, draft):
    clearing_approve(clearing=draft, by=supervisor_city)
    client.force_login(payer)
    client.post(_url("clearing_pay", draft), {"paid_on": date(2023, 8, 10).isoformat()})
    client.force_login(supervisor_city)
    response = client.post(_url("clearing_approve", draft), follow=True)
    assert "只能审核草稿" in response.content.decode()


def _pdf_text(content: bytes) -> tuple[int, list[str]]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), [page.extract_text() for page in reader.pages]


def test_batch_statement_pdf_is_one_document_with_a_section_per_payee(
    client, accountant_city, draft
):
    client.force_login(accountant_city)
    page = client.get(_url("clearing_detail", draft)).content.decode()
    assert _url("clearing_pdf_batch", draft) in page and 'name="payee"' in page
    response = client.post(
        _url("clearing_pdf_batch", draft), {"payee": ["H15030200001", "cross_area"]}
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    pages, texts = _pdf_text(response.content)
    assert pages == 2  # one section per selected payee, each on its own page
    assert "H15030200001" in texts[0] and "异地就医清算" not in texts[0]
    assert "异地就医清算" in texts[1] and "H15030200002" not in "".join(texts)
    event = AuditEvent.objects.get(action="print", detail__format="pdf")
    assert event.detail["payees"] == ["H15030200001", "cross_area"]


def test_batch_statement_pdf_all_payees(client, accountant_city, draft):
    client.force_login(accountant_city)
    response = client.post(_url("clearing_pdf_batch", draft), {"all": "1"})
    pages, texts = _pdf_text(response.content)
    assert pages == 3
    for text, payee in zip(texts, ["H15030200001", "H15030200002", "异地就医清算"], strict=True):
        assert payee in text
    assert "人民币大写" in texts[1] and "应扣回" in texts[1]  # the -50.00 institution


def test_batch_statement_pdf_needs_a_selection_and_refuses_other_areas(
    client, accountant_city, draft, django_user_model
):
    client.force_login(accountant_city)
    response = client.post(_url("clearing_pdf_batch", draft), {"payee": ["H99999999999"]})
    assert response.status_code == 302
    assert not AuditEvent.objects.filter(action="print").exists()
    other = django_user_model.objects.create_user(
        username="acc_bt2", password="x", region=Region.objects.get(code="150200")
    )
    grant_role(other, Role.ACCOUNTANT)
    client.force_login(other)
    assert client.post(_url("clearing_pdf_batch", draft), {"all": "1"}).status_code == 404
    assert client.get(_url("clearing_pdf_batch", draft)).status_code in (404, 405)


def test_regional_viewer_may_print_the_batch(client, regional_viewer, draft):
    client.force_login(regional_viewer)
    response = client.post(_url("clearing_pdf_batch", draft), {"all": "1"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="print", user=regional_viewer).exists()
