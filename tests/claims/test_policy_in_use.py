"""DOMAIN §8: a policy that any assessment, approval or scan used cannot be deleted (only
superseded by a newer version), and its category rules cannot be changed."""

from datetime import date, datetime

import pytest
import time_machine
from claims_helpers import approved_application, example_a, new_application
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from claims import services
from core.models import Policy, PolicyCategory
from core.models.policy import POLICY_IN_USE
from monitoring.checks import check_run
from monitoring.models import CheckRunPolicy

pytestmark = pytest.mark.django_db
NOON = datetime(2023, 6, 30, 4, 0)


@pytest.fixture
def wuhai_2023():
    return Policy.objects.get(area_id="150300", valid_from=date(2023, 1, 1))


@pytest.fixture
def superuser(client, admin_city):
    admin_city.is_superuser = True
    admin_city.save()
    client.force_login(admin_city)
    return admin_city


@pytest.fixture
def unused_policy(wuhai_2023):
    policy = Policy.objects.create(
        area_id="150300",
        name="2030年草案",
        valid_from=date(2030, 1, 1),
        all_resident_income=wuhai_2023.all_resident_income,
        rural_income=wuhai_2023.rural_income,
        min_living_standard=wuhai_2023.min_living_standard,
        tilted_deductible=wuhai_2023.tilted_deductible,
        tilted_ratio=wuhai_2023.tilted_ratio,
        contribution_standard=wuhai_2023.contribution_standard,
    )
    PolicyCategory.objects.create(
        policy=policy, category="destitute", rank=1, deductible=0, ratio=1, subsidy="full"
    )
    return policy


@time_machine.travel(NOON, tick=False)
def test_an_approval_keeps_the_policy_it_applied_and_protects_it(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city, wuhai_2023
):
    application = approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    assert [b.policy for b in application.bills.all()] == [wuhai_2023]
    assert wuhai_2023.is_used()
    with pytest.raises(ProtectedError), transaction.atomic():
        wuhai_2023.delete()
    assert Policy.objects.filter(pk=wuhai_2023.pk).exists()


@time_machine.travel(NOON, tick=False)
def test_a_submitted_assessment_already_uses_the_policy(
    near_subsistence_person, city_hospital, caseworker_haibowan, wuhai_2023
):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    assert not wuhai_2023.is_used()
    services.application_submit(application=application, by=caseworker_haibowan)
    assert application.bills.get().policy == wuhai_2023
    assert wuhai_2023.is_used()


@time_machine.travel(NOON, tick=False)
def test_a_scan_keeps_the_policy_it_measured_against_and_protects_it(wuhai_2023):
    run = check_run(name="high_cost", period="2023")
    assert run.outcome == "success"
    assert list(CheckRunPolicy.objects.filter(run=run).values_list("policy", flat=True)) == [
        wuhai_2023.pk
    ]
    with pytest.raises(ProtectedError), transaction.atomic():
        wuhai_2023.delete()


@time_machine.travel(NOON, tick=False)
def test_the_uninsured_check_keeps_the_policy_of_its_subsidy_proposals(
    near_subsistence_person, wuhai_2023
):
    run = check_run(name="uninsured", period="2023-05")
    assert run.outcome == "success"
    assert run.policy_uses.get().policy == wuhai_2023


@time_machine.travel(NOON, tick=False)
def test_admin_refuses_to_delete_a_used_policy_with_a_chinese_message(
    client, superuser, wuhai_2023
):
    check_run(name="high_cost", period="2023")
    url = reverse("admin:core_policy_delete", args=[wuhai_2023.pk])
    response = client.post(url, {"post": "yes"}, follow=True)
    assert Policy.objects.filter(pk=wuhai_2023.pk).exists()
    assert str(POLICY_IN_USE) in response.content.decode()
    change = client.get(reverse("admin:core_policy_change", args=[wuhai_2023.pk]))
    assert url not in change.content.decode()  # no delete link
    assert str(POLICY_IN_USE) in change.content.decode()
    actions = client.get(reverse("admin:core_policy_changelist")).context["action_form"]
    assert actions is None or "delete_selected" not in dict(actions.fields["action"].choices)


def test_admin_still_deletes_a_policy_nothing_used(client, superuser, unused_policy):
    url = reverse("admin:core_policy_delete", args=[unused_policy.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Policy.objects.filter(pk=unused_policy.pk).exists()


@time_machine.travel(NOON, tick=False)
def test_the_categories_of_a_used_policy_cannot_be_changed_or_deleted(
    client, superuser, wuhai_2023
):
    check_run(name="high_cost", period="2023")
    rule = wuhai_2023.categories.get(category="near_subsistence")
    rule.deductible = 1
    with pytest.raises(ValidationError, match="不能删除"):
        rule.save()
    with pytest.raises(ValidationError, match="不能删除"):
        rule.delete()
    with pytest.raises(ValidationError):
        PolicyCategory(
            policy=wuhai_2023, category="other_special", rank=99, deductible=0, ratio=0
        ).save()
    # in admin the inline is read-only: no inputs for the rules, no delete boxes
    html = client.get(reverse("admin:core_policy_change", args=[wuhai_2023.pk])).content.decode()
    assert 'name="categories-0-deductible"' not in html
    assert 'name="categories-0-DELETE"' not in html
    rule.refresh_from_db()
    assert rule.deductible != 1


def test_the_categories_of_an_unused_policy_stay_editable(client, superuser, unused_policy):
    html = client.get(reverse("admin:core_policy_change", args=[unused_policy.pk])).content.decode()
    assert 'name="categories-0-deductible"' in html


@time_machine.travel(NOON, tick=False)
def test_bills_assessed_before_the_reference_existed_get_the_policy_they_used(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city, wuhai_2023
):
    import importlib

    from django.apps import apps

    from claims.models import Bill

    application = approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    draft = new_application(
        near_subsistence_person,
        caseworker_haibowan,
        bills=[example_a(city_hospital, invoice="INV-DRAFT")],
    )
    Bill.objects.update(policy=None)  # as the rows were before migration 0002
    migration = importlib.import_module("claims.migrations.0003_bill_assessed_policy")
    migration.assessed_bills_keep_their_policy(apps, None)
    assert application.bills.get().policy == wuhai_2023
    assert draft.bills.get().policy is None  # never assessed: nothing used
