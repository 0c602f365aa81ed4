import pytest
from django.urls import reverse

from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert "登录" in response.content.decode()
    assert response["Content-Language"] == "zh-hans"


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_caseworker_logs_in_and_sees_the_dashboard_of_their_region(
    client, caseworker_haibowan, haibowan, wuda
):
    IdentityFactory(person=PersonFactory(region=haibowan))
    IdentityFactory(person=PersonFactory(region=wuda))
    assert client.login(username="cw_hbw", password="secret-pass-123")
    response = client.get(reverse("dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "工作台" in body and "海勃湾区" in body
    assert response.context["beneficiaries_active_total"] == 1
    assert "beneficiaries/_dashboard.html" in response.context["panels"]
    assert response.context["policy"].area_id == "150300"


def test_navigation_reaches_every_area(client, supervisor_city):
    client.force_login(supervisor_city)
    body = client.get(reverse("dashboard")).content.decode()
    for name in ["beneficiaries:person_list", "claims:index", "funds:index", "monitoring:index"]:
        assert f'href="{reverse(name)}"' in body


def test_english_is_available(client, supervisor_city):
    client.force_login(supervisor_city)
    client.post(reverse("set_language"), {"language": "en"})
    response = client.get(reverse("dashboard"))
    assert response["Content-Language"] == "en"
    body = response.content.decode()
    assert "Beneficiaries" in body and "Dashboard" in body


def test_accountant_dashboard_has_no_case_cards(client, accountant_city):
    client.force_login(accountant_city)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert "beneficiaries/_dashboard.html" not in response.context["panels"]


def test_an_english_browser_still_gets_the_chinese_portal(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "zh-hans"
