"""Sign-in lockout, password rules, password change and idle sessions (DOMAIN §8)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.models import AuditEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "secret-pass-123"


def _login(client, username, password, ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _fail(client, username, times, ip="10.0.0.1"):
    for _ in range(times):
        response = _login(client, username, "wrong-password-x", ip)
        assert response.status_code == 200


@time_machine.travel(T0, tick=False)
def test_five_failures_lock_the_account_with_a_chinese_page(unverified_client, caseworker_haibowan):
    _fail(unverified_client, "cw_hbw", 4)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKOUT).exists()
    response = _login(unverified_client, "cw_hbw", "wrong-password-x")
    assert response.status_code == 429
    body = response.content.decode()
    assert "已被锁定 15 分钟" in body
    assert 'class="navbar' in body  # the portal layout
    # even the right password is refused now, from any address
    response = _login(unverified_client, "cw_hbw", PASSWORD, ip="10.0.0.99")
    assert response.status_code == 429
    assert "_auth_user_id" not in unverified_client.session


@time_machine.travel(T0, tick=False)
def test_lockout_writes_one_audit_row(unverified_client, caseworker_haibowan):
    _fail(unverified_client, "cw_hbw", 4, ip="10.0.0.7")
    _login(unverified_client, "cw_hbw", "wrong-password-x", ip="10.0.0.7")
    _login(unverified_client, "cw_hbw", PASSWORD, ip="10.0.0.7")
    _login(unverified_client, "cw_hbw", "wrong-password-x", ip="10.0.0.7")
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_LOCKOUT)
    assert event.object_id == str(caseworker_haibowan.pk)
    assert event.ip_address == "10.0.0.7"
    assert event.detail["username"] == "cw_hbw"
    assert event.detail["failures"] == 5


@time_machine.travel(T0, tick=False)
def test_five_failures_from_one_address_lock_that_address(unverified_client, caseworker_haibowan):
    for name in ["a1", "a2", "a3", "a4", "a5"]:
        _login(unverified_client, name, "wrong-password-x", ip="10.0.0.5")
    assert _login(unverified_client, "cw_hbw", PASSWORD, ip="10.0.0.5").status_code == 429
    # the account itself is not locked: another address signs in
    response = _login(unverified_client, "cw_hbw", PASSWORD, ip="10.0.0.6")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_LOCKOUT).count() == 1


@time_machine.travel(T0, tick=False)
def test_signing_in_to_ones_own_account_does_not_clear_the_failures(
    unverified_client, caseworker_haibowan, caseworker_wuda
):
    _fail(unverified_client, "cw_hbw", 4, ip="10.0.0.8")
    other = unverified_client.__class__()
    assert _login(other, "cw_wuda", PASSWORD, ip="10.0.0.8").status_code == 302
    assert _login(unverified_client, "cw_hbw", "wrong-password-x", ip="10.0.0.8").status_code == 429


def test_lockout_ends_after_15_minutes(unverified_client, caseworker_haibowan):
    with time_machine.travel(T0, tick=False):
        _fail(unverified_client, "cw_hbw", 4)
        assert _login(unverified_client, "cw_hbw", "wrong-password-x").status_code == 429
        assert _login(unverified_client, "cw_hbw", PASSWORD).status_code == 429
    with time_machine.travel(T0 + timedelta(minutes=14), tick=False):
        assert _login(unverified_client, "cw_hbw", PASSWORD).status_code == 429
    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        assert _login(unverified_client, "cw_hbw", PASSWORD).status_code == 302


def test_failures_older_than_15_minutes_do_not_count(unverified_client, caseworker_haibowan):
    with time_machine.travel(T0, tick=False):
        _fail(unverified_client, "cw_hbw", 4)
    with time_machine.travel(T0 + timedelta(minutes=16), tick=False):
        _fail(unverified_client, "cw_hbw", 1)
        assert _login(unverified_client, "cw_hbw", PASSWORD).status_code == 302


@pytest.mark.parametrize("password", ["Ab1-short", "1234567890123", "password1234", "cw_hbw_user"])
def test_weak_passwords_are_refused(password, caseworker_haibowan):
    with pytest.raises(ValidationError):
        validate_password(password, user=caseworker_haibowan)


def test_a_long_uncommon_password_is_accepted(caseworker_haibowan):
    validate_password("Wuhai-assist-2026!", user=caseworker_haibowan)


def test_every_user_can_change_their_password(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("password_change") in page
    response = client.get(reverse("password_change"))
    assert response.status_code == 200
    assert "修改密码" in response.content.decode()
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "Wuhai-assist-2026!",
            "new_password2": "Wuhai-assist-2026!",
        },
    )
    assert response.status_code == 302
    caseworker_haibowan.refresh_from_db()
    assert caseworker_haibowan.check_password("Wuhai-assist-2026!")


def test_password_change_refuses_a_numeric_password(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "98127364501", "new_password2": "98127364501"},
    )
    assert response.status_code == 200
    caseworker_haibowan.refresh_from_db()
    assert caseworker_haibowan.check_password(PASSWORD)


def test_sessions_end_on_browser_close_and_after_30_idle_minutes():
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_an_idle_session_expires_and_activity_keeps_it(client, caseworker_haibowan):
    with time_machine.travel(T0, tick=False):
        client.force_login(caseworker_haibowan)
        response = client.get(reverse("dashboard"))
        assert response.status_code == 200
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    with time_machine.travel(T0 + timedelta(minutes=29), tick=False):
        assert client.get(reverse("dashboard")).status_code == 200
    with time_machine.travel(T0 + timedelta(minutes=58), tick=False):
        assert client.get(reverse("dashboard")).status_code == 200
    with time_machine.travel(T0 + timedelta(minutes=89), tick=False):
        response = client.get(reverse("dashboard"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
