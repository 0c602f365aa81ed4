"""The check-runs page: supervisors start a check for a period; everyone with access sees runs."""

import pytest
from django.urls import reverse

from monitoring.models import CheckRun

pytestmark = pytest.mark.django_db


def test_a_supervisor_starts_a_check_for_a_period_and_sees_its_run(
    client, supervisor_city, django_capture_on_commit_callbacks
):
    client.force_login(supervisor_city)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("monitoring:runs"), {"check": "high_cost", "period": "2023-06"}
        )
    assert response.status_code == 302
    run = CheckRun.objects.get()
    assert (run.check_name, run.period, run.area, run.outcome) == (
        "high_cost",
        "2023-06",
        "150300",
        "success",
    )
    assert run.started_by == supervisor_city
    page = client.get(reverse("monitoring:runs"))
    assert list(page.context["page"]) == [run]


def test_a_bad_period_is_refused_by_the_form(client, supervisor_city):
    client.force_login(supervisor_city)
    response = client.post(reverse("monitoring:runs"), {"check": "high_cost", "period": "2023-13"})
    assert response.status_code == 200 and response.context["form"].errors
    assert not CheckRun.objects.exists()


def test_caseworkers_cannot_start_checks(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    response = client.post(reverse("monitoring:runs"), {"check": "high_cost", "period": "2023"})
    assert response.status_code == 403


def test_district_users_do_not_see_runs_of_another_district(client, caseworker_haibowan):
    CheckRun.objects.create(check_name="high_cost", period="2023", area="150304", outcome="success")
    mine = CheckRun.objects.create(
        check_name="high_cost", period="2023", area="", outcome="success"
    )
    client.force_login(caseworker_haibowan)
    assert list(client.get(reverse("monitoring:runs")).context["page"]) == [mine]
