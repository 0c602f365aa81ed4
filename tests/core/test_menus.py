"""Menus show only what the user's roles may open: no menu or tab leads to a 403."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROLES = [
    "caseworker_haibowan",
    "supervisor_city",
    "accountant_city",
    "admin_city",
    "regional_viewer",
]


def _menu(body: str) -> dict[str, str]:
    """The top menus (label -> href) of a page's navigation bar."""
    nav = re.search(r'<ul class="navbar-nav me-auto">(.*?)</ul>', body, re.S).group(1)
    return {
        label.strip(): href
        for href, label in re.findall(r'<a class="nav-link[^"]*" href="([^"]+)">([^<]+)</a>', nav)
    }


def _tabs(body: str) -> list[str]:
    """The hrefs of a page's section tabs (the app sub-navigation)."""
    found = re.search(r'<ul class="nav nav-tabs mb-3">(.*?)</ul>', body, re.S)
    return re.findall(r'href="([^"]+)"', found.group(1)) if found else []


def _menu_of(client, user) -> dict[str, str]:
    client.force_login(user)
    return _menu(client.get(reverse("dashboard")).content.decode())


@pytest.mark.parametrize("role", ROLES)
def test_no_menu_or_tab_leads_to_a_403(client, request, role):
    user = request.getfixturevalue(role)
    for label, href in _menu_of(client, user).items():
        response = client.get(href, follow=True)
        assert response.status_code == 200, (role, label, href)
        for tab in _tabs(response.content.decode()):
            assert client.get(tab).status_code in (200, 302), (role, label, tab)


def test_caseworker_does_not_see_the_fund_books(client, caseworker_haibowan):
    menu = _menu_of(client, caseworker_haibowan)
    assert "基金财务" not in menu and "系统管理" not in menu
    assert {"工作台", "救助对象", "救助申请", "监测预警"} <= set(menu)


def test_accountant_sees_the_fund_books_and_the_applications_only(client, accountant_city):
    menu = _menu_of(client, accountant_city)
    assert menu["基金财务"] == reverse("funds:index")
    assert "救助申请" in menu
    assert "救助对象" not in menu and "监测预警" not in menu


def test_supervisor_does_not_see_the_fiscal_reconciliation_tab(client, supervisor_city):
    client.force_login(supervisor_city)
    body = client.get(reverse("funds:fund", args=["150300"])).content.decode()
    assert reverse("funds:transaction_list", args=["150300"]) in _tabs(body)
    assert reverse("funds:reconciliation_list", args=["150300"]) not in _tabs(body)


def test_regional_viewer_sees_the_read_only_menus(client, regional_viewer):
    menu = _menu_of(client, regional_viewer)
    assert {"救助对象", "救助申请", "基金财务", "监测预警"} <= set(menu)
    assert "系统管理" not in menu
    claims = client.get(menu["救助申请"]).content.decode()
    assert reverse("claims:start") not in _tabs(claims)  # no intake: nothing to record


def test_admin_sees_administration_and_the_pages_of_their_role(client, admin_city):
    menu = _menu_of(client, admin_city)
    assert menu["系统管理"] == reverse("admin:index")
    assert menu["政策测算"] == reverse("claims:simulation_list")
    assert menu["检查运行记录"] == reverse("monitoring:runs")
    assert "救助对象" not in menu and "基金财务" not in menu and "救助申请" not in menu


def test_a_user_without_roles_sees_only_the_dashboard(client, django_user_model):
    user = django_user_model.objects.create_user(username="nobody", password="secret-pass-123")
    assert list(_menu_of(client, user)) == ["工作台"]
