"""A NUL character in a search box or list filter is a 400, never a 500 (PostgreSQL refuses NUL
in text): one guard, `core.middleware.NulQueryGuardMiddleware`, for every view."""

import pytest
from django.urls import reverse

from funds.models import Fund

pytestmark = pytest.mark.django_db

# (user fixture, url name, kwargs, a q-like parameter)
LISTS = [
    ("caseworker_haibowan", "beneficiaries:person_list", {}, "q"),
    ("caseworker_haibowan", "beneficiaries:person_list", {}, "id_number"),
    ("caseworker_haibowan", "beneficiaries:roster_list", {}, "page"),
    ("caseworker_haibowan", "beneficiaries:subsidy_batch_list", {}, "page"),
    ("caseworker_haibowan", "claims:index", {}, "q"),
    ("supervisor_city", "claims:queue", {}, "q"),
    ("supervisor_city", "claims:index", {}, "status"),
    ("caseworker_haibowan", "claims:start", {}, "id_number"),
    ("supervisor_city", "monitoring:index", {}, "q"),
    ("supervisor_city", "monitoring:index", {}, "kind"),
    ("supervisor_city", "monitoring:imports", {}, "page"),
    ("supervisor_city", "monitoring:runs", {}, "page"),
    ("accountant_city", "funds:transaction_list", {"area": "150300"}, "kind"),
    ("accountant_city", "funds:transaction_list", {"area": "150300"}, "month"),
    ("accountant_city", "funds:fund", {"area": "150300"}, "year"),
]


@pytest.mark.parametrize(("who", "name", "kwargs", "param"), LISTS)
def test_a_nul_byte_in_a_list_filter_is_a_400_not_a_500(
    request, client, wuhai, who, name, kwargs, param
):
    Fund.objects.get_or_create(area=wuhai)
    client.force_login(request.getfixturevalue(who))
    url = reverse(name, kwargs=kwargs)
    assert client.get(url, {param: "1"}).status_code in (200, 302)
    response = client.get(url, {param: "王\x00建国"})
    assert response.status_code == 400
    assert "无效字符" in response.content.decode()


def test_a_nul_byte_in_a_parameter_name_is_a_400_too(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    url = reverse("beneficiaries:person_list") + "?q%00=1"
    assert client.get(url).status_code == 400
