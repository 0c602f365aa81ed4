"""`grant_roles`: a region and roles for a user (createsuperuser makes one with neither)."""

import io
import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command

from core.roles import GROUP_NAMES, Role
from core.user_services import user_grant_roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(django_user_model):
    return django_user_model.objects.create_superuser("boss", password="secret-pass-123")


def _grant(*args):
    out = io.StringIO()
    call_command("grant_roles", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_gives_a_region_and_roles_and_prints_them(newcomer):
    result = _grant("boss", "--region", "150302", "--role", "caseworker", "--role", "supervisor")
    assert result == {
        "username": "boss",
        "region": "150302",
        "roles": ["caseworker", "supervisor"],
        "is_staff": True,
    }
    newcomer.refresh_from_db()
    assert newcomer.region_id == "150302"
    assert newcomer.has_role(GROUP_NAMES[Role.CASEWORKER])
    assert newcomer.has_role(GROUP_NAMES[Role.SUPERVISOR])


def test_the_change_is_in_the_users_history(newcomer):
    before = newcomer.history.count()
    _grant("boss", "--region", "150300", "--role", "accountant")
    rows = list(newcomer.history.all()[: newcomer.history.count() - before])
    assert rows and {row.history_change_reason for row in rows} == {"grant_roles"}
    latest = rows[0]
    assert latest.region_id == "150300"
    assert [g.group.name for g in latest.groups.all()] == [GROUP_NAMES[Role.ACCOUNTANT]]


def test_running_it_again_changes_nothing(newcomer):
    _grant("boss", "--region", "150300", "--role", "caseworker")
    before = newcomer.history.count()
    _grant("boss", "--region", "150300", "--role", "caseworker")
    assert newcomer.history.count() == before


def test_the_admin_role_makes_the_user_staff(django_user_model):
    user = django_user_model.objects.create_user("ops", password="secret-pass-123")
    assert _grant("ops", "--region", "150300", "--role", "admin")["is_staff"] is True
    user.refresh_from_db()
    assert user.is_staff and user.history.first().is_staff


def test_an_unknown_region_is_exit_2_and_changes_nothing(newcomer):
    with pytest.raises(CommandError, match="区划代码 999999 不存在") as exc:
        _grant("boss", "--region", "999999", "--role", "caseworker")
    assert exc.value.returncode == 2
    newcomer.refresh_from_db()
    assert newcomer.region_id is None and not newcomer.groups.exists()


def test_an_unknown_user_is_exit_2():
    with pytest.raises(CommandError, match="用户 ghost 不存在") as exc:
        _grant("ghost", "--role", "caseworker")
    assert exc.value.returncode == 2


def test_an_unknown_role_is_refused(newcomer):
    with pytest.raises(CommandError, match="invalid choice"):
        _grant("boss", "--role", "cashier")
    with pytest.raises(Exception, match="未知角色"):
        user_grant_roles(user=newcomer, roles=["cashier"], by=None)


def test_nothing_to_grant_is_refused(newcomer):
    with pytest.raises(CommandError, match="请指定区划或至少一个角色") as exc:
        _grant("boss")
    assert exc.value.returncode == 2


def test_only_a_user_admin_may_grant_roles(caseworker_haibowan, caseworker_wuda, admin_city):
    with pytest.raises(PermissionDenied):
        user_grant_roles(user=caseworker_wuda, roles=["supervisor"], by=caseworker_haibowan)
    user_grant_roles(user=caseworker_wuda, roles=["supervisor"], by=admin_city)
    assert caseworker_wuda.history.first().history_user == admin_city
