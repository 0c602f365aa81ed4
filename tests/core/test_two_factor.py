"""Second sign-in factor (DOMAIN §8): TOTP for supervisors, accountants and admins."""

from base64 import b32encode
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.admin import site as admin_site
from django.test import RequestFactory
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.checks import demo_mode_check
from core.models import AuditEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _code(device):
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _confirmed_device(user):
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


@pytest.mark.parametrize("who", ["supervisor_city", "accountant_city", "admin_city"])
def test_privileged_user_without_authenticator_is_sent_to_enrolment(
    unverified_client, who, request
):
    unverified_client.force_login(request.getfixturevalue(who))
    response = unverified_client.get(reverse("claims:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_enrol"))
    assert "next=%2Fclaims%2F" in response["Location"]


def test_supervisor_with_authenticator_is_sent_to_verification(unverified_client, supervisor_city):
    _confirmed_device(supervisor_city)
    unverified_client.force_login(supervisor_city)
    response = unverified_client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_verify"))


def test_caseworker_works_without_second_factor(unverified_client, caseworker_haibowan):
    unverified_client.force_login(caseworker_haibowan)
    assert unverified_client.get(reverse("dashboard")).status_code == 200


def test_caseworker_may_enrol_optionally(unverified_client, caseworker_haibowan):
    unverified_client.force_login(caseworker_haibowan)
    body = unverified_client.get(reverse("two_factor_enrol")).content.decode()
    assert "<svg" in body
    assert "须启用双因素认证" not in body


def test_enrolment_page_shows_qr_code_and_secret(unverified_client, supervisor_city):
    unverified_client.force_login(supervisor_city)
    response = unverified_client.get(reverse("two_factor_enrol"))
    assert response.status_code == 200
    body = response.content.decode()
    device = TOTPDevice.objects.get(user=supervisor_city, confirmed=False)
    secret = b32encode(device.bin_key).decode()
    assert "<svg" in body and "<path" in body
    assert secret[:4] + " " + secret[4:8] in body
    # the navigation to case data is hidden until the second factor is done
    assert reverse("claims:index") not in body


@time_machine.travel(NOW, tick=False)
def test_enrolment_with_right_code_shows_recovery_codes_once(unverified_client, supervisor_city):
    unverified_client.force_login(supervisor_city)
    unverified_client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=supervisor_city)
    response = unverified_client.post(
        reverse("two_factor_enrol"), {"token": _code(device), "next": "/claims/"}
    )
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10
    body = response.content.decode()
    assert all(code in body for code in codes)
    device.refresh_from_db()
    assert device.confirmed
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes)
    # the session is verified now
    assert unverified_client.get(reverse("claims:index")).status_code == 200
    again = unverified_client.get(reverse("two_factor_enrol")).content.decode()
    assert not any(code in again for code in codes)
    assert "已启用双因素认证" in again


@time_machine.travel(NOW, tick=False)
def test_enrolment_with_wrong_code_confirms_nothing(unverified_client, supervisor_city):
    unverified_client.force_login(supervisor_city)
    unverified_client.get(reverse("two_factor_enrol"))
    device = TOTPDevice.objects.get(user=supervisor_city)
    wrong = f"{(int(_code(device)) + 1) % 1000000:06d}"
    response = unverified_client.post(reverse("two_factor_enrol"), {"token": wrong})
    assert "验证码不正确" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticDevice.objects.exists()
    assert unverified_client.get(reverse("dashboard")).status_code == 302


def test_unverified_user_with_authenticator_cannot_enrol_another(
    unverified_client, supervisor_city
):
    _confirmed_device(supervisor_city)
    unverified_client.force_login(supervisor_city)
    response = unverified_client.get(reverse("two_factor_enrol"))
    assert response["Location"].startswith(reverse("two_factor_verify"))
    assert TOTPDevice.objects.filter(user=supervisor_city).count() == 1


@time_machine.travel(NOW, tick=False)
def test_wrong_totp_code_is_refused(unverified_client, supervisor_city):
    device = _confirmed_device(supervisor_city)
    unverified_client.force_login(supervisor_city)
    wrong = f"{(int(_code(device)) + 1) % 1000000:06d}"
    response = unverified_client.post(reverse("two_factor_verify"), {"token": wrong})
    assert response.status_code == 200
    assert "验证码不正确" in response.content.decode()
    assert unverified_client.get(reverse("dashboard")).status_code == 302


