"""Two clerks clearing one area at the same moment never take a settlement twice (PostgreSQL)."""

import threading
import time
from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from clearing_helpers import settlement
from django.db import connection

from core import idnumber
from funds import clearing as clearing_module
from funds.models import ClearedSettlement, Clearing


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_clearings_of_two_months_take_each_settlement_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are proven on PostgreSQL")
    settlement(maf_pay="100.00", setl_time=date(2023, 7, 5))
    settlement(maf_pay="30.00", setl_time=date(2023, 8, 5))

    # Widen the window between counting the rows and holding them.
    real_totals = clearing_module._institution_totals

    def slow_totals(eligible):
        rows = real_totals(eligible)
        time.sleep(0.5)
        return rows

    monkeypatch.setattr(clearing_module, "_institution_totals", slow_totals)
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def compute(period):
        try:
            barrier.wait()
            results[period] = clearing_module.clearing_compute(area_code="150300", period=period)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=compute, args=(p,)) for p in ("2023-07", "2023-08")]
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    assert ClearedSettlement.objects.count() == 2
    assert sum(r.settlements for r in results.values()) == 2
    assert sum((c.total for c in Clearing.objects.all()), Decimal(0)) == Decimal("130.00")
