"""Named users, the way healthchecks has alice/bob/charlie.

- caseworker_haibowan: 经办员 in 海勃湾区 (150302)
- caseworker_wuda:     经办员 in 乌达区 (150304)
- supervisor_city:     审核员 in 乌海市 (150300)
- accountant_city:     财务 in 乌海市
- admin_city:          管理员 in 乌海市 (staff)
- regional_viewer:     审核员 at 内蒙古自治区 level (reads everything, changes nothing)
"""

import pytest

from core.models import Region
from core.roles import Role, grant_role


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # No collectstatic in tests: plain storage instead of the hashed manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _user(django_user_model, username, region_code, role, **extra):
    user = django_user_model.objects.create_user(
        username=username,
        password="secret-pass-123",
        name=username,
        region=Region.objects.get(code=region_code),
        **extra,
    )
    grant_role(user, role)
    return user


@pytest.fixture
def caseworker_haibowan(db, django_user_model):
    return _user(django_user_model, "cw_hbw", "150302", Role.CASEWORKER)


@pytest.fixture
def caseworker_wuda(db, django_user_model):
    return _user(django_user_model, "cw_wuda", "150304", Role.CASEWORKER)


@pytest.fixture
def supervisor_city(db, django_user_model):
    return _user(django_user_model, "sup_city", "150300", Role.SUPERVISOR)


@pytest.fixture
def accountant_city(db, django_user_model):
    return _user(django_user_model, "acc_city", "150300", Role.ACCOUNTANT)


@pytest.fixture
def admin_city(db, django_user_model):
    return _user(django_user_model, "adm_city", "150300", Role.ADMIN, is_staff=True)


@pytest.fixture
def regional_viewer(db, django_user_model):
    return _user(django_user_model, "sup_region", "150000", Role.SUPERVISOR)


@pytest.fixture
def wuhai(db):
    return Region.objects.get(code="150300")


@pytest.fixture
def haibowan(db):
    return Region.objects.get(code="150302")


@pytest.fixture
def wuda(db):
    return Region.objects.get(code="150304")
