"""400, 403, 404, 405 and 500 pages in the portal's layout and the user's language."""

import logging

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.factories import PersonFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.error_urls")]


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False


@pytest.fixture
def signed_in(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    client.raise_request_exception = False
    return client


def _get(client, status, **extra):
    if status == 400:
        return client.get("/test/400/", **extra)
    if status == 403:
        return client.get(reverse("funds:index"), **extra)  # a caseworker has no fund role
    if status == 404:
        return client.get("/no/such/page/", **extra)
    if status == 405:  # require_POST
        return client.get(reverse("beneficiaries:person_reveal", args=[extra.pop("pk")]), **extra)
    return client.get("/test/500/", **extra)


HEADINGS = {
    400: ("请求无效", "portal-nav"),
    403: ("无权访问", "portal-nav"),
    404: ("页面不存在", "portal-nav"),
    405: ("请求方式不允许", "portal-nav"),
    500: ("系统错误", "portal-nav"),
}


@pytest.fixture
def person(haibowan):
    return PersonFactory(region=haibowan)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 500])
def test_error_page_is_in_the_portal_layout_in_chinese(signed_in, person, status):
    extra = {"pk": person.pk} if status == 405 else {}
    response = _get(signed_in, status, **extra)
    body = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    heading, nav = HEADINGS[status]
    assert heading in body and nav in body
    assert '<html lang="zh-hans">' in body
    assert f'href="{reverse("dashboard")}"' in body  # the way back
    if status != 500:  # the full navigation bar, with the user's menus
        assert "工作台" in body and "退出" in body


@pytest.mark.parametrize("status", [400, 403, 404, 405, 500])
def test_error_page_follows_the_language_cookie(signed_in, person, status):
    signed_in.cookies["django_language"] = "en"
    extra = {"pk": person.pk} if status == 405 else {}
    body = _get(signed_in, status, **extra).content.decode()
    assert '<html lang="en">' in body
    with translation.override("en"):  # the heading through the English catalogue
        assert gettext(HEADINGS[status][0]) in body
        if status != 500:  # the navigation bar in English
            assert f">{gettext('工作台')}</a>" in body and gettext("退出") in body
            assert ">工作台</a>" not in body


def test_405_page_keeps_the_allow_header(signed_in, person):
    response = _get(signed_in, 405, pk=person.pk)
    assert response["Allow"] == "POST"


def test_back_link_only_to_our_own_pages(signed_in):
    body = signed_in.get("/no/such/page/", HTTP_REFERER="http://testserver/claims/").content
    assert b'href="http://testserver/claims/"' in body
    body = signed_in.get("/no/such/page/", HTTP_REFERER="https://evil.example/").content
    assert b"evil.example" not in body


def test_anonymous_404_offers_the_sign_in(client):
    body = client.get("/no/such/page/").content.decode()
    assert "页面不存在" in body and f'href="{reverse("login")}"' in body


def test_an_expired_form_shows_the_403_page(caseworker_haibowan, person):
    from tests.conftest import SecondFactorClient

    client = SecondFactorClient(enforce_csrf_checks=True)
    client.force_login(caseworker_haibowan)
    response = client.post(reverse("beneficiaries:person_reveal", args=[person.pk]))
    assert response.status_code == 403
    assert "表单已过期" in response.content.decode()


def test_a_refused_permission_is_logged_as_one_info_line(signed_in, caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        _get(signed_in, 403)
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.INFO and "Forbidden" in record.getMessage()
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


def test_a_server_error_is_still_logged_with_its_traceback(signed_in, caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        _get(signed_in, 500)
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "the view broke" in caplog.text


def test_the_500_page_needs_no_context_processor(signed_in, settings):
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {
                "context_processors": [
                    *settings.TEMPLATES[0]["OPTIONS"]["context_processors"],
                    "tests.core.error_urls.broken_context_processor",
                ]
            },
        }
    ]
    response = _get(signed_in, 500)
    assert response.status_code == 500 and "系统错误" in response.content.decode()
