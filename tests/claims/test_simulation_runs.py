"""Simulation runs (DOMAIN §12): recorded with who, when and which draft; a page to ask and read."""

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from claims_helpers import settlement
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from test_simulate_command import IN_FORCE, draft

from claims import simulation_runs
from claims.models import SimulationRun
from claims.simulation import policy_document, policy_for_year
from claims.tasks import simulation_task

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime(2024, 3, 1, 4, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def settled(destitute_person, city_hospital):
    settlement(
        destitute_person, "S-1", enddate=date(2023, 2, 1), policy="1000", basic="0",
        critical="0", maf_pay="0",
    )  # fmt: skip


def test_a_run_records_who_which_draft_and_the_task_result(
    settled, admin_city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = simulation_runs.simulation_run_request(
            area_code="150300", year=2023, draft=draft(annual_cap="500.00"), by=admin_city
        )
    run.refresh_from_db()
    assert run.status == SimulationRun.Status.SUCCESS
    assert run.created_by == admin_city and run.draft["annual_cap"] == "500.00"
    contract = simulation_task.delay("150300", 2023, draft(annual_cap="500.00")).get()
    by_visit_type = run.result.pop("by_visit_type")  # the page's breakdown, beyond §12's JSON
    assert run.result == contract and "by_visit_type" not in contract
    assert sum(Decimal(v["draft"]) for v in by_visit_type.values()) == Decimal("500.00")
    assert run.result["draft"]["total"] == "500.00"
    assert (run.chunks_done, run.chunks_total, run.percent_done) == (1, 1, 100)


def test_a_run_is_claimed_once(settled, admin_city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = simulation_runs.simulation_run_request(
            area_code="150300", year=2023, draft=draft(), by=admin_city
        )
    assert simulation_runs.simulation_run_execute(run_id=run.pk).status == "success"
    assert simulation_runs.simulation_run_execute(run_id=run.pk) is None


def test_the_policy_in_force_as_a_draft_is_a_valid_draft(
    settled, admin_city, django_capture_on_commit_callbacks
):
    document = policy_document(policy_for_year("150300", 2023))
    assert document["categories"]["near_subsistence"]["deductible"] == "5000.00"
    with django_capture_on_commit_callbacks(execute=True):
        run = simulation_runs.simulation_run_request(
            area_code="150300", year=2023, draft=json.loads(json.dumps(document)), by=admin_city
        )
    run.refresh_from_db()
    assert run.result["difference"] == "0.00"


@pytest.mark.parametrize("user", ["regional_viewer", "caseworker_haibowan"])
def test_only_the_areas_policy_staff_may_run_one(request, user):
    with pytest.raises(PermissionDenied):
        simulation_runs.simulation_run_request(
            area_code="150300", year=2023, draft=draft(), by=request.getfixturevalue(user)
        )
    assert not SimulationRun.objects.exists()


def test_the_areas_supervisor_may_run_one(supervisor_city):
    """The bureau weighs a draft with its supervisors (审核员), not only its admins (issue #17)."""
    run = simulation_runs.simulation_run_request(
        area_code="150300", year=2023, draft=draft(), by=supervisor_city
    )
    assert SimulationRun.objects.get().created_by == supervisor_city
    assert run.area_id == "150300"


def test_another_areas_admin_may_not_run_one(admin_city):
    with pytest.raises(PermissionDenied):
        simulation_runs.simulation_run_request(
            area_code="150200", year=2023, draft=draft(), by=admin_city
        )


@pytest.mark.parametrize(
    "year, policy, named",
    [
        (2022, draft(), "2022"),
        (2023, draft(categories__subsistence__ratio="2"), "categories.subsistence.ratio"),
        (2023, ["x"], "JSON"),
    ],
)
def test_a_bad_request_writes_nothing(admin_city, year, policy, named):
    with pytest.raises(ValidationError) as error:
        simulation_runs.simulation_run_request(
            area_code="150300", year=year, draft=policy, by=admin_city
        )
    assert named in " ".join(error.value.messages)
    assert not SimulationRun.objects.exists()


# --- Pages ----------------------------------------------------------------------------------


def test_the_page_offers_the_policy_in_force_and_runs_the_draft(
    client, settled, admin_city, django_capture_on_commit_callbacks
):
    client.force_login(admin_city)
    page = client.get(reverse("claims:simulation_list"))
    assert page.status_code == 200
    assert "5000.00" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("claims:simulation_list"),
            {"area": "150300", "year": "2023", "draft": json.dumps(draft(annual_cap="500.00"))},
        )
    run = SimulationRun.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("claims:simulation_detail", args=[run.pk])
    detail = client.get(response.url).content.decode()
    assert "-500.00" in detail and "特困人员" in detail


def test_a_draft_that_is_not_json_is_refused_on_the_form(client, admin_city):
    client.force_login(admin_city)
    response = client.post(
        reverse("claims:simulation_list"), {"area": "150300", "year": "2023", "draft": "{x"}
    )
    assert response.status_code == 200
    assert "不是有效的 JSON" in response.content.decode()
    assert not SimulationRun.objects.exists()


def test_a_draft_with_a_bad_field_is_refused_on_the_form(client, admin_city):
    client.force_login(admin_city)
    bad = {k: v for k, v in IN_FORCE.items() if k != "annual_cap"}
    response = client.post(
        reverse("claims:simulation_list"),
        {"area": "150300", "year": "2023", "draft": json.dumps(bad)},
    )
    assert "annual_cap" in response.content.decode()
    assert not SimulationRun.objects.exists()


def test_users_without_the_simulation_permission_get_403(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    assert client.get(reverse("claims:simulation_list")).status_code == 403


def test_the_supervisor_sees_the_page_and_the_menu(client, supervisor_city):
    client.force_login(supervisor_city)
    page = client.get(reverse("claims:simulation_list")).content.decode()
    assert 'name="draft"' in page
    assert reverse("claims:simulation_list") in client.get(reverse("claims:index")).content.decode()


def test_another_areas_run_is_a_404(client, admin_city, django_user_model):
    run = SimulationRun.objects.create(
        area_id="150200", year=2023, draft=draft(), created_by=admin_city
    )
    client.force_login(admin_city)
    assert client.get(reverse("claims:simulation_detail", args=[run.pk])).status_code == 404


def test_a_post_for_another_area_is_refused(client, admin_city):
    client.force_login(admin_city)
    response = client.post(
        reverse("claims:simulation_list"),
        {"area": "150200", "year": "2023", "draft": json.dumps(draft())},
    )
    assert response.status_code == 200  # not a choice of this user
    assert not SimulationRun.objects.exists()


# --- Result by visit type, chart, Excel (§12) -----------------------------------------------


def _finished_run(admin_city, capture, **changes):
    with capture(execute=True):
        run = simulation_runs.simulation_run_request(
            area_code="150300",
            year=2023,
            draft=draft(**changes),
            by=admin_city,
            note="=HYPERLINK(1)",
        )
    run.refresh_from_db()
    return run


def test_the_result_page_shows_visit_types_and_an_svg_chart_without_inline_style(
    client, settled, admin_city, django_capture_on_commit_callbacks
):
    run = _finished_run(admin_city, django_capture_on_commit_callbacks, annual_cap="500.00")
    client.force_login(admin_city)
    page = client.get(reverse("claims:simulation_detail", args=[run.pk])).content.decode()
    assert "按就诊类型" in page and "住院" in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "<rect" in svg and "style=" not in svg
    assert not re.findall(r"<script(?![^>]*\bsrc=)", page)  # CSP: no inline script
    assert reverse("claims:simulation_xlsx", args=[run.pk]) in page


def test_the_excel_export_has_every_breakdown_and_formula_safe_text(
    client, settled, admin_city, django_capture_on_commit_callbacks
):
    from io import BytesIO

    from openpyxl import load_workbook

    run = _finished_run(admin_city, django_capture_on_commit_callbacks, annual_cap="500.00")
    client.force_login(admin_city)
    response = client.get(reverse("claims:simulation_xlsx", args=[run.pk]))
    assert response.status_code == 200
    book = load_workbook(BytesIO(response.content))
    assert book.sheetnames == ["测算信息", "汇总", "按救助类别", "按就诊类型"]
    info = {row[0]: row[1] for row in book["测算信息"].iter_rows(values_only=True)}
    assert info["说明"] == "'=HYPERLINK(1)" and info["发起人"]
    totals = {row[0]: row[1:] for row in book["汇总"].iter_rows(min_row=2, values_only=True)}
    in_force, drafted, difference = totals["救助合计"]
    assert drafted == Decimal("500.00") and difference == drafted - in_force
    visits = list(book["按就诊类型"].iter_rows(min_row=2, values_only=True))
    assert sum(row[2] for row in visits) == Decimal("500.00")


def test_an_unfinished_run_has_no_export(client, admin_city):
    run = SimulationRun.objects.create(
        area_id="150300", year=2023, draft=draft(), created_by=admin_city
    )
    client.force_login(admin_city)
    assert client.get(reverse("claims:simulation_xlsx", args=[run.pk])).status_code == 404
