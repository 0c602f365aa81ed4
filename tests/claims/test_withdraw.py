"""Withdrawing a submitted application back to draft (撤回), before it is decided.

The withdrawal is a Transition like every other move, with its reason; segregation (DOMAIN
§8) reads every submission and withdrawal from that log, not only the last one.
"""

from datetime import date

import pytest
import time_machine
from claims_helpers import example_a, example_b, new_application
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from claims import bills, services
from claims.models import Application, Transition
from core.roles import Role, grant_role

S = Application.Status
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_frozen")]


@pytest.fixture
def _frozen():
    with time_machine.travel("2023-07-15 10:00 +0800", tick=False):
        yield


def _caseworker(django_user_model, haibowan, username, *roles):
    user = django_user_model.objects.create_user(
        username=username, password="secret-pass-123", name=username, region=haibowan
    )
    for role in (Role.CASEWORKER, *roles):
        grant_role(user, role)
    return user


@pytest.fixture
def colleague(django_user_model, haibowan):
    """A second caseworker of 海勃湾区."""
    return _caseworker(django_user_model, haibowan, "cw2_hbw")


@pytest.fixture
def dual(django_user_model, haibowan):
    """A caseworker of 海勃湾区 who also holds the supervisor role."""
    return _caseworker(django_user_model, haibowan, "cw3_hbw", Role.SUPERVISOR)


@pytest.fixture
def submitted(near_subsistence_person, city_hospital, caseworker_haibowan):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    return services.application_submit(application=application, by=caseworker_haibowan)


def _withdraw(application, by, reason="材料不全，补充发票"):
    return services.application_withdraw(application=application, by=by, reason=reason)


# --- Service ------------------------------------------------------------------------------


def test_a_submitted_application_goes_back_to_draft_with_the_reason_logged(
    submitted, caseworker_haibowan
):
    application = _withdraw(submitted, caseworker_haibowan, "  补充出院小结  ")
    application.refresh_from_db()
    assert application.status == S.DRAFT
    assert application.submitted_at is None
    last = Transition.objects.filter(application=application).last()
    assert (last.from_status, last.to_status, last.by, last.comment) == (
        S.SUBMITTED,
        S.DRAFT,
        caseworker_haibowan,
        "补充出院小结",
    )


def test_a_withdrawn_application_can_be_edited_and_submitted_again(
    submitted, caseworker_haibowan, city_hospital
):
    _withdraw(submitted, caseworker_haibowan)
    bills.bill_add(application=submitted, by=caseworker_haibowan, **example_b(city_hospital))
    services.application_update(application=submitted, by=caseworker_haibowan, note="已补充")
    again = services.application_submit(application=submitted, by=caseworker_haibowan)
    assert again.status == S.SUBMITTED
    assert again.bills.count() == 2
    assert list(again.transitions.values_list("to_status", flat=True)) == [
        S.DRAFT,
        S.SUBMITTED,
        S.DRAFT,
        S.SUBMITTED,
    ]


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_withdrawal_needs_a_reason(submitted, caseworker_haibowan, reason):
    with pytest.raises(ValidationError, match="请填写撤回的理由"):
        _withdraw(submitted, caseworker_haibowan, reason)
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED
    assert not Transition.objects.filter(application=submitted, to_status=S.DRAFT).exclude(
        from_status=""
    )


def test_a_draft_cannot_be_withdrawn(near_subsistence_person, city_hospital, caseworker_haibowan):
    draft = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    with pytest.raises(ValidationError, match="不能撤回"):
        _withdraw(draft, caseworker_haibowan)


def test_an_approved_application_cannot_be_withdrawn(
    submitted, caseworker_haibowan, supervisor_city
):
    services.application_approve(application=submitted, by=supervisor_city)
    with pytest.raises(ValidationError, match="已审批.*不能撤回"):
        _withdraw(submitted, caseworker_haibowan)
    submitted.refresh_from_db()
    assert submitted.status == S.APPROVED


def test_a_rejected_application_cannot_be_withdrawn(
    submitted, caseworker_haibowan, supervisor_city
):
    services.application_reject(application=submitted, by=supervisor_city, comment="不符合")
    with pytest.raises(ValidationError, match="不予救助.*不能撤回"):
        _withdraw(submitted, caseworker_haibowan)
    submitted.refresh_from_db()
    assert submitted.status == S.REJECTED


def test_a_paid_application_cannot_be_withdrawn(
    submitted, caseworker_haibowan, supervisor_city, accountant_city
):
    services.application_approve(application=submitted, by=supervisor_city)
    services.application_pay(
        application=submitted, reference="R1", paid_on=date(2023, 7, 15), by=accountant_city
    )
    with pytest.raises(ValidationError, match="已支付.*不能撤回"):
        _withdraw(submitted, caseworker_haibowan)


