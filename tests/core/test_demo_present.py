"""seed_demo also fills the current year, so the first start has a dashboard to show."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from claims.models import Application
from funds.models import Transaction
from monitoring.models import Alert, Settlement

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_seed_demo_creates_current_year_data_and_keeps_2023():
    with time_machine.travel(datetime(2026, 5, 20, 10, tzinfo=SHANGHAI), tick=False):
        call_command("seed_demo", verbosity=0)
        counts = (
            Transaction.objects.filter(booked_on__year=2026).count(),
            Settlement.objects.filter(enddate__year=2026).count(),
        )
        call_command("seed_demo", verbosity=0)  # idempotent
        again = (
            Transaction.objects.filter(booked_on__year=2026).count(),
            Settlement.objects.filter(enddate__year=2026).count(),
        )
    assert counts[0] >= 3 and counts[1] == 8 and again == counts
    paid = Settlement.objects.filter(enddate__year=2026, maf_pay__gt=0).count()
    assert paid == 3  # one-stop assistance this year for the dashboard
    assert Alert.objects.filter(year=2026).exists()
    assert Application.objects.filter(received_on__year=2026).exists()
    assert Settlement.objects.filter(enddate__year=2023).exists()
    latest = Settlement.objects.filter(enddate__year=2026).latest("enddate").enddate
    assert latest <= datetime(2026, 5, 20).date()


def test_in_2023_it_adds_nothing_beside_the_worked_examples():
    from core.demo_present import seed

    with time_machine.travel(datetime(2023, 7, 12, 10, tzinfo=SHANGHAI), tick=False):
        assert seed(users={}) == {}
