"""Every league/city its own policy (DOMAIN §2, §8): copies, and refusals without one."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from claims.models import Application, Institution
from claims.services import application_create
from core import idnumber
from core.models import Policy, Region
from core.policy_services import policy_copy, scan_refusal
from core.roles import Role, grant_role
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def wuhai_2023():
    return Policy.objects.get(area_id="150300", valid_from=date(2023, 1, 1))


def _user(django_user_model, username, code, role):
    user = django_user_model.objects.create_user(
        username=username, password="secret-pass-123", name=username, region_id=code
    )
    grant_role(user, role)
    return user


@pytest.fixture
def chifeng_caseworker(django_user_model):
    return _user(django_user_model, "cw_hs", "150402", Role.CASEWORKER)  # 红山区, 赤峰市


@pytest.fixture
def chifeng_person():
    person = PersonFactory(
        region=Region.objects.get(code="150402"),
        id_number=idnumber.make("150402", date(1970, 1, 1), 5),
    )
    IdentityFactory(person=person, category="near_subsistence")
    return person


# --- Copying a policy -----------------------------------------------------------------------


def test_a_copy_carries_every_parameter_and_category_rule(django_user_model, wuhai_2023):
    admin = _user(django_user_model, "adm_bt", "150200", Role.ADMIN)
    copy = policy_copy(
        source=wuhai_2023,
        area=Region.objects.get(code="150200"),
        valid_from=date(2023, 3, 1),
        by=admin,
    )
    assert (copy.area_id, copy.name, copy.valid_from, copy.valid_to) == (
        "150200",
        "包头市医疗救助政策（2023年起）",
        date(2023, 3, 1),
        None,
    )
    assert copy.annual_cap == Decimal("80000.00") and copy.document == ""
    rules = {r.category: (r.rank, r.deductible, r.ratio) for r in copy.categories.all()}
    assert rules == {
        r.category: (r.rank, r.deductible, r.ratio) for r in wuhai_2023.categories.all()
    }
    assert Policy.objects.in_force("150200", date(2023, 7, 1)) == copy
    assert Policy.objects.in_force("150300", date(2023, 7, 1)) == wuhai_2023  # untouched
    assert copy.history.first().history_user == admin
    assert "乌海" in copy.history.first().history_change_reason


def test_a_copy_overlapping_the_areas_policy_is_refused(admin_city, wuhai_2023):
    with pytest.raises(ValidationError, match="期间重叠"):
        policy_copy(
            source=wuhai_2023, area=wuhai_2023.area, valid_from=date(2023, 6, 1), by=admin_city
        )
    assert Policy.objects.filter(area_id="150300").count() == 1


def test_only_the_areas_own_admins_copy(
    admin_city, regional_viewer, caseworker_haibowan, wuhai_2023
):
    baotou = Region.objects.get(code="150200")
    for user in (admin_city, regional_viewer, caseworker_haibowan):
        with pytest.raises(PermissionDenied):
            policy_copy(source=wuhai_2023, area=baotou, valid_from=date(2024, 1, 1), by=user)
    with pytest.raises(ValidationError, match="盟市"):
        policy_copy(
            source=wuhai_2023,
            area=Region.objects.get(code="150302"),
            valid_from=date(2024, 1, 1),
            by=admin_city,
        )
    assert not Policy.objects.filter(area_id="150200").exists()


# --- Refusals where a policy is needed ------------------------------------------------------


def test_intake_in_an_area_without_a_policy_is_refused_in_chinese(
    client, chifeng_caseworker, chifeng_person
):
    with pytest.raises(ValidationError, match="赤峰市在2023-06-01没有生效的医疗救助政策"):
        application_create(
            person=chifeng_person, by=chifeng_caseworker, received_on=date(2023, 6, 1)
        )
    client.force_login(chifeng_caseworker)
    response = client.post(
        reverse("claims:application_create", args=[chifeng_person.pk]),
        {
            "kind": "reimbursement",
            "channel": "counter",
            "received_on": "2023-06-01",
            "documents": ["id_card"],
            "bank_name": "农行",
            "bank_account": "6228480000000001",
        },
    )
    assert response.status_code == 200
    assert "没有生效的医疗救助政策，不能受理救助申请" in response.content.decode()
    assert not Application.objects.exists()


def test_assessment_of_a_bill_before_the_areas_policy_is_refused(
    client, django_user_model, wuhai_2023
):
    admin = _user(django_user_model, "adm_bt", "150200", Role.ADMIN)
    policy_copy(
        source=wuhai_2023,
        area=Region.objects.get(code="150200"),
        valid_from=date(2023, 6, 1),
        by=admin,
    )
    caseworker = _user(django_user_model, "cw_bt", "150203", Role.CASEWORKER)
    person = PersonFactory(
        region=Region.objects.get(code="150203"),
        id_number=idnumber.make("150203", date(1970, 1, 1), 7),
    )
    IdentityFactory(person=person, category="near_subsistence")
    application = application_create(person=person, by=caseworker, received_on=date(2023, 7, 1))
    hospital = Institution.objects.create(
        code="H15020300001", name="包头市中心医院", level=3, admdvs="150203", designated=True
    )
    client.force_login(caseworker)
    response = client.post(
        reverse("claims:bill_create", args=[application.pk]),
        {
            "institution": hospital.pk,
            "visit_type": "inpatient",
            "admitted": "2023-03-01",
            "discharged": "2023-03-10",
            "invoice_number": "EARLY",
            "total_cost": "32000",
            "policy_range_cost": "30000",
            "basic_insurance_paid": "18000",
            "critical_illness_paid": "2000",
            "out_of_catalog_cost": "0",
        },
    )
    assert response.status_code in (200, 302)
    page = client.get(reverse("claims:application_detail", args=[application.pk]))
    assert page.status_code == 200
    assert "没有生效的救助政策" in page.content.decode()
    response = client.post(reverse("claims:application_submit", args=[application.pk]))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.DRAFT


def test_a_scan_of_an_area_without_a_policy_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        call_command("run_check", "high_cost", "--period", "2023", "--area", "150400")
    assert exit_.value.code == 2
    assert "赤峰市在2023-01-01至2023-12-31期间没有生效的医疗救助政策" in capsys.readouterr().err
    assert scan_refusal("high_cost", "150402", date(2023, 1, 1), date(2023, 12, 31))
    assert scan_refusal("high_cost", "150302", date(2023, 1, 1), date(2023, 12, 31)) is None
    assert (
        scan_refusal("duplicate_enrollment", "150400", date(2023, 1, 1), date(2023, 1, 31)) is None
    )
    assert scan_refusal("high_cost", "", date(2023, 1, 1), date(2023, 12, 31)) is None


def test_the_runs_page_refuses_a_scan_of_an_area_without_a_policy(client, django_user_model):
    from monitoring.models import CheckRun

    supervisor = _user(django_user_model, "sup_cf", "150400", Role.SUPERVISOR)
    client.force_login(supervisor)
    response = client.post(
        reverse("monitoring:runs"),
        {"check": "high_cost", "period": "2023", "area": "150400"},
        follow=True,
    )
    assert response.status_code == 200
    assert "没有生效的医疗救助政策，不能运行该检查" in response.content.decode()
    assert not CheckRun.objects.exists()


def test_simulating_an_area_without_a_policy_is_refused(client, django_user_model, tmp_path):
    path = tmp_path / "draft.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(CommandError, match="没有生效的救助政策"):
        call_command("simulate", "--area", "150400", "--year", "2023", "--policy", str(path))
    admin = _user(django_user_model, "adm_cf", "150400", Role.ADMIN)
    client.force_login(admin)
    assert client.get(reverse("claims:simulation_list")).status_code == 200
    response = client.post(
        reverse("claims:simulation_list"),
        {"area": "150400", "year": "2023", "draft": json.dumps({"annual_cap": "1"}), "note": ""},
    )
    assert response.status_code == 200
    assert "没有生效的救助政策，无法测算" in response.content.decode()


# --- The page and the admin action ----------------------------------------------------------


def test_an_admin_copies_a_policy_on_the_page_then_edits_it_in_admin(
    client, django_user_model, wuhai_2023
):
    admin = _user(django_user_model, "adm_bt", "150200", Role.ADMIN)
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    page = client.get(reverse("policy_copy"), {"source": wuhai_2023.pk})
    assert page.status_code == 200
    assert list(page.context["form"].fields["area"].queryset.values_list("code", flat=True)) == [
        "150200"
    ]
    response = client.post(
        reverse("policy_copy"),
        {"source": wuhai_2023.pk, "area": "150200", "valid_from": "2023-01-01", "name": ""},
    )
    copy = Policy.objects.get(area_id="150200")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:core_policy_change", args=[copy.pk])
    again = client.post(
        reverse("policy_copy"),
        {"source": wuhai_2023.pk, "area": "150200", "valid_from": "2023-06-01"},
    )
    assert again.status_code == 200
    assert "期间重叠" in again.content.decode()
    assert Policy.objects.filter(area_id="150200").count() == 1


def test_the_page_is_closed_to_other_roles_and_to_regional_users(
    client, caseworker_haibowan, regional_viewer
):
    client.force_login(caseworker_haibowan)
    assert client.get(reverse("policy_copy")).status_code == 403
    grant_role(regional_viewer, Role.ADMIN)
    client.force_login(regional_viewer)
    assert client.get(reverse("policy_copy")).status_code == 403


def test_the_admin_action_opens_the_page_with_the_source(admin_city, client, wuhai_2023):
    client.force_login(admin_city)
    response = client.post(
        reverse("admin:core_policy_changelist"),
        {"action": "copy_policy", "_selected_action": [wuhai_2023.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('policy_copy')}?source={wuhai_2023.pk}"
