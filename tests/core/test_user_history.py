"""DOMAIN §8: users, their roles and region keep a history (who, when, from where); users
are deactivated, never deleted, so the "who" of every record survives."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from core.models import Region, User
from core.roles import GROUP_NAMES, Role
from core.user_services import user_deactivate

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(client, admin_city):
    admin_city.is_superuser = True
    admin_city.save()
    client.force_login(admin_city)
    return admin_city


def _change_form_data(user, **over):
    data = {
        "username": user.username,
        "name": user.name,
        "email": user.email,
        "region": user.region_id or "",
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "groups": [g.pk for g in user.groups.all()],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2023-01-01",
        "date_joined_1": "08:00:00",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v != ""}


def test_a_change_of_roles_and_region_in_admin_keeps_who_and_the_ip(
    client, superuser, caseworker_haibowan
):
    supervisor = Group.objects.get(name=GROUP_NAMES[Role.SUPERVISOR])
    response = client.post(
        reverse("admin:core_user_change", args=[caseworker_haibowan.pk]),
        _change_form_data(caseworker_haibowan, region="150304", groups=[supervisor.pk]),
        REMOTE_ADDR="10.20.30.40",
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = caseworker_haibowan.history.first()
    assert latest.history_user == superuser
    assert latest.ip_address == "10.20.30.40"
    assert latest.region_id == "150304"
    assert [g.group for g in latest.groups.all()] == [supervisor]
    # the version before still shows the caseworker role in 海勃湾区
    earlier = caseworker_haibowan.history.filter(region_id="150302").first()
    assert [g.group.name for g in earlier.groups.all()] == [GROUP_NAMES[Role.CASEWORKER]]
    # the password hash is not copied into the history
    assert not hasattr(latest, "password")


def test_a_login_writes_no_history_row(client, caseworker_haibowan):
    before = caseworker_haibowan.history.count()
    assert client.login(username="cw_hbw", password="secret-pass-123")
    assert caseworker_haibowan.history.count() == before


def test_admin_has_no_delete_for_users_even_for_a_superuser(client, superuser, caseworker_wuda):
    changelist = client.get(reverse("admin:core_user_changelist"))
    actions = dict(changelist.context["action_form"].fields["action"].choices)
    assert "delete_selected" not in actions
    assert "deactivate_users" in actions
    response = client.post(
        reverse("admin:core_user_delete", args=[caseworker_wuda.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    response = client.post(
        reverse("admin:core_user_changelist"),
        {"action": "delete_selected", "_selected_action": [caseworker_wuda.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=caseworker_wuda.pk).exists()


def test_the_deactivate_action_deactivates_and_records_who(client, superuser, caseworker_wuda):
    response = client.post(
        reverse("admin:core_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [caseworker_wuda.pk]},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 302
    caseworker_wuda.refresh_from_db()
    assert caseworker_wuda.is_active is False
    row = caseworker_wuda.history.first()
    assert (row.is_active, row.history_user, row.ip_address) == (False, superuser, "10.0.0.9")
    assert not client.login(username="cw_wuda", password="secret-pass-123")


def test_an_admin_cannot_deactivate_themself(superuser):
    with pytest.raises(ValidationError, match="不能停用您本人的账号"):
        user_deactivate(user=superuser, by=superuser)


def test_a_user_cannot_be_deleted_by_any_door(caseworker_wuda):
    with pytest.raises(ValidationError, match="只能停用"):
        caseworker_wuda.delete()
    with pytest.raises(ValidationError, match="只能停用"), transaction.atomic():
        User.objects.filter(pk=caseworker_wuda.pk).delete()
    with pytest.raises(ValidationError, match="只能停用"), transaction.atomic():
        Region.objects.get(code="150304").users.all().delete()
    assert User.objects.filter(pk=caseworker_wuda.pk).exists()


def test_a_role_granted_from_the_group_side_is_in_the_users_history(caseworker_wuda):
    before = caseworker_wuda.history.count()
    Group.objects.get(name=GROUP_NAMES[Role.SUPERVISOR]).user_set.add(caseworker_wuda)
    assert caseworker_wuda.history.count() == before + 1
    names = {g.group.name for g in caseworker_wuda.history.first().groups.all()}
    assert names == {GROUP_NAMES[Role.CASEWORKER], GROUP_NAMES[Role.SUPERVISOR]}
    # granting it again changes nothing and writes nothing
    Group.objects.get(name=GROUP_NAMES[Role.SUPERVISOR]).user_set.add(caseworker_wuda)
    caseworker_wuda.groups.add(Group.objects.get(name=GROUP_NAMES[Role.SUPERVISOR]))
    assert caseworker_wuda.history.count() == before + 1
