"""The 测算 form (DOMAIN §12): the draft edited parameter by parameter, or a policy file."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from test_simulate_command import draft

from claims.models import SimulationRun
from claims.simulation import policy_document, policy_for_year

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime(2024, 3, 1, 4, 0, tzinfo=UTC), tick=False):
        yield


def _fields(document: dict, **changes) -> dict:
    """The form's fields for `document` (ratios in per cent), with `changes` applied."""
    data = {"area": "150300", "year": "2023", "note": "", "annual_cap": document["annual_cap"]}
    for code, rule in document["categories"].items():
        data[f"{code}__deductible"] = rule["deductible"]
        data[f"{code}__ratio"] = str((Decimal(rule["ratio"]) * 100).quantize(Decimal("0.01")))
    data["tilted__deductible"] = document["tilted"]["deductible"]
    data["tilted__ratio"] = str(
        (Decimal(document["tilted"]["ratio"]) * 100).quantize(Decimal("0.01"))
    )
    return {**data, **changes}


def in_force() -> dict:
    return policy_document(policy_for_year("150300", 2023))


def test_the_page_shows_each_parameter_of_the_policy_in_force(client, supervisor_city):
    client.force_login(supervisor_city)
    page = client.get(reverse("claims:simulation_list"), {"area": "150300", "year": "2023"})
    html = page.content.decode()
    assert 'name="near_subsistence__deductible"' in html and 'value="5000.00"' in html
    assert 'name="subsistence__ratio"' in html and 'value="75.00"' in html
    assert 'name="tilted__ratio"' in html and 'value="60.00"' in html
    assert "低保边缘家庭成员" in html


def test_changed_fields_become_the_draft_and_the_rest_stays_in_force(client, supervisor_city):
    client.force_login(supervisor_city)
    base = in_force()
    fields = _fields(base, annual_cap="90000", near_subsistence__ratio="75", tilted__ratio="65.5")
    response = client.post(reverse("claims:simulation_list"), fields)
    run = SimulationRun.objects.get()
    assert response.status_code == 302
    assert run.draft["annual_cap"] == "90000.00"
    assert run.draft["categories"]["near_subsistence"] == {
        "deductible": base["categories"]["near_subsistence"]["deductible"],
        "ratio": "0.7500",
    }
    assert run.draft["tilted"]["ratio"] == "0.6550"
    assert run.draft["rank"] == base["rank"]
    assert run.draft["categories"]["destitute"] == base["categories"]["destitute"]


def test_a_ratio_over_100_percent_is_refused_on_its_field(client, supervisor_city):
    client.force_login(supervisor_city)
    response = client.post(
        reverse("claims:simulation_list"), _fields(in_force(), destitute__ratio="120")
    )
    assert response.status_code == 200
    assert not SimulationRun.objects.exists()
    assert "100" in response.content.decode()


def test_an_uploaded_policy_file_is_the_draft(client, supervisor_city):
    client.force_login(supervisor_city)
    upload = SimpleUploadedFile(
        "draft.json", json.dumps(draft(annual_cap="1234.00")).encode(), "application/json"
    )
    fields = _fields(in_force())
    response = client.post(reverse("claims:simulation_list"), {**fields, "policy_file": upload})
    assert response.status_code == 302
    assert SimulationRun.objects.get().draft["annual_cap"] == "1234.00"


def test_a_policy_file_that_is_not_utf8_json_is_refused(client, supervisor_city):
    client.force_login(supervisor_city)
    upload = SimpleUploadedFile("draft.json", "{'年度':1}".encode("gb18030"))
    response = client.post(
        reverse("claims:simulation_list"), {**_fields(in_force()), "policy_file": upload}
    )
    assert response.status_code == 200
    assert not SimulationRun.objects.exists()


def test_a_year_without_a_policy_says_so_and_asks_for_a_file(client, supervisor_city):
    client.force_login(supervisor_city)
    page = client.get(reverse("claims:simulation_list"), {"area": "150300", "year": "2001"})
    html = page.content.decode()
    assert "没有生效的救助政策" in html and 'name="annual_cap"' not in html
    response = client.post(reverse("claims:simulation_list"), {"area": "150300", "year": "2001"})
    assert "请粘贴或上传测算政策" in response.content.decode()
    assert not SimulationRun.objects.exists()


def test_an_area_outside_the_users_own_is_not_offered(client, supervisor_city):
    client.force_login(supervisor_city)
    response = client.post(
        reverse("claims:simulation_list"), {**_fields(in_force()), "area": "150200"}
    )
    assert response.status_code == 200
    assert not SimulationRun.objects.exists()
