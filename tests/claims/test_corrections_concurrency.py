"""Concurrent re-assessments of one person produce one proposal set (DOMAIN §11)."""

import threading
import time
from datetime import date

import pytest
import time_machine
from claims_helpers import approved_application, example_a, example_b
from django.db import connection

from claims import corrections
from claims.models import Proposal
from monitoring.models import Alert


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_re_assessments_of_one_person_produce_one_proposal_set(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city, monkeypatch
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are proven on PostgreSQL")
    with time_machine.travel(date(2023, 11, 20), tick=False):
        person = near_subsistence_person
        approved_application(
            person,
            caseworker_haibowan,
            supervisor_city,
            bills=[example_a(city_hospital), example_b(city_hospital)],
        )
        identity = person.identities.get()
        # Ended in February, recorded directly (no after-commit task): the threads re-assess.
        identity.end = date(2023, 2, 10)
        identity.save(update_fields=["end"])

        # Widen the window between reading the live proposals and writing new ones.
        real = corrections.person_year_records

        def slow(*args, **kwargs):
            records = real(*args, **kwargs)
            time.sleep(0.5)
            return records

        monkeypatch.setattr(corrections, "person_year_records", slow)
        barrier = threading.Barrier(4)
        errors = []

        def reassess():
            try:
                barrier.wait()
                corrections.reassess_person_year(person=person, year=2023)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=reassess) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors
    live = Proposal.objects.exclude(alert__status=Alert.Status.SUPERSEDED)
    # One recovery per bill (A 3,500, B 3,220), however many ran at once.
    assert Proposal.objects.count() == live.count() == 2
    assert sorted(live.values_list("difference", flat=True)) == [-3500, -3220]
    assert Alert.objects.filter(kind=Alert.Kind.REASSESSMENT).count() == 2
