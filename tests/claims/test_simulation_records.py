"""The 测算's streamed reads (claims.simulation_records): the persons `simulation_persons`
defines, each with all their records of the year, whatever the range cuts and batch sizes."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from claims_helpers import approved_application, example_a, settlement
from factories import IdentityFactory, PersonFactory

from claims import simulation_records
from claims.simulation import person_ranges, simulation_persons
from core.choices import Category
from core.models import Region
from monitoring.models import Settlement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime(2024, 3, 1, 4, 0, tzinfo=UTC), tick=False):
        yield


def _row(person, setl_id, day):
    return settlement(
        person, setl_id, enddate=day, policy="1000", basic="0", critical="0", maf_pay="0",
        visit="general_outpatient",
    )  # fmt: skip


@pytest.fixture
def mixed_year(haibowan, wuda_person, city_hospital, caseworker_haibowan, supervisor_city):
    """Persons the area has and has not: registered in it, registered elsewhere, known only
    from settlements (in the area by one of two rows; outside it), manual bills only."""
    baotou = PersonFactory(region=Region.objects.get(code="150200"))
    _row(baotou, "S-BT", date(2023, 3, 1))
    _row(wuda_person, "S-W1", date(2023, 3, 1))
    _row(wuda_person, "S-W2", date(2023, 5, 1))
    _row(wuda_person, "S-W22", date(2022, 5, 1))  # another year
    _row(wuda_person, "S-X1", date(2023, 4, 1))
    _row(wuda_person, "S-X2", date(2023, 6, 1))
    Settlement.objects.filter(setl_id__in=["S-X1", "S-X2"]).update(certno="150304199001011234")
    Settlement.objects.filter(setl_id="S-X2").update(insu_admdvs_id="150202")
    outsider = _row(baotou, "S-Y", date(2023, 4, 1))
    Settlement.objects.filter(pk=outsider.pk).update(certno="150202199001011238")
    manual_only = PersonFactory(region=haibowan)
    IdentityFactory(person=manual_only, category=Category.SUBSISTENCE, start=date(2020, 1, 1))
    approved_application(
        manual_only, caseworker_haibowan, supervisor_city, bills=[example_a(city_hospital)]
    )
    return {"stranger": "150304199001011234", "wuda": wuda_person.id_number}


def _read(lo=None, hi=None):
    area = Region.objects.get(code="150300")
    return {
        certno: [bill.id for bill in bills]
        for certno, bills, _held in simulation_records.person_years(area, 2023, lo, hi)
    }


@pytest.mark.parametrize("size", [1, 2, 100])
def test_the_ranges_read_exactly_the_persons_of_the_area_once(mixed_year, settings, size):
    expected = set(simulation_persons(Region.objects.get(code="150300"), 2023))
    read = {}
    for lo, hi in person_ranges(2023, size):
        for certno, bills in _read(lo, hi).items():
            assert certno not in read
            read[certno] = bills
    assert set(read) == expected and len(expected) == 3
    assert read[mixed_year["wuda"]] == ["setl:S-W1", "setl:S-W2"]


def test_a_person_known_only_from_settlements_brings_every_row_of_the_year(mixed_year):
    # One row in the area makes the person the area's; the other row (insu_admdvs Baotou)
    # is theirs too, as the replay has it.
    assert _read()[mixed_year["stranger"]] == ["setl:S-X1", "setl:S-X2"]


def test_batches_of_one_person_and_one_row_read_the_same(mixed_year, monkeypatch):
    whole = _read()
    monkeypatch.setattr(simulation_records, "FETCH_ROWS", 1)
    monkeypatch.setattr(simulation_records, "BATCH_PERSONS", 1)
    assert _read() == whole
