import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from core.roles import GROUP_NAMES, ROLE_PERMISSIONS, Role, sync_roles

pytestmark = pytest.mark.django_db


def test_every_role_is_a_group_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(GROUP_NAMES.values())


def test_sync_roles_restores_a_removed_permission():
    group = Group.objects.get(name=GROUP_NAMES[Role.CASEWORKER])
    group.permissions.clear()
    sync_roles()
    assert group.permissions.filter(codename="add_person").exists()


def test_caseworker_can_register_but_not_approve(caseworker_haibowan):
    assert caseworker_haibowan.has_perm("beneficiaries.add_person")
    assert not caseworker_haibowan.has_perm("core.change_policy")


def test_supervisor_can_reveal_id_numbers(supervisor_city):
    assert supervisor_city.has_perm("beneficiaries.reveal_id_number")
    assert not supervisor_city.has_perm("beneficiaries.add_person")


def test_admin_edits_policy(admin_city):
    assert admin_city.has_perm("core.change_policy")
    assert admin_city.has_perm("core.add_user")


def test_accountant_cannot_open_the_person_list(client, accountant_city):
    client.force_login(accountant_city)
    assert client.get(reverse("beneficiaries:person_list")).status_code == 403


# Apps whose models are all in place: every permission a role names there must exist.
COMPLETE_APPS = {"core", "django_celery_beat", "django_celery_results"}


def test_role_permissions_are_spelled_right():
    from django.contrib.auth.models import Permission

    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    named = {code for codes in ROLE_PERMISSIONS.values() for code in codes}
    assert {c for c in named if c.split(".")[0] in COMPLETE_APPS} <= existing
