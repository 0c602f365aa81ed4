"""The demo's July 2023 clearing of Wuhai (seed_demo): several institutions, one line cleared
through the cross-area payee, one reversal; approved by the supervisor, paid by the
accountant."""

import json
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from core import idnumber
from funds.models import Clearing, Transaction
from funds.models_clearing import CROSS_AREA

pytestmark = pytest.mark.django_db

AUGUST = datetime(2023, 8, 10, 10, 0, tzinfo=idnumber.CHINA_TZ)


@pytest.fixture
def seeded():
    # (not under time_machine: the claims demo dates its applications relative to today)
    call_command("seed_demo", verbosity=0)


def test_seed_demo_leaves_a_july_draft_with_cross_area_and_reversal(seeded):
    clearing = Clearing.objects.get(fund__area_id="150300", year=2023, month=7)
    assert clearing.status == "draft" and clearing.computed_by is None
    assert clearing.reversals == 1
    lines = list(clearing.lines.all())
    assert len({line.institution_code for line in lines}) >= 4
    cross = [line for line in lines if line.payee == CROSS_AREA]
    assert [line.institution_code for line in cross] == ["H15010200001"]
    assert clearing.cross_area == Decimal("1440.00")
    assert clearing.outpatient > 0
    reversed_line = next(line for line in lines if line.reversals)
    assert reversed_line.institution_code == "H15030200001"


def test_clear_settlements_on_the_demo_shows_reversal_and_cross_area(seeded, capsys):
    with time_machine.travel(AUGUST, tick=False):
        call_command("clear_settlements", "--area", "150300", "--period", "2023-07")
    out = json.loads(capsys.readouterr().out)
    assert out["reversals"] >= 1 and Decimal(out["cross_area"]) > 0
    assert out["payees"] >= 4 and out["applied"] is True
    assert Clearing.objects.filter(year=2023, month=7).count() == 1  # the draft, replaced


def test_demo_clearing_is_approved_and_paid_by_the_demo_users(seeded, client):
    users = get_user_model().objects
    clearing = Clearing.objects.get(fund__area_id="150300", year=2023, month=7)
    with time_machine.travel(AUGUST, tick=False):
        client.force_login(users.get(username="supervisor"))
        client.post(reverse("funds:clearing_approve", args=["150300", clearing.pk]))
        client.force_login(users.get(username="accountant"))
        client.post(
            reverse("funds:clearing_pay", args=["150300", clearing.pk]),
            {"paid_on": "2023-08-10", "reference": "ZF-0810"},
        )
    clearing.refresh_from_db()
    assert clearing.status == "paid"
    keys = set(
        Transaction.objects.filter(key__startswith="clearing:150300:2023-07:").values_list(
            "key", flat=True
        )
    )
    assert "clearing:150300:2023-07:cross_area:inpatient" in keys
    assert any(key.endswith(":outpatient") for key in keys)