@time_machine.travel(NOW, tick=False)
def test_right_totp_code_verifies_the_session(unverified_client, supervisor_city):
    device = _confirmed_device(supervisor_city)
    unverified_client.force_login(supervisor_city)
    response = unverified_client.post(
        reverse("two_factor_verify"), {"token": _code(device), "next": "/claims/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/claims/"
    assert unverified_client.get(reverse("claims:index")).status_code == 200


@time_machine.travel(NOW, tick=False)
def test_verification_does_not_redirect_off_site(unverified_client, supervisor_city):
    device = _confirmed_device(supervisor_city)
    unverified_client.force_login(supervisor_city)
    response = unverified_client.post(
        reverse("two_factor_verify"), {"token": _code(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("dashboard")


def test_recovery_code_works_once(unverified_client, supervisor_city):
    _confirmed_device(supervisor_city)
    recovery = StaticDevice.objects.create(user=supervisor_city, name="recovery")
    recovery.token_set.create(token="abcd2345")
    unverified_client.force_login(supervisor_city)
    response = unverified_client.post(reverse("two_factor_verify"), {"token": "abcd2345"})
    assert response.status_code == 302
    assert unverified_client.get(reverse("dashboard")).status_code == 200
    assert not recovery.token_set.exists()

    unverified_client.logout()
    unverified_client.force_login(supervisor_city)
    response = unverified_client.post(reverse("two_factor_verify"), {"token": "abcd2345"})
    assert "验证码不正确" in response.content.decode()
    assert unverified_client.get(reverse("dashboard")).status_code == 302


def test_admin_requires_a_verified_session(unverified_client, admin_city):
    unverified_client.force_login(admin_city)
    response = unverified_client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor_enrol"))


def test_admin_site_refuses_an_unverified_staff_user(admin_city):
    request = RequestFactory().get("/admin/")
    request.user = admin_city
    admin_city.is_verified = lambda: False
    assert not admin_site.has_permission(request)
    admin_city.is_verified = lambda: True
    assert admin_site.has_permission(request)


def test_verified_admin_opens_admin(client, admin_city):
    client.force_login(admin_city)
    assert client.get(reverse("admin:index")).status_code == 200


def test_admin_login_page_sends_to_the_portal_login(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admin_reset_of_second_factor_is_audited(client, admin_city, supervisor_city):
    admin_city.is_superuser = True
    admin_city.save()
    _confirmed_device(supervisor_city)
    StaticDevice.objects.create(user=supervisor_city, name="recovery")
    client.force_login(admin_city)
    response = client.post(
        reverse("admin:core_user_changelist"),
        {"action": "second_factor_reset_action", "_selected_action": [supervisor_city.pk]},
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=supervisor_city).exists()
    assert not StaticDevice.objects.filter(user=supervisor_city).exists()
    event = AuditEvent.objects.get(action=AuditEvent.Action.SECOND_FACTOR_RESET)
    assert event.user == admin_city
    assert event.object_id == str(supervisor_city.pk)
    assert event.ip_address == "10.9.8.7"
    assert event.detail["devices_removed"] == 2


def test_device_models_are_not_editable_in_admin():
    assert not admin_site.is_registered(TOTPDevice)
    assert not admin_site.is_registered(StaticDevice)


@pytest.fixture
def demo_supervisor(supervisor_city):
    supervisor_city.username = "supervisor"  # a seed_demo username
    supervisor_city.save()
    return supervisor_city


def test_demo_user_skips_second_factor_in_demo_mode(unverified_client, demo_supervisor, settings):
    settings.DEMO_MODE = True
    unverified_client.force_login(demo_supervisor)
    assert unverified_client.get(reverse("dashboard")).status_code == 200


def test_demo_user_enrols_without_demo_mode(unverified_client, demo_supervisor, settings):
    settings.DEMO_MODE = False
    unverified_client.force_login(demo_supervisor)
    response = unverified_client.get(reverse("dashboard"))
    assert response["Location"].startswith(reverse("two_factor_enrol"))


def test_demo_mode_does_not_exempt_other_users(unverified_client, supervisor_city, settings):
    settings.DEMO_MODE = True
    unverified_client.force_login(supervisor_city)
    assert unverified_client.get(reverse("dashboard")).status_code == 302


def test_demo_mode_is_a_deploy_warning(settings):
    settings.DEMO_MODE = True
    assert [w.id for w in demo_mode_check(None)] == ["core.W001"]
    settings.DEMO_MODE = False
    assert demo_mode_check(None) == []


def test_seed_demo_users_are_the_demo_usernames():
    from core.management.commands.seed_demo import DEMO_USERNAMES, DEMO_USERS

    assert {"supervisor", "accountant", "admin"} <= DEMO_USERNAMES
    assert len(DEMO_USERNAMES) == len(DEMO_USERS)


def test_password_sign_in_of_a_supervisor_leads_to_enrolment(unverified_client, supervisor_city):
    response = unverified_client.post(
        reverse("login"),
        {"username": "sup_city", "password": "secret-pass-123"},
        follow=True,
        REMOTE_ADDR="10.0.0.3",
    )
    assert response.redirect_chain[-1][0].startswith(reverse("two_factor_enrol"))
    assert "须启用双因素认证" in response.content.decode()
