"""Reopening an alert a person closed (dismissed or resolved), with the reason in its history.

An automatically closed alert (CLOSED) is not reopened by hand: the check reopens it when the
condition recurs. The role and region check is the service's own.
"""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from test_alert_queue import make_alert

from core.roles import Role, grant_role
from monitoring.models import Alert
from monitoring.services import alert_reopen, alert_transition

pytestmark = pytest.mark.django_db
St = Alert.Status


def _dismissed(by, n=1, region="150302"):
    alert = make_alert(n, region)
    return alert_transition(alert=alert, status=St.DISMISSED, reason="重复记录", by=by)


def test_a_dismissed_alert_is_reopened_with_the_reason_in_its_history(caseworker_haibowan):
    alert = _dismissed(caseworker_haibowan)
    assert alert.burden_at_close == Decimal("30000.00")
    reopened = alert_reopen(alert=alert, reason="  排除有误，重新核查  ", by=caseworker_haibowan)
    reopened.refresh_from_db()
    assert reopened.status == St.OPEN
    assert reopened.status_reason == "排除有误，重新核查"
    assert (reopened.closed_at, reopened.burden_at_close) == (None, None)
    note = reopened.notes.order_by("id").last()
    assert (note.text, note.status_from, note.status_to, note.created_by) == (
        "排除有误，重新核查",
        St.DISMISSED,
        St.OPEN,
        caseworker_haibowan,
    )


def test_a_resolved_alert_can_be_reopened(caseworker_haibowan):
    alert = alert_transition(
        alert=make_alert(1), status=St.RESOLVED, reason="已处理", by=caseworker_haibowan
    )
    assert alert_reopen(alert=alert, reason="仍未报销", by=caseworker_haibowan).status == St.OPEN


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_reopening_needs_a_reason(caseworker_haibowan, reason):
    alert = _dismissed(caseworker_haibowan)
    notes = alert.notes.count()
    with pytest.raises(ValidationError, match="重新打开预警须填写原因"):
        alert_reopen(alert=alert, reason=reason, by=caseworker_haibowan)
    alert.refresh_from_db()
    assert alert.status == St.DISMISSED
    assert alert.notes.count() == notes


@pytest.mark.parametrize("status", [St.OPEN, St.IN_PROGRESS, St.REFERRED, St.CLOSED])
def test_only_an_alert_a_person_closed_is_reopened(caseworker_haibowan, status):
    alert = make_alert(1, status=status, closed_at=timezone.now())
    with pytest.raises(ValidationError, match="不能重新打开"):
        alert_reopen(alert=alert, reason="再看看", by=caseworker_haibowan)
    alert.refresh_from_db()
    assert alert.status == status
    assert not alert.notes.exists()


def test_another_districts_caseworker_cannot_reopen(caseworker_haibowan, caseworker_wuda):
    alert = _dismissed(caseworker_haibowan)
    with pytest.raises(PermissionDenied, match="本辖区"):
        alert_reopen(alert=alert, reason="x", by=caseworker_wuda)
    alert.refresh_from_db()
    assert alert.status == St.DISMISSED


def test_a_regional_viewer_cannot_reopen_even_holding_the_role(
    caseworker_haibowan, regional_viewer
):
    grant_role(regional_viewer, Role.CASEWORKER)
    alert = _dismissed(caseworker_haibowan)
    with pytest.raises(PermissionDenied, match="自治区级用户只能查看"):
        alert_reopen(alert=alert, reason="x", by=regional_viewer)
    alert.refresh_from_db()
    assert alert.status == St.DISMISSED


def test_an_accountant_without_the_alert_permission_cannot_reopen(
    caseworker_haibowan, accountant_city
):
    alert = _dismissed(caseworker_haibowan)
    with pytest.raises(PermissionDenied, match="没有执行此操作的权限"):
        alert_reopen(alert=alert, reason="x", by=accountant_city)


# --- Page ---------------------------------------------------------------------------------


def _url(alert):
    return reverse("monitoring:alert_reopen", args=[alert.pk])


def test_the_detail_offers_the_reopen_button_only_when_reopenable(client, caseworker_haibowan):
    alert = _dismissed(caseworker_haibowan)
    other = make_alert(2)
    client.force_login(caseworker_haibowan)
    html = client.get(reverse("monitoring:alert_detail", args=[alert.pk])).content.decode()
    assert f'action="{_url(alert)}"' in html
    assert "data-confirm=" in html.split(_url(alert))[1].split("</form>")[0]
    html = client.get(reverse("monitoring:alert_detail", args=[other.pk])).content.decode()
    assert _url(other) not in html


def test_posting_the_form_reopens_the_alert(client, caseworker_haibowan):
    alert = _dismissed(caseworker_haibowan)
    client.force_login(caseworker_haibowan)
    response = client.post(_url(alert), {"reason": "排除有误"}, follow=True)
    assert "预警已重新打开" in response.content.decode()
    alert.refresh_from_db()
    assert (alert.status, alert.status_reason) == (St.OPEN, "排除有误")


def test_the_page_refuses_a_reopen_without_a_reason(client, caseworker_haibowan):
    alert = _dismissed(caseworker_haibowan)
    client.force_login(caseworker_haibowan)
    response = client.post(_url(alert), {"reason": ""}, follow=True)
    assert "重新打开预警须填写原因" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == St.DISMISSED


def test_reopening_is_post_only(client, caseworker_haibowan):
    alert = _dismissed(caseworker_haibowan)
    client.force_login(caseworker_haibowan)
    assert client.get(_url(alert)).status_code == 405


def test_an_alert_of_another_district_is_a_404(client, caseworker_haibowan, caseworker_wuda):
    alert = _dismissed(caseworker_haibowan)
    client.force_login(caseworker_wuda)
    assert client.post(_url(alert), {"reason": "x"}).status_code == 404
    alert.refresh_from_db()
    assert alert.status == St.DISMISSED


def test_the_regional_viewer_gets_no_reopen_from_the_page(
    client, caseworker_haibowan, regional_viewer
):
    alert = _dismissed(caseworker_haibowan)
    client.force_login(regional_viewer)
    html = client.get(reverse("monitoring:alert_detail", args=[alert.pk])).content.decode()
    assert _url(alert) not in html
    assert client.post(_url(alert), {"reason": "x"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == St.DISMISSED
