"""The client address of audit rows and of the sign-in lockout (DOMAIN §8, TRUSTED_PROXY_COUNT)."""

from datetime import UTC, datetime

import pytest
import time_machine
from axes.helpers import get_client_ip_address
from django.test import RequestFactory
from django.urls import reverse

from core.audit import audit_event, client_ip
from core.models import AuditEvent

XFF = "HTTP_X_FORWARDED_FOR"


def _request(remote="10.0.0.1", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta[XFF] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(_request(forwarded="203.0.113.9")) == "10.0.0.1"


def test_one_proxy_takes_the_last_forwarded_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # "6.6.6.6" was typed by the client; our proxy appended the address it saw
    assert client_ip(_request(forwarded="6.6.6.6, 203.0.113.9")) == "203.0.113.9"


def test_two_proxies_take_the_second_last_address(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    request = _request(forwarded="6.6.6.6, 203.0.113.9, 192.168.1.2")
    assert client_ip(request) == "203.0.113.9"


def test_fewer_addresses_than_proxies_takes_the_leftmost(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(_request(forwarded="203.0.113.9")) == "203.0.113.9"


def test_no_forwarded_header_behind_a_proxy_falls_back_to_remote_addr(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request()) == "10.0.0.1"


def test_a_malformed_forwarded_address_falls_back_to_remote_addr(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request(forwarded="1.1.1.1, not-an-ip")) == "10.0.0.1"


@pytest.mark.parametrize("count", [0, 1, 2])
def test_axes_uses_the_same_client_address(settings, count):
    settings.TRUSTED_PROXY_COUNT = count
    request = _request(forwarded="6.6.6.6, 203.0.113.9, 192.168.1.2")
    assert get_client_ip_address(request) == client_ip(request)


@pytest.mark.django_db
def test_audit_rows_take_the_address_through_the_proxy(settings, caseworker_haibowan):
    settings.TRUSTED_PROXY_COUNT = 1
    event = audit_event(
        by=caseworker_haibowan,
        action=AuditEvent.Action.EXPORT,
        request=_request(forwarded="6.6.6.6, 203.0.113.9"),
    )
    assert event.ip_address == "203.0.113.9"


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_a_spoofed_forwarded_for_does_not_escape_the_address_lockout(
    settings, unverified_client, caseworker_haibowan
):
    """Behind one proxy, a client that varies its own X-Forwarded-For is still one address."""
    settings.TRUSTED_PROXY_COUNT = 1
    for i in range(5):
        unverified_client.post(
            reverse("login"),
            {"username": f"guess{i}", "password": "wrong-password-x"},
            REMOTE_ADDR="10.0.0.254",
            **{XFF: f"6.6.6.{i}, 203.0.113.9"},
        )
    response = unverified_client.post(
        reverse("login"),
        {"username": "cw_hbw", "password": "secret-pass-123"},
        REMOTE_ADDR="10.0.0.254",
        **{XFF: "7.7.7.7, 203.0.113.9"},
    )
    assert response.status_code == 429
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_LOCKOUT)
    assert event.ip_address == "203.0.113.9"
