"""The identity form preselects no category: 特困人员 (100 %) is never granted by default."""

import re

import pytest
from django.urls import reverse

from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(haibowan):
    return PersonFactory(region=haibowan, name="王建国")


def _category_select(html: str) -> str:
    return re.search(r'<select name="category".*?</select>', html, re.S).group(0)


def test_identity_form_preselects_no_category(client, caseworker_haibowan, person):
    client.force_login(caseworker_haibowan)
    response = client.get(reverse("beneficiaries:identity_create", args=[person.pk]))
    select = _category_select(response.content.decode())
    options = re.findall(r"<option[^>]*>[^<]*</option>", select)
    assert re.fullmatch(r'<option value=""[^>]*>请选择</option>', options[0])
    assert [o for o in options[1:] if "selected" in o] == []
    assert "required" in select.split(">")[0]


def test_identity_form_without_a_category_grants_nothing(client, caseworker_haibowan, person):
    client.force_login(caseworker_haibowan)
    response = client.post(
        reverse("beneficiaries:identity_create", args=[person.pk]),
        {"category": "", "start": "2023-01-01", "department": "civil_affairs", "region": "150302"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["category"]
    assert person.identities.count() == 0
