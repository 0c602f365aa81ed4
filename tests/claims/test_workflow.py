"""draft → submitted → approved/rejected → paid: each move one service, every other refused."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from claims_helpers import example_a, example_b, new_application
from django.core.exceptions import PermissionDenied, ValidationError

from claims import bills, services
from claims.models import Application, Transition
from core.roles import Role, grant_role
from funds.models import Transaction

D = Decimal
S = Application.Status
pytestmark = pytest.mark.django_db
TODAY = date(2023, 8, 1)


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Tests never read the wall clock: every test here runs on 2023-08-01 in Shanghai."""
    with time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def submitted(near_subsistence_person, city_hospital, caseworker_haibowan):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    return services.application_submit(application=application, by=caseworker_haibowan)


@pytest.fixture
def approved(submitted, supervisor_city):
    return services.application_approve(application=submitted, by=supervisor_city)


@pytest.fixture
def paid(approved, accountant_city):
    return services.application_pay(
        application=approved, reference="NYH-001", paid_on=TODAY, by=accountant_city
    )


def test_submitting_saves_a_preliminary_assessment(submitted):
    assert submitted.status == S.SUBMITTED
    assert submitted.total == D("3500.00")
    assert submitted.bills.get().steps


def test_an_empty_draft_cannot_be_submitted(near_subsistence_person, caseworker_haibowan):
    application = new_application(near_subsistence_person, caseworker_haibowan)
    with pytest.raises(ValidationError, match="至少录入一张票据"):
        services.application_submit(application=application, by=caseworker_haibowan)


def test_the_preparer_cannot_approve_their_own_application(submitted, caseworker_haibowan):
    grant_role(caseworker_haibowan, Role.SUPERVISOR)
    with pytest.raises(ValidationError, match="审核人不能审批本人经办的申请"):
        services.application_approve(application=submitted, by=caseworker_haibowan)
    with pytest.raises(ValidationError, match="审核人不能审批本人经办的申请"):
        services.application_reject(application=submitted, by=caseworker_haibowan, comment="x")
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED


def test_approval_assigns_a_form_number_per_area_and_year(approved, supervisor_city):
    assert approved.status == S.APPROVED
    assert approved.form_number.startswith("WH-")
    assert approved.form_number.endswith("-000001")
    assert approved.decided_by == supervisor_city


def test_payment_posts_each_bill_to_the_fund_once(paid):
    bill = paid.bills.get()
    voucher = Transaction.objects.get(key=f"claims.bill:{bill.pk}")
    assert voucher.legs.filter(amount=D("3500.00")).exists()
    assert paid.status == S.PAID
    assert paid.payment_reference == "NYH-001"


def test_every_transition_is_recorded(paid, caseworker_haibowan, supervisor_city):
    rows = list(Transition.objects.filter(application=paid).values_list("from_status", "to_status"))
    assert rows == [
        ("", S.DRAFT),
        (S.DRAFT, S.SUBMITTED),
        (S.SUBMITTED, S.APPROVED),
        (S.APPROVED, S.PAID),
    ]
    assert paid.history.count() >= 4


def test_rejection_needs_a_reason(submitted, supervisor_city):
    with pytest.raises(ValidationError, match="理由"):
        services.application_reject(application=submitted, by=supervisor_city, comment=" ")


@pytest.mark.parametrize(
    "state, action",
    [
        ("draft", "approve"),
        ("draft", "reject"),
        ("draft", "pay"),
        ("submitted", "submit"),
        ("submitted", "pay"),
        ("approved", "submit"),
        ("approved", "approve"),
        ("approved", "reject"),
        ("rejected", "submit"),
        ("rejected", "approve"),
        ("rejected", "pay"),
        ("paid", "submit"),
        ("paid", "approve"),
        ("paid", "reject"),
        ("paid", "pay"),
    ],
)
def test_forbidden_transitions_are_refused(
    state,
    action,
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    accountant_city,
):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    if state != "draft":
        services.application_submit(application=application, by=caseworker_haibowan)
    if state == "rejected":
        services.application_reject(application=application, by=supervisor_city, comment="否")
    if state in ("approved", "paid"):
        services.application_approve(application=application, by=supervisor_city)
    if state == "paid":
        services.application_pay(
            application=application, reference="R1", paid_on=TODAY, by=accountant_city
        )
    application.refresh_from_db()
    calls = {
        "submit": lambda: services.application_submit(
            application=application, by=caseworker_haibowan
        ),
        "approve": lambda: services.application_approve(
            application=application, by=supervisor_city
        ),
        "reject": lambda: services.application_reject(
            application=application, by=supervisor_city, comment="否"
        ),
        "pay": lambda: services.application_pay(
            application=application, reference="R2", paid_on=TODAY, by=accountant_city
        ),
    }
    with pytest.raises(ValidationError, match="不能"):
        calls[action]()
    application.refresh_from_db()
    assert application.status == state


@pytest.mark.parametrize("state", ["submitted", "approved", "paid"])
def test_bills_cannot_change_once_submitted(state, request, city_hospital, caseworker_haibowan):
    application = request.getfixturevalue(state)
    bill = application.bills.get()
    with pytest.raises(ValidationError, match="不能添加票据"):
        bills.bill_add(application=application, by=caseworker_haibowan, **example_b(city_hospital))
    with pytest.raises(ValidationError, match="不能修改票据"):
        bills.bill_update(bill=bill, by=caseworker_haibowan, invoice_number="NEW")
    with pytest.raises(ValidationError, match="不能删除票据"):
        bills.bill_delete(bill=bill, by=caseworker_haibowan)
    with pytest.raises(ValidationError, match="不能修改"):
        services.application_update(application=application, by=caseworker_haibowan, note="x")


def test_a_user_of_another_district_cannot_change_the_application(submitted, caseworker_wuda):
    with pytest.raises(PermissionDenied):
        services.application_submit(application=submitted, by=caseworker_wuda)


def test_a_regional_viewer_cannot_approve(submitted, regional_viewer):
    with pytest.raises(PermissionDenied):
        services.application_approve(application=submitted, by=regional_viewer)


def test_stored_steps_are_in_the_portals_language_whoever_assessed(
    near_subsistence_person, city_hospital, caseworker_haibowan
):
    from django.utils import translation

    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    with translation.override("en"):
        services.application_submit(application=application, by=caseworker_haibowan)
    steps = application.bills.get().steps
    assert steps and any("年度救助限额" in line for line in steps)
