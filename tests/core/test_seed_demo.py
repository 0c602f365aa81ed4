import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from beneficiaries.models import Identity, Person

pytestmark = pytest.mark.django_db


def _counts():
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in {"core", "beneficiaries", "claims", "funds", "monitoring"}
    }


def test_seed_demo_twice_gives_the_same_counts(capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert Person.objects.count() > 0
    assert Identity.objects.count() > 0


def test_seed_demo_creates_the_four_demo_logins_with_the_default_password(capsys):
    call_command("seed_demo")
    users = get_user_model().objects
    for username in ["caseworker", "supervisor", "accountant", "admin"]:
        assert users.get(username=username).check_password("wuhai-demo-2023")
    assert users.get(username="caseworker").region_id == "150302"
    assert users.get(username="admin").is_staff
    out = capsys.readouterr().out
    assert "wuhai-demo-2023" in out and "caseworker" in out
