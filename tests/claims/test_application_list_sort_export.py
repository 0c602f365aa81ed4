"""The application list and the approval queue: sort by column, export what is shown."""

import io
from datetime import date

import openpyxl
import pytest
import time_machine
from claims_helpers import example_a, new_application
from django.urls import reverse

from claims import services
from core import idnumber

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _july():
    with time_machine.travel(date(2023, 7, 12), tick=False):
        yield


@pytest.fixture
def three(near_subsistence_person, destitute_person, city_hospital, caseworker_haibowan):
    rows = []
    for n, (person, day) in enumerate(
        [
            (near_subsistence_person, date(2023, 6, 5)),
            (destitute_person, date(2023, 6, 1)),
            (near_subsistence_person, date(2023, 6, 9)),
        ]
    ):
        application = new_application(
            person,
            caseworker_haibowan,
            received_on=day,
            bills=[example_a(city_hospital, f"INV-{n}")],
        )
        rows.append(services.application_submit(application=application, by=caseworker_haibowan))
    return rows


def received(response):
    return [a.received_on.day for a in response.context["page"].object_list]


def test_queue_is_oldest_first_and_sorts_by_a_column(client, supervisor_city, three):
    client.force_login(supervisor_city)
    url = reverse("claims:queue")
    assert received(client.get(url)) == [1, 5, 9]
    assert received(client.get(url, {"sort": "-received"})) == [9, 5, 1]
    assert received(client.get(url, {"sort": "nonsense"})) == [1, 5, 9]


def test_application_list_sorts_by_applicant(client, caseworker_haibowan, three):
    client.force_login(caseworker_haibowan)
    page = client.get(reverse("claims:index"), {"sort": "person"}).context["page"]
    names = [a.person.name for a in page.object_list]
    assert names == sorted(names)


def test_export_has_the_same_filter_and_order_with_masked_ids(
    client, caseworker_haibowan, three, destitute_person
):
    client.force_login(caseworker_haibowan)
    response = client.get(
        reverse("claims:index"),
        {"from": "2023-06-02", "sort": "-received", "export": "xlsx"},
    )
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    header, *rows = book.worksheets[0].iter_rows(values_only=True)
    assert header[6] == "受理日期" and header[2] == "公民身份号码"
    assert [r[6].date() for r in rows] == [date(2023, 6, 9), date(2023, 6, 5)]
    assert rows[0][2] == idnumber.mask(three[2].person.id_number)
    assert rows[0][8] == three[2].get_status_display()  # the label, not "submitted"


def test_the_list_links_to_its_export_with_filters(client, caseworker_haibowan, three):
    client.force_login(caseworker_haibowan)
    html = client.get(reverse("claims:index"), {"status": "submitted"}).content.decode()
    assert "status=submitted&amp;export=xlsx" in html or "export=xlsx&amp;status" in html
