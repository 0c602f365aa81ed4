"""A simulated draft saved as the next period's policy (§12): confirmed, validated, once."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from test_simulate_command import draft
from test_simulation_runs import _frozen_today, settled  # noqa: F401 (fixtures)

from claims import simulation_runs
from claims.models import SimulationRun
from claims.simulation_adopt import simulation_adopt
from core.models import Policy

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def run(settled, admin_city, django_capture_on_commit_callbacks):  # noqa: F811
    changes = {"annual_cap": "90000.00", "categories__near_subsistence__deductible": "4000.00"}
    with django_capture_on_commit_callbacks(execute=True):
        made = simulation_runs.simulation_run_request(
            area_code="150300", year=2023, draft=draft(**changes), by=admin_city
        )
    made.refresh_from_db()
    assert made.status == SimulationRun.Status.SUCCESS
    return made


def _current():
    return Policy.objects.get(area_id="150300", valid_from__year=2023)


def test_adopting_creates_the_next_version_and_ends_the_open_ended_one(run, admin_city):
    current = _current()
    assert current.valid_to is None
    policy = simulation_adopt(run=run, by=admin_city, name="2024年度救助政策")
    assert (policy.area_id, policy.valid_from, policy.valid_to) == (
        "150300",
        date(2024, 1, 1),
        None,
    )
    assert (policy.annual_cap, policy.tilted_deductible, policy.tilted_ratio) == (
        D("90000.00"),
        current.tilted_deductible,
        current.tilted_ratio,
    )
    # not in the draft: copied from the policy in force
    assert policy.rural_income == current.rural_income
    assert policy.contribution_standard == current.contribution_standard
    rules = policy.category_rules()
    old = current.category_rules()
    assert rules["near_subsistence"].deductible == D("4000.00")
    assert rules["destitute"].subsidy == old["destitute"].subsidy
    assert [r.category for r in sorted(rules.values(), key=lambda r: r.rank)] == current.rank()[
        : len(rules)
    ]
    current.refresh_from_db()
    assert current.valid_to == date(2023, 12, 31)
    reason = f"由政策测算 #{run.pk} 保存为下一期政策"
    assert policy.history.get().history_change_reason == reason
    assert policy.history.get().history_user == admin_city
    assert current.history.order_by("-history_id").first().history_change_reason == reason
    run.refresh_from_db()
    assert run.adopted_policy == policy
    with pytest.raises(ValidationError, match="已保存为政策"):
        simulation_adopt(run=run, by=admin_city)
    assert Policy.objects.filter(area_id="150300").count() == 2


def test_an_overlapping_next_period_is_refused_and_nothing_is_written(run, admin_city):
    current = _current()
    current.valid_to = date(2024, 6, 30)  # reaches into the next year: left as it is
    current.save()
    with pytest.raises(ValidationError, match="期间重叠"):
        simulation_adopt(run=run, by=admin_city)
    assert Policy.objects.filter(area_id="150300").count() == 1
    current.refresh_from_db()
    assert current.valid_to == date(2024, 6, 30)
    run.refresh_from_db()
    assert run.adopted_policy is None


def test_only_policy_staff_of_the_area_may_adopt(
    run, supervisor_city, caseworker_haibowan, regional_viewer, django_user_model
):
    from core.models import Region
    from core.roles import Role, grant_role

    baotou_admin = django_user_model.objects.create_user(
        username="admin_bt", password="secret-pass-123", region=Region.objects.get(code="150200")
    )
    grant_role(baotou_admin, Role.ADMIN)
    for user in (supervisor_city, caseworker_haibowan, regional_viewer, baotou_admin):
        with pytest.raises(PermissionDenied):
            simulation_adopt(run=run, by=user)
    assert Policy.objects.filter(area_id="150300").count() == 1


def test_an_unfinished_run_cannot_be_adopted(admin_city):
    queued = SimulationRun.objects.create(
        area_id="150300", year=2023, draft=draft(), created_by=admin_city
    )
    with pytest.raises(ValidationError, match="已完成"):
        simulation_adopt(run=queued, by=admin_city)


def test_the_page_shows_every_parameter_and_saves_only_when_confirmed(client, run, admin_city):
    client.force_login(admin_city)
    detail = client.get(reverse("claims:simulation_detail", args=[run.pk])).content.decode()
    url = reverse("claims:simulation_adopt", args=[run.pk])
    assert url in detail
    page = client.get(url).content.decode()
    assert "90,000.00" in page and "4,000.00" in page and "2024-01-01" in page
    assert "2023-12-31 失效" in page and "上年农村牧区常住居民人均可支配收入" in page
    assert Policy.objects.filter(area_id="150300").count() == 1  # looking writes nothing
    unconfirmed = client.post(url, {"name": "2024年度"})
    assert unconfirmed.status_code == 200
    assert Policy.objects.filter(area_id="150300").count() == 1
    response = client.post(url, {"name": "2024年度", "confirm": "on"})
    assert response.status_code == 302
    assert Policy.objects.get(area_id="150300", valid_from=date(2024, 1, 1)).name == "2024年度"
    detail = client.get(reverse("claims:simulation_detail", args=[run.pk])).content.decode()
    assert url not in detail and "已保存为 2024-01-01 起生效的政策" in detail


def test_the_page_is_refused_to_users_who_may_not_adopt(client, run, supervisor_city):
    # runs 测算 (so its pages open) but may not add policies
    client.force_login(supervisor_city)
    assert client.get(reverse("claims:simulation_adopt", args=[run.pk])).status_code == 403
