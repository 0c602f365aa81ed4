"""Journeys of the other roles: a supervisor refusing (and not deciding their own), the
regional user who reads everything and changes nothing, and a caseworker working in English.
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from browser_helpers import expect_path, submit, with_authenticator
from factories import IdentityFactory, PersonFactory

from claims import bills, services
from claims.demo import seed_institutions
from claims.models import Application, Institution
from core.choices import Category
from core.roles import Role, grant_role

pytestmark = pytest.mark.django_db(transaction=True)

# The only POST forms a read-only user may see: the navigation's language and logout, and the
# reads that are POSTs because they are audited (showing a full ID number, printing forms).
READ_FORMS = ("/i18n/setlang/", "/logout/", "/reveal/", "/claims/print/")


def _applicant(region, name="李建国"):
    person = PersonFactory(region=region, name=name)
    IdentityFactory(person=person, category=Category.NEAR_SUBSISTENCE, start=date(2023, 1, 1))
    return person


def _example_a(institution, invoice):
    return {
        "institution": institution,
        "visit_type": "inpatient",
        "admitted": date(2023, 3, 1),
        "discharged": date(2023, 3, 10),
        "invoice_number": invoice,
        "total_cost": Decimal("32000"),
        "policy_range_cost": Decimal("30000"),
        "basic_insurance_paid": Decimal("18000"),
        "critical_illness_paid": Decimal("2000"),
    }


def _submitted(person, by, invoice):
    seed_institutions()
    hospital = Institution.objects.get(code="H15030200001")
    application = services.application_create(person=person, by=by, received_on=date(2023, 6, 1))
    bills.bill_add(application=application, by=by, **_example_a(hospital, invoice))
    return services.application_submit(application=application, by=by)


def test_supervisor_refuses_and_cannot_decide_own(
    journey, caseworker_haibowan, supervisor_city, haibowan
):
    other = _submitted(_applicant(haibowan), caseworker_haibowan, "INV-R")
    # a supervisor who also works cases prepared this one: segregation of duties
    grant_role(supervisor_city, Role.CASEWORKER)
    own = _submitted(_applicant(haibowan, "赵敏"), supervisor_city, "INV-OWN")

    page = journey.sign_in(with_authenticator(supervisor_city))
    journey.goto(f"/claims/{own.pk}/")
    assert page.locator("button[name=decision]").count() == 0
    assert "审核人不能审批本人经办的申请。" in page.inner_text("main")
    journey.shot("own-application")

    journey.goto(f"/claims/{other.pk}/")
    # refusing without a reason is refused, with the reason asked for
    submit(page, f"form[action='/claims/{other.pk}/decide/']", "button[value=reject]")
    assert "请填写不予救助的理由。" in page.inner_text("main")
    other.refresh_from_db()
    assert other.status == Application.Status.SUBMITTED
    journey.shot("refusal-without-reason")

    journey.goto(f"/claims/{other.pk}/")
    page.fill("textarea[name=comment]", "发票与清单不符")
    submit(page, f"form[action='/claims/{other.pk}/decide/']", "button[value=reject]")
    other.refresh_from_db()
    assert other.status == Application.Status.REJECTED
    assert other.decision_comment == "发票与清单不符"
    expect_path(page, rf"/claims/{other.pk}/")
    assert "发票与清单不符" in page.inner_text("main")
    journey.shot("refused")
    own.refresh_from_db()
    assert own.status == Application.Status.SUBMITTED


def _post_forms(page) -> list[str]:
    """Where the page's POST forms that can be sent (they have a submit button) go."""
    actions = page.eval_on_selector_all(
        "form",
        """forms => forms
            .filter(f => f.method === 'post')
            .filter(f => f.querySelector("button:not([type=button]), input[type=submit]"))
            .map(f => f.action)""",
    )
    return [a for a in actions if not any(a.endswith(read) for read in READ_FORMS)]


def test_regional_user_reads_everything_and_changes_nothing(
    journey, caseworker_haibowan, regional_viewer, haibowan
):
    application = _submitted(_applicant(haibowan), caseworker_haibowan, "INV-V")
    person = application.person

    page = journey.sign_in(with_authenticator(regional_viewer))
    pages = [
        ("dashboard", "/"),
        ("persons", "/beneficiaries/"),
        ("person", f"/beneficiaries/{person.pk}/"),
        ("applications", "/claims/"),
        ("application", f"/claims/{application.pk}/"),
        ("funds", "/funds/"),
        ("monitoring", "/monitoring/"),
    ]
    for step, path in pages:
        response = journey.goto(path)
        assert response.status == 200, (path, response.status)
        journey.shot(step)
        assert _post_forms(page) == [], (path, _post_forms(page))
        # no links to the pages that create or change records
        for href in ("/beneficiaries/new/", "/claims/new/", "/edit/", "/bills/new/"):
            assert page.locator(f"main a[href$='{href}']").count() == 0, (path, href)
    journey.goto(f"/claims/{application.pk}/")
    assert person.name in page.inner_text("main")
    assert page.locator("button[name=decision]").count() == 0


