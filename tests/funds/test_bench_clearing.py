"""`bench_clearing` (DOMAIN §10 targets) runs end to end on a tiny size (PostgreSQL only)."""

import io
import json
from datetime import datetime

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from core import idnumber
from funds.models import Clearing, Transaction

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False)
def test_bench_clearing_prints_the_figures_on_a_tiny_size():
    out = io.StringIO()
    args = ["--persons", "300", "--settlements", "3000", "--lines", "20", "--force"]
    call_command("bench_clearing", *args, stdout=out, stderr=io.StringIO())
    figures = json.loads(out.getvalue())
    # June of a year spread over 365 days: 30 days' rows, the only ones with assistance.
    assert 200 <= figures["eligible_settlements"] == figures["month_rows"] <= 300
    assert figures["compute_institutions"] == 50
    assert len(figures["compute_all_runs"]) == len(figures["bare_group_by_all_runs"]) == 3
    assert figures["compute_ratio"] > 0 and figures["pay_seconds"] > 0
    # The computation was a dry run; the payment really posted, once per payee and kind.
    assert not Clearing.objects.filter(year=2023, month=6).exists()
    paid = Clearing.objects.get(status=Clearing.Status.PAID)
    assert paid.lines.count() == 20
    assert (
        Transaction.objects.filter(key__startswith=f"clearing:150300:{paid.period}:").count() == 40
    )
    # A second run reuses the generated rows.
    out = io.StringIO()
    call_command("bench_clearing", *args, stdout=out, stderr=io.StringIO())
    assert json.loads(out.getvalue())["generated"] is False


def test_bench_clearing_refuses_a_database_not_named_bench(settings):
    if "bench" in connection.settings_dict["NAME"]:
        pytest.skip("the test database's name contains 'bench'")
    with pytest.raises(CommandError):
        call_command("bench_clearing", "--persons", "10", "--settlements", "10")
