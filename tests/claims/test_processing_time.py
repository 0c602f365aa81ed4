"""Processing time: working days since received; overdue past the policy's limit (default 20)."""

from datetime import date, timedelta

import pytest
import time_machine
from claims_helpers import example_a, new_application
from django.urls import reverse

from claims import selectors, services

pytestmark = pytest.mark.django_db


def test_working_days_skip_weekends():
    friday = date(2023, 6, 2)
    assert selectors.working_days_between(friday, date(2023, 6, 5)) == 1  # Monday
    assert selectors.working_days_between(friday, date(2023, 6, 9)) == 5
    assert selectors.working_days_between(friday, date(2023, 6, 30)) == 20
    assert selectors.working_days_between(friday, friday) == 0


@pytest.mark.parametrize("limit", [0, 1, 5, 20])
def test_the_overdue_cutoff_agrees_with_counting_day_by_day(limit):
    today = date(2023, 7, 12)
    cutoff = selectors.overdue_cutoff(limit, today)
    for back in range(0, 60):
        received = today - timedelta(days=back)
        overdue = selectors.working_days_between(received, today) > limit
        assert (received <= cutoff) == overdue, received


@time_machine.travel(date(2023, 7, 12), tick=False)
def test_an_open_application_past_the_limit_is_overdue_on_the_dashboard(
    client, near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    old = new_application(
        near_subsistence_person,
        caseworker_haibowan,
        received_on=date(2023, 6, 1),  # 29 working days before 2023-07-12
        bills=[example_a(city_hospital)],
    )
    recent = new_application(
        near_subsistence_person, caseworker_haibowan, received_on=date(2023, 7, 3)
    )
    context = selectors.dashboard_context(caseworker_haibowan)
    assert context["claims_overdue"] == 1
    assert context["claims_overdue_rows"] == [old]
    assert context["claims_limit"] == 20

    client.force_login(caseworker_haibowan)
    page = client.get(reverse("claims:index"), {"overdue": "1"})
    rows = list(page.context["page"].object_list)
    assert rows == [old]
    assert rows[0].is_overdue and rows[0].days_open == 29
    assert 'class="overdue"' in page.content.decode()
    assert recent not in rows

    # Once decided, the limit no longer runs.
    services.application_submit(application=old, by=caseworker_haibowan)
    services.application_approve(application=old, by=supervisor_city)
    assert selectors.dashboard_context(caseworker_haibowan)["claims_overdue"] == 0


@time_machine.travel(date(2023, 7, 12), tick=False)
def test_the_limit_comes_from_the_policy(near_subsistence_person, caseworker_haibowan):
    from core.models import Policy

    Policy.objects.filter(area_id="150300").update(processing_days_limit=5)
    new_application(near_subsistence_person, caseworker_haibowan, received_on=date(2023, 7, 3))
    assert selectors.dashboard_context(caseworker_haibowan)["claims_overdue"] == 1


def test_the_dashboard_partial_renders(client, caseworker_haibowan, near_subsistence_person):
    from django.template.loader import render_to_string

    new_application(near_subsistence_person, caseworker_haibowan)
    html = render_to_string(
        "claims/_dashboard.html", selectors.dashboard_context(caseworker_haibowan)
    )
    assert "待审批" in html
