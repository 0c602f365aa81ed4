"""Re-assessment after a roster import (DOMAIN §11, §9.1): chunked, shown on the roster page."""

import csv
import io
from datetime import date

import pytest
import time_machine
from claims_helpers import approved_application, example_a
from factories import IdentityFactory, PersonFactory

from beneficiaries.models import RosterBatch
from beneficiaries.roster_services import roster_import
from claims import corrections
from claims.models import Proposal, ReassessmentRun
from core.choices import Category, Department
from core.models import Region

pytestmark = pytest.mark.django_db
HEADER = ["姓名", "公民身份号码", "救助对象类别", "认定日期", "终止日期", "行政区划代码"]


@pytest.fixture(autouse=True)
def _november_2023():
    with time_machine.travel(date(2023, 11, 20), tick=False):
        yield


def _roster(persons, as_of):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for person in persons:
        writer.writerow(
            [person.name, person.id_number, "低保边缘家庭成员", "2023-01-01", "", "150302"]
        )
    return roster_import(
        name="roster.csv",
        data=out.getvalue().encode("utf-8-sig"),
        department=Department.CIVIL_AFFAIRS,
        region=Region.objects.get(code="150302"),
        as_of=as_of,
        by=None,
    )


@pytest.fixture
def assisted(haibowan, city_hospital, caseworker_haibowan, supervisor_city):
    """Two 低保边缘 persons of the civil-affairs roster, each paid example A (3,500) in March."""
    persons = []
    for n in range(2):
        person = PersonFactory(region=haibowan)
        IdentityFactory(person=person, category=Category.NEAR_SUBSISTENCE, start=date(2023, 1, 1))
        approved_application(
            person,
            caseworker_haibowan,
            supervisor_city,
            bills=[example_a(city_hospital, invoice=f"INV-{n}")],
        )
        persons.append(person)
    return persons


def test_a_roster_that_changes_nothing_proposes_nothing(
    assisted, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        summary = _roster(assisted, date(2023, 10, 1))
    assert summary["unchanged"] == 2
    assert ReassessmentRun.objects.count() == 0
    assert Proposal.objects.count() == 0


def test_a_roster_re_assesses_in_chunks_and_its_page_shows_the_progress(
    assisted, django_capture_on_commit_callbacks, monkeypatch, client, caseworker_haibowan
):
    monkeypatch.setattr(corrections, "CHUNK_SIZE", 1)
    # The roster of 1 March no longer lists either person: both end on 28 February, so the
    # March stays are no longer covered (P §15) and both payments are to be recovered.
    with django_capture_on_commit_callbacks(execute=True):
        summary = _roster([], date(2023, 3, 1))
    assert summary["terminated"] == 2
    run = ReassessmentRun.objects.get()
    batch = RosterBatch.objects.get()
    assert (run.roster_batch, run.chunks_total, run.chunks_done, run.status) == (
        batch,
        2,
        2,
        ReassessmentRun.Status.DONE,
    )
    assert sorted(p.difference for p in Proposal.objects.all()) == [-3500, -3500]

    client.force_login(caseworker_haibowan)
    page = client.get(f"/beneficiaries/rosters/{batch.pk}/").content.decode()
    assert "待遇复核" in page and "2/2" in page