def test_caseworker_journey_in_english(journey, caseworker_haibowan, haibowan):
    seed_institutions()
    hospital = Institution.objects.get(code="H15030200001")
    person = _applicant(haibowan, "周伟")

    page = journey.sign_in(caseworker_haibowan)
    assert page.get_attribute("html", "lang") == "zh-hans"
    # the navigation's language list submits itself (static/js/portal.js)
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.get_attribute("html", "lang") == "en"
    assert "Beneficiaries" in page.inner_text("nav")
    journey.shot("dashboard-en")

    journey.goto("/claims/new/")
    page.fill("input[name=id_number]", person.id_number)
    submit(page, "main form")
    expect_path(page, r"/claims/new/\d+/")
    page.fill("input[name=received_on]", "2023-06-01")
    page.check("input[name=documents][value=invoices]")
    journey.shot("application-form-en")
    submit(page, "main form")
    pk = int(expect_path(page, r"/claims/(\d+)/").group(1))

    journey.goto(f"/claims/{pk}/bills/new/")
    page.select_option("select[name=institution]", str(hospital.pk))
    page.select_option("select[name=visit_type]", "inpatient")
    page.fill("input[name=admitted]", "2023-03-01")
    page.fill("input[name=discharged]", "2023-03-10")
    page.fill("input[name=invoice_number]", "INV-EN")
    page.fill("input[name=total_cost]", "32000")
    # an invalid bill: the error is shown in English, nothing is saved
    page.fill("input[name=policy_range_cost]", "30000")
    page.fill("input[name=basic_insurance_paid]", "29000")
    page.fill("input[name=critical_illness_paid]", "2000")
    page.fill("input[name=out_of_catalog_cost]", "0")
    submit(page, "main form")
    expect_path(page, rf"/claims/{pk}/bills/new/")
    error = page.inner_text(".invalid-feedback")
    assert error and not re.search(r"[\u4e00-\u9fff]", error), error  # in English
    assert not Application.objects.get(pk=pk).bills.exists()
    journey.shot("bill-error-en")

    page.fill("input[name=basic_insurance_paid]", "18000")
    submit(page, "main form")
    expect_path(page, rf"/claims/{pk}/")
    assert "3,500.00" in page.inner_text("main")
    submit(page, f"form[action='/claims/{pk}/submit/']")
    assert Application.objects.get(pk=pk).status == Application.Status.SUBMITTED
    assert page.get_attribute("html", "lang") == "en"
    journey.shot("submitted-en")


def test_admin_policy_validation(journey, admin_city):
    """An admin edits the policy in Django admin: invalid rules are refused, in Chinese,
    with nothing saved; a valid change is saved and kept in the policy's history."""
    from core.models import Policy

    policy = Policy.objects.get(area_id="150300", valid_from=date(2023, 1, 1))
    cap = policy.annual_cap
    page = journey.sign_in(with_authenticator(admin_city))
    change = f"/admin/core/policy/{policy.pk}/change/"
    journey.goto(change)
    journey.shot("policy")

    # an end before the start, and a category's ratio above 100 %
    page.fill("input[name=valid_to]", "2022-12-31")
    page.fill("input[name=annual_cap]", "90000")
    page.fill("input[name=categories-0-ratio]", "1.5")
    submit(page, "form#policy_form", "input[name=_save]")
    expect_path(page, change)
    errors = page.inner_text("form#policy_form")
    assert "失效日期不能早于生效日期。" in errors
    assert "比例应在 0 到 1 之间" in errors
    journey.shot("policy-refused")
    policy.refresh_from_db()
    assert policy.valid_to is None and policy.annual_cap == cap

    journey.goto(change)
    page.fill("input[name=annual_cap]", "90000")
    submit(page, "form#policy_form", "input[name=_save]")
    expect_path(page, "/admin/core/policy/")
    policy.refresh_from_db()
    assert policy.annual_cap == Decimal("90000")
    latest = policy.history.latest()
    assert latest.annual_cap == Decimal("90000") and latest.history_user == admin_city
    journey.shot("policy-saved")


def test_lists_sort_and_export_in_english(journey, caseworker_haibowan, haibowan):
    for name in ["乙二", "甲一", "丙三"]:
        PersonFactory(region=haibowan, name=name)
    page = journey.sign_in(caseworker_haibowan)
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    journey.goto("/beneficiaries/")
    with page.expect_navigation():
        page.locator("th a.sort-link[href*='sort=name']").first.click()
    assert "sort=name" in page.url
    assert page.locator("th a.sort-link .bi-caret-up-fill").count() == 1
    with page.expect_navigation():
        page.locator("th a.sort-link[href*='sort=-name']").first.click()
    names = page.locator("tbody tr td:first-child").all_inner_texts()
    assert names == sorted(names, reverse=True)
    journey.shot("persons-sorted-en")
    link = page.locator("a[data-export-link]")
    assert "sort=-name" in link.get_attribute("href")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".xlsx")