def test_another_districts_caseworker_cannot_withdraw(submitted, caseworker_wuda):
    with pytest.raises(PermissionDenied, match="本辖区"):
        _withdraw(submitted, caseworker_wuda)
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED


def test_a_regional_viewer_cannot_withdraw_even_holding_the_caseworker_role(
    submitted, regional_viewer
):
    grant_role(regional_viewer, Role.CASEWORKER)
    with pytest.raises(PermissionDenied, match="自治区级用户只能查看"):
        _withdraw(submitted, regional_viewer)
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED


def test_a_supervisor_without_the_change_permission_cannot_withdraw(submitted, supervisor_city):
    with pytest.raises(PermissionDenied, match="没有执行此操作的权限"):
        _withdraw(submitted, supervisor_city)


# --- Segregation after a re-submission ----------------------------------------------------


def test_the_first_submitter_cannot_approve_after_a_colleague_resubmits(
    near_subsistence_person, city_hospital, caseworker_haibowan, dual, colleague
):
    """`dual` submitted it once; a colleague withdrew and re-submitted it: still dual's case."""
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    services.application_submit(application=application, by=dual)
    _withdraw(application, colleague)
    services.application_submit(application=application, by=colleague)
    assert "本人提交" in services.decide_refusal(application, dual)
    with pytest.raises(ValidationError, match="本人提交"):
        services.application_approve(application=application, by=dual)
    application.refresh_from_db()
    assert application.status == S.SUBMITTED


def test_whoever_withdrew_it_cannot_approve_it(submitted, dual, caseworker_haibowan):
    _withdraw(submitted, dual)
    services.application_submit(application=submitted, by=caseworker_haibowan)
    with pytest.raises(ValidationError, match="本人撤回"):
        services.application_approve(application=submitted, by=dual)


def test_an_uninvolved_supervisor_approves_after_a_resubmission(
    submitted, caseworker_haibowan, colleague, supervisor_city
):
    _withdraw(submitted, colleague)
    services.application_submit(application=submitted, by=colleague)
    assert services.decide_refusal(submitted, supervisor_city) is None
    approved = services.application_approve(application=submitted, by=supervisor_city)
    assert approved.status == S.APPROVED
    assert approved.form_number


# --- Page ---------------------------------------------------------------------------------


def _detail(application):
    return reverse("claims:application_detail", args=[application.pk])


def _withdraw_url(application):
    return reverse("claims:application_withdraw", args=[application.pk])


def test_the_detail_offers_the_withdraw_button_with_a_confirmation(
    client, submitted, caseworker_haibowan
):
    client.force_login(caseworker_haibowan)
    html = client.get(_detail(submitted)).content.decode()
    assert f'action="{_withdraw_url(submitted)}"' in html
    assert "data-confirm=" in html.split(_withdraw_url(submitted))[1].split("</form>")[0]


def test_the_button_is_not_offered_to_a_draft_or_to_a_supervisor(
    client, submitted, caseworker_haibowan, supervisor_city
):
    client.force_login(supervisor_city)
    assert _withdraw_url(submitted) not in client.get(_detail(submitted)).content.decode()
    _withdraw(submitted, caseworker_haibowan)
    client.force_login(caseworker_haibowan)
    assert _withdraw_url(submitted) not in client.get(_detail(submitted)).content.decode()


def test_posting_the_form_withdraws_the_application(client, submitted, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    response = client.post(_withdraw_url(submitted), {"reason": "补充材料"}, follow=True)
    assert "已撤回" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == S.DRAFT
    assert submitted.transitions.last().comment == "补充材料"


def test_the_page_refuses_a_withdrawal_without_a_reason(client, submitted, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    response = client.post(_withdraw_url(submitted), {"reason": ""}, follow=True)
    assert "请填写撤回的理由" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED


def test_the_page_shows_why_a_decided_application_is_not_withdrawn(
    client, submitted, caseworker_haibowan, supervisor_city
):
    services.application_approve(application=submitted, by=supervisor_city)
    client.force_login(caseworker_haibowan)
    response = client.post(_withdraw_url(submitted), {"reason": "想改"}, follow=True)
    assert "不能撤回" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == S.APPROVED


def test_withdrawing_is_post_only(client, submitted, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    assert client.get(_withdraw_url(submitted)).status_code == 405


def test_another_districts_application_is_a_404(client, submitted, caseworker_wuda):
    client.force_login(caseworker_wuda)
    assert client.post(_withdraw_url(submitted), {"reason": "x"}).status_code == 404
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED


def test_the_regional_viewer_gets_no_withdrawal_from_the_page(client, submitted, regional_viewer):
    client.force_login(regional_viewer)
    response = client.post(_withdraw_url(submitted), {"reason": "x"})
    assert response.status_code == 403
    submitted.refresh_from_db()
    assert submitted.status == S.SUBMITTED
