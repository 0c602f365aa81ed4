"""seed_demo's second city (包头市) and regional viewer: scoping across cities can be seen."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from beneficiaries.models import Person
from claims.models import Application
from core.management.commands.seed_demo import DEMO_USERNAMES
from core.models import Policy
from core.scoping import scoped
from monitoring.models import Settlement

pytestmark = pytest.mark.django_db


def test_baotou_has_its_users_policy_and_a_little_data(capsys):
    call_command("seed_demo")
    users = get_user_model().objects
    for username in ["caseworker_baotou", "supervisor_baotou", "regional"]:
        assert users.get(username=username).check_password("wuhai-demo-2023")
        assert username in DEMO_USERNAMES
    caseworker = users.get(username="caseworker_baotou")
    wuhai_caseworker = users.get(username="caseworker")
    assert Policy.objects.filter(area_id="150200").count() == 1
    baotou_people = scoped(Person.objects, caseworker)
    assert baotou_people.count() == 4
    assert {p.region.coordination_area.code for p in baotou_people} == {"150200"}
    assert not scoped(Person.objects, wuhai_caseworker).filter(region__parent="150200").exists()
    submitted = Application.objects.get(area_id="150200")
    assert submitted.status == Application.Status.SUBMITTED
    assert scoped(Settlement.objects, caseworker).count() == 4
    assert scoped(Settlement.objects, users.get(username="regional")).count() > 4


def test_the_regional_viewer_sees_the_comparison_in_demo_mode(client, capsys, settings):
    settings.DEMO_MODE = True
    call_command("seed_demo")
    assert client.login(username="regional", password="wuhai-demo-2023")
    page = client.get("/region/").content.decode()
    assert "包头市" in page and "乌海市" in page
