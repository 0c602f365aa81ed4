"""Corrections in the browser (DOMAIN §11): an identity ended late on its page proposes a
recovery, which becomes a recovery case with its printed notice; a backdated higher identity
proposes a top-up, which becomes a supplementary application with the bill filled in.
"""

import io
from datetime import date
from decimal import Decimal

import pytest
from browser_helpers import expect_path, submit, with_authenticator
from factories import IdentityFactory, PersonFactory
from pypdf import PdfReader

from claims import bills, services
from claims.demo import seed_institutions
from claims.models import Application, Institution, Proposal, RecoveryCase
from core.choices import Category

pytestmark = pytest.mark.django_db(transaction=True)


def _approved(person, caseworker, supervisor):
    """DOMAIN §4 example A for `person`, approved: 3,500 under near-subsistence."""
    seed_institutions()
    application = services.application_create(
        person=person, by=caseworker, received_on=date(2023, 6, 1)
    )
    bills.bill_add(
        application=application,
        by=caseworker,
        institution=Institution.objects.get(code="H15030200001"),
        visit_type="inpatient",
        admitted=date(2023, 3, 1),
        discharged=date(2023, 3, 10),
        invoice_number="INV-C",
        total_cost=Decimal("32000"),
        policy_range_cost=Decimal("30000"),
        basic_insurance_paid=Decimal("18000"),
        critical_illness_paid=Decimal("2000"),
    )
    services.application_submit(application=application, by=caseworker)
    return services.application_approve(application=application, by=supervisor)


@pytest.fixture
def applicant(haibowan, caseworker_haibowan, supervisor_city):
    person = PersonFactory(region=haibowan, name="王秀英")
    IdentityFactory(person=person, category=Category.NEAR_SUBSISTENCE, start=date(2023, 1, 1))
    _approved(person, caseworker_haibowan, supervisor_city)
    return person


def test_an_identity_ended_late_is_recovered_with_a_printed_notice(
    journey, applicant, caseworker_haibowan, supervisor_city
):
    identity = applicant.identities.get()
    page = journey.sign_in(caseworker_haibowan)
    journey.goto(f"/beneficiaries/identities/{identity.pk}/terminate/")
    page.fill("input[name=end]", "2023-02-10")
    page.fill("input[name=reason]", "民政部门终止认定")
    submit(page, "main form")
    proposal = Proposal.objects.get()
    assert proposal.direction == Proposal.Direction.RECOVERY
    assert proposal.difference == Decimal("-3500.00")

    journey.goto("/claims/corrections/")
    row = page.locator("tr", has_text="王秀英")
    assert "追回" in row.inner_text() and "3,500.00" in row.inner_text()
    journey.shot("proposal-queue")
    with page.expect_navigation():
        row.locator("a").first.click()
    assert "复核测算（现行身份）" in page.inner_text("main")
    assert "原测算（已支付） · 低保边缘家庭成员" in page.inner_text("main")
    journey.shot("proposal")
    submit(page, f"form[action='/claims/corrections/{proposal.pk}/act/']")
    case = RecoveryCase.objects.get()
    expect_path(page, rf"/claims/corrections/recoveries/{case.pk}/")

    page = journey.sign_in(with_authenticator(supervisor_city))
    journey.goto(f"/claims/corrections/recoveries/{case.pk}/")
    submit(page, f"form[action='/claims/corrections/recoveries/{case.pk}/approve/']")
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.APPROVED
    journey.shot("recovery-approved")
    link = page.locator(f"a[href='/claims/corrections/recoveries/{case.pk}/notice.pdf']")
    response = page.request.get(journey.url(link.get_attribute("href")))
    assert response.headers["content-type"].startswith("application/pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    text = "".join(text.split())  # the title is set letter-spaced
    assert "追回通知书" in text and "王秀英" in text and "叁仟伍佰元整" in text


def test_a_backdated_higher_identity_becomes_a_supplementary_application(
    journey, applicant, caseworker_haibowan, haibowan
):
    page = journey.sign_in(caseworker_haibowan)
    journey.goto(f"/beneficiaries/{applicant.pk}/identities/new/")
    page.select_option("select[name=category]", Category.DESTITUTE)
    page.fill("input[name=start]", "2023-01-01")
    page.select_option("select[name=region]", haibowan.code)
    page.fill("input[name=document]", "海民发〔2023〕88号")
    submit(page, "main form")
    proposal = Proposal.objects.get()
    # destitute: 10,000 × 100 % = 10,000 is due, 3,500 was paid
    assert proposal.direction == Proposal.Direction.TOP_UP
    assert proposal.difference == Decimal("6500.00")

    journey.goto(f"/claims/corrections/{proposal.pk}/")
    assert "6,500.00" in page.inner_text("main")
    journey.shot("topup-proposal")
    submit(page, f"form[action='/claims/corrections/{proposal.pk}/act/']")
    supplementary = Application.objects.exclude(pk=applicant.applications.earliest("pk").pk).get()
    expect_path(page, rf"/claims/{supplementary.pk}/")
    bill = supplementary.bills.get()
    assert bill.invoice_number == "INV-C-补发" and bill.policy_range_cost == Decimal("30000.00")
    assert "6,500.00" in page.inner_text("main")
    journey.shot("supplementary-application")
