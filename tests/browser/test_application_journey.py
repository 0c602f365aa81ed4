"""An application through the browser: caseworker intake, supervisor approval and print,
accountant payment (DOMAIN §4 example A: 30,000 in the policy range, 3,500.00 of assistance).
"""

from datetime import date
from decimal import Decimal

import pytest
from browser_helpers import expect_path, open_pdf, submit, with_authenticator

from beneficiaries.models import Person
from claims.demo import seed_institutions
from claims.models import Application, Institution
from core import idnumber
from core.models import AuditEvent
from funds.models import Transaction

pytestmark = pytest.mark.django_db(transaction=True)

ID_NUMBER = idnumber.make("150302", date(1968, 5, 6), 321)


def _register_with_identity(journey, region):
    """Caseworker: register the person, then their identity (category chosen explicitly)."""
    page = journey.page
    journey.goto("/beneficiaries/new/")
    page.fill("input[name=id_number]", ID_NUMBER)
    page.fill("input[name=name]", "王秀兰")
    page.select_option("select[name=region]", str(region.pk))
    page.select_option("select[name=residence]", "rural")
    page.fill("input[name=phone]", "13900000001")
    journey.shot("person-form")
    submit(page, "main form")
    person_pk = int(expect_path(page, r"/beneficiaries/(\d+)/").group(1))
    journey.shot("person-registered")

    with page.expect_navigation():
        page.locator(f"a[href='/beneficiaries/{person_pk}/identities/new/']").first.click()
    page.select_option("select[name=category]", "near_subsistence")
    page.fill("input[name=start]", "2023-01-01")
    page.select_option("select[name=department]", "civil_affairs")
    page.select_option("select[name=region]", str(region.pk))
    page.fill("input[name=document]", "海民低边〔2023〕12号")
    journey.shot("identity-form")
    submit(page, "main form")
    expect_path(page, rf"/beneficiaries/{person_pk}/")
    journey.shot("identity-recorded")
    return Person.objects.get(pk=person_pk)


def _intake(journey, institution):
    """Caseworker: start an application by ID number, fill it, add the bill, submit it."""
    page = journey.page
    journey.goto("/claims/new/")
    page.fill("input[name=id_number]", ID_NUMBER)
    submit(page, "main form")
    expect_path(page, r"/claims/new/\d+/")
    page.select_option("select[name=kind]", "reimbursement")
    page.select_option("select[name=channel]", "entrusted")
    page.fill("input[name=received_on]", "2023-06-01")
    for document in ("id_card", "invoices", "discharge_summary"):
        page.check(f"input[name=documents][value={document}]")
    page.fill("input[name=bank_name]", "农行")
    page.fill("input[name=bank_account]", "6228480000000001")
    journey.shot("application-form")
    submit(page, "main form")
    pk = int(expect_path(page, r"/claims/(\d+)/").group(1))

    with page.expect_navigation():
        page.locator(f"a[href='/claims/{pk}/bills/new/']").first.click()
    page.select_option("select[name=institution]", str(institution.pk))
    page.select_option("select[name=visit_type]", "inpatient")
    page.fill("input[name=admitted]", "2023-03-01")
    page.fill("input[name=discharged]", "2023-03-10")
    page.fill("input[name=invoice_number]", "INV-A")
    page.fill("input[name=total_cost]", "32000")
    page.fill("input[name=policy_range_cost]", "30000")
    page.fill("input[name=basic_insurance_paid]", "18000")
    page.fill("input[name=critical_illness_paid]", "2000")
    page.fill("input[name=out_of_catalog_cost]", "0")
    journey.shot("bill-form")
    submit(page, "main form")
    expect_path(page, rf"/claims/{pk}/")
    assert "3,500.00" in page.inner_text("main")  # the preview of example A
    journey.shot("bill-previewed")

    question = page.get_attribute(f"form[action='/claims/{pk}/submit/'] button", "data-confirm")
    assert "1 张票据" in question and "3,500.00" in question  # the dialog says what will happen
    submit(page, f"form[action='/claims/{pk}/submit/']")
    expect_path(page, rf"/claims/{pk}/")
    journey.shot("submitted")

    # A second look: withdraw it to draft with a reason, then submit it again.
    page.fill(
        f"form[action='/claims/{pk}/withdraw/'] textarea, "
        f"form[action='/claims/{pk}/withdraw/'] input[name=reason]",
        "补充出院小结",
    )
    submit(page, f"form[action='/claims/{pk}/withdraw/']")
    expect_path(page, rf"/claims/{pk}/")
    assert Application.objects.get(pk=pk).status == Application.Status.DRAFT
    assert "补充出院小结" in page.inner_text("main")  # in the transition log
    journey.shot("withdrawn")
    submit(page, f"form[action='/claims/{pk}/submit/']")
    expect_path(page, rf"/claims/{pk}/")
    return Application.objects.get(pk=pk)


def test_intake_approval_print_and_payment(
    journey, caseworker_haibowan, supervisor_city, accountant_city, haibowan
):
    seed_institutions()
    hospital = Institution.objects.get(code="H15030200001")

    # Caseworker
    page = journey.sign_in(caseworker_haibowan)
    person = _register_with_identity(journey, haibowan)
    assert person.residence == "rural"
    assert person.identities.get().category == "near_subsistence"
    application = _intake(journey, hospital)
    assert application.status == Application.Status.SUBMITTED
    assert application.prepared_by == caseworker_haibowan
    # the preparer has no decision buttons
    assert page.locator("button[name=decision]").count() == 0

    # Supervisor: the queue, approval, the single and the batch print
    page = journey.sign_in(with_authenticator(supervisor_city))
    journey.goto("/claims/queue/")
    assert "王秀兰" in page.inner_text("main")
    journey.shot("supervisor-queue")
    with page.expect_navigation():
        page.locator(f"a[href='/claims/{application.pk}/']").first.click()
    page.fill("textarea[name=comment]", "同意")
    page.fill("input[name=approver_name]", "张主任")
    journey.shot("supervisor-decision")
    submit(page, f"form[action='/claims/{application.pk}/decide/']", "button[value=approve]")
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    assert application.total == Decimal("3500.00")
    journey.shot("supervisor-approved")

    pdf_link = f"a[href='/claims/{application.pk}/form.pdf']"
    text, reader = open_pdf(journey, "**/form.pdf", lambda: page.click(pdf_link))
    assert len(reader.pages) == 1
    assert "王秀兰" in text and "叁仟伍佰元整" in text and application.form_number in text
    assert ID_NUMBER not in text  # masked on the form

    journey.goto("/claims/")
    page.check(f"input[name=ids][value='{application.pk}']")
    journey.shot("supervisor-batch-selected")
    text, reader = open_pdf(
        journey,
        "**/claims/print/",
        lambda: page.click("form[action='/claims/print/'] button[type=submit]"),
    )
    assert application.form_number in text
    assert AuditEvent.objects.filter(action="print", object_id=str(application.pk)).count() == 2

    # Accountant: records the payment
    page = journey.sign_in(with_authenticator(accountant_city))
    journey.goto(f"/claims/{application.pk}/")
    page.fill("input[name=reference]", "NYH20230701")
    page.fill("input[name=paid_on]", "2023-08-01")
    journey.shot("accountant-payment")
    submit(page, f"form[action='/claims/{application.pk}/pay/']")
    application.refresh_from_db()
    assert application.status == Application.Status.PAID
    assert application.paid_by == accountant_city
    assert Transaction.objects.filter(key__startswith="claims.bill:").count() == 1
    assert "NYH20230701" in page.inner_text("main")
    journey.shot("accountant-paid")
