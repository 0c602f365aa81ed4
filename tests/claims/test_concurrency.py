"""Two approvals for one person at the same moment never take the year past the annual cap."""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from claims_helpers import inpatient, new_application
from django.db import connection

from claims import services
from claims.models import Application, Bill

D = Decimal


def _big_stay(institution, invoice, month):
    # destitute: 100% of s = 50,000 → 50,000 of basic assistance each.
    return inpatient(
        institution,
        invoice,
        admitted=date(2023, month, 1),
        discharged=date(2023, month, 5),
        policy="80000",
        basic="27000",
        critical="3000",
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_stay_within_the_annual_cap(
    destitute_person, city_hospital, caseworker_haibowan, supervisor_city, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are proven on PostgreSQL")
    applications = []
    for n, month in ((1, 3), (2, 4)):
        application = new_application(
            destitute_person,
            caseworker_haibowan,
            bills=[_big_stay(city_hospital, f"BIG-{n}", month)],
        )
        services.application_submit(application=application, by=caseworker_haibowan)
        applications.append(application)
    assert all(a.total == D("50000.00") for a in Application.objects.all())

    # Widen the window between reading the state and writing the result.
    real_save = services._save_results

    def slow_save(*args, **kwargs):
        time.sleep(0.5)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(services, "_save_results", slow_save)
    barrier = threading.Barrier(2)
    errors = []

    def approve(application):
        try:
            barrier.wait()
            services.application_approve(application=application, by=supervisor_city)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(a,)) for a in applications]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert set(Application.objects.values_list("status", flat=True)) == {"approved"}
    totals = sorted(Bill.objects.values_list("assistance", flat=True))
    assert totals == [D("30000.00"), D("50000.00")]
    assert sum(totals) == D("80000.00")
    numbers = set(Application.objects.values_list("form_number", flat=True))
    assert len(numbers) == 2
