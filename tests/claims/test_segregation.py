"""Segregation of duties on one application (DOMAIN §8): prepare ≠ approve ≠ record payment.

A person is compared, not a role: a user holding several roles still does one step of a case.
"""

from datetime import date

import pytest
import time_machine
from claims_helpers import example_a, new_application
from django.core.exceptions import PermissionDenied, ValidationError

from claims import bills, services
from claims.models import Application
from core.roles import ROLE_PERMISSIONS, Role, grant_role

S = Application.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_frozen")]
PAID_ON = date(2023, 7, 15)


@pytest.fixture
def _frozen():
    with time_machine.travel("2023-07-15 10:00 +0800", tick=False):
        yield


@pytest.fixture
def helper(db, django_user_model, haibowan):
    """A second caseworker of 海勃湾区 who also holds the supervisor role."""
    user = django_user_model.objects.create_user(
        username="cw2_hbw", password="secret-pass-123", name="cw2_hbw", region=haibowan
    )
    grant_role(user, Role.CASEWORKER)
    grant_role(user, Role.SUPERVISOR)
    return user


@pytest.fixture
def draft(near_subsistence_person, city_hospital, caseworker_haibowan):
    return new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )


def _submit(application, by):
    return services.application_submit(application=application, by=by)


def test_the_preparer_cannot_approve(draft, caseworker_haibowan):
    grant_role(caseworker_haibowan, Role.SUPERVISOR)
    _submit(draft, caseworker_haibowan)
    with pytest.raises(ValidationError, match="本人经办"):
        services.application_approve(application=draft, by=caseworker_haibowan)


def test_whoever_entered_a_bill_cannot_approve(draft, helper, city_hospital):
    bills.bill_add(application=draft, by=helper, **example_a(city_hospital, invoice="INV-2"))
    _submit(draft, draft.prepared_by)
    with pytest.raises(ValidationError, match="本人录入票据"):
        services.application_approve(application=draft, by=helper)
    with pytest.raises(ValidationError, match="本人录入票据"):
        services.application_reject(application=draft, by=helper, comment="否")
    draft.refresh_from_db()
    assert draft.status == S.SUBMITTED


def test_whoever_deleted_a_bill_cannot_approve(draft, helper, city_hospital):
    extra = bills.bill_add(
        application=draft, by=draft.prepared_by, **example_a(city_hospital, invoice="INV-2")
    )
    bills.bill_delete(bill=extra, by=helper)
    _submit(draft, draft.prepared_by)
    with pytest.raises(ValidationError, match="本人录入票据"):
        services.application_approve(application=draft, by=helper)


def test_the_submitter_cannot_approve(draft, helper):
    _submit(draft, helper)
    with pytest.raises(ValidationError, match="本人提交"):
        services.application_approve(application=draft, by=helper)


def test_the_approver_cannot_record_the_payment(draft, caseworker_haibowan, supervisor_city):
    grant_role(supervisor_city, Role.ACCOUNTANT)  # two roles: still one step of the case
    _submit(draft, caseworker_haibowan)
    services.application_approve(application=draft, by=supervisor_city)
    with pytest.raises(ValidationError, match="审批人不能登记"):
        services.application_pay(
            application=draft, reference="R1", paid_on=PAID_ON, by=supervisor_city
        )
    draft.refresh_from_db()
    assert draft.status == S.APPROVED


def test_the_preparer_cannot_record_the_payment(draft, caseworker_haibowan, supervisor_city):
    grant_role(caseworker_haibowan, Role.ACCOUNTANT)
    caseworker_haibowan = type(caseworker_haibowan).objects.get(pk=caseworker_haibowan.pk)
    _submit(draft, caseworker_haibowan)
    services.application_approve(application=draft, by=supervisor_city)
    with pytest.raises(ValidationError, match="经办人不能登记"):
        services.application_pay(
            application=draft, reference="R1", paid_on=PAID_ON, by=caseworker_haibowan
        )


def test_only_the_fund_accountant_records_payments(
    draft, caseworker_haibowan, supervisor_city, django_user_model, wuhai, accountant_city
):
    assert "claims.record_payment" not in ROLE_PERMISSIONS[Role.SUPERVISOR]
    second = django_user_model.objects.create_user(
        username="sup2_city", password="secret-pass-123", name="sup2_city", region=wuhai
    )
    grant_role(second, Role.SUPERVISOR)
    _submit(draft, caseworker_haibowan)
    services.application_approve(application=draft, by=supervisor_city)
    with pytest.raises(PermissionDenied):
        services.application_pay(application=draft, reference="R1", paid_on=PAID_ON, by=second)
    paid = services.application_pay(
        application=draft, reference="R1", paid_on=PAID_ON, by=accountant_city
    )
    assert (paid.status, paid.paid_by) == (S.PAID, accountant_city)


def test_a_regional_viewer_cannot_write_applications(
    draft, caseworker_haibowan, regional_viewer, near_subsistence_person, city_hospital
):
    """Service level: a 自治区 user holding every role changes no application."""
    for role in (Role.CASEWORKER, Role.ACCOUNTANT):
        grant_role(regional_viewer, role)
    by = regional_viewer
    calls = [
        lambda: services.application_create(
            person=near_subsistence_person, by=by, received_on=date(2023, 7, 1)
        ),
        lambda: services.application_update(application=draft, by=by, note="x"),
        lambda: bills.bill_add(application=draft, by=by, **example_a(city_hospital, "I9")),
        lambda: bills.bill_delete(bill=draft.bills.get(), by=by),
        lambda: services.application_submit(application=draft, by=by),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="自治区级用户只能查看"):
            call()
    _submit(draft, caseworker_haibowan)
    with pytest.raises(PermissionDenied):
        services.application_approve(application=draft, by=by)
    with pytest.raises(PermissionDenied):
        services.application_reject(application=draft, by=by, comment="否")
    draft.refresh_from_db()
    assert draft.status == S.SUBMITTED


def test_the_page_offers_no_second_step_of_the_same_case(
    client, draft, helper, city_hospital, supervisor_city
):
    from django.urls import reverse

    bills.bill_add(application=draft, by=helper, **example_a(city_hospital, invoice="INV-2"))
    _submit(draft, draft.prepared_by)
    detail = reverse("claims:application_detail", args=[draft.pk])
    client.force_login(helper)
    assert "审批通过" not in client.get(detail).content.decode()
    grant_role(supervisor_city, Role.ACCOUNTANT)
    services.application_approve(application=draft, by=supervisor_city)
    client.force_login(supervisor_city)
    assert "确认已支付" not in client.get(detail).content.decode()
