"""claims.demo.seed builds applications in every state, idempotently."""

import pytest
from django.core.management import call_command

from claims.models import Application
from funds.models import Transaction

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_every_state_once():
    call_command("seed_demo", verbosity=0)
    statuses = set(Application.objects.values_list("status", flat=True))
    assert statuses == {"draft", "submitted", "approved", "rejected", "paid"}
    count = Application.objects.count()
    vouchers = Transaction.objects.filter(key__startswith="claims.bill:").count()
    assert vouchers == 1
    call_command("seed_demo", verbosity=0)
    assert Application.objects.count() == count
    assert Transaction.objects.filter(key__startswith="claims.bill:").count() == vouchers
    example_b = Application.objects.get(note__contains="example-b")
    assert str(example_b.total) == "3220.00"


def test_seeded_form_numbers_carry_the_year_of_approval():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine
    from django.utils import timezone

    with time_machine.travel(datetime(2026, 3, 10, 10, tzinfo=ZoneInfo("Asia/Shanghai"))):
        call_command("seed_demo", verbosity=0)
    decided = Application.objects.exclude(form_number="")
    assert decided.exists()
    for application in decided:
        year = timezone.localtime(application.decided_at).year
        assert f"-{year}-" in application.form_number, application.form_number
