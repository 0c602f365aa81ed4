"""The alert queue sorts by its columns and its Excel export keeps that order and filter."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from test_alert_queue import make_alert

from monitoring.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts():
    return [
        make_alert(1, burden=Decimal("25000.00")),
        make_alert(2, burden=Decimal("40000.00")),
        make_alert(3, burden=Decimal("30000.00"), status=Alert.Status.DISMISSED),
    ]


def test_the_queue_sorts_by_burden_both_ways(client, supervisor_city, alerts):
    client.force_login(supervisor_city)
    url = reverse("monitoring:index")
    up = [a.burden for a in client.get(url, {"sort": "burden"}).context["page"]]
    assert up == [Decimal("25000.00"), Decimal("40000.00")]  # the dismissed one is filtered out
    down = client.get(url, {"sort": "-burden", "status": "all"}).context["page"]
    assert [a.name for a in down] == ["人员2", "人员3", "人员1"]


def test_the_export_keeps_the_queues_filter_and_order(client, supervisor_city, alerts):
    client.force_login(supervisor_city)
    html = client.get(reverse("monitoring:index"), {"sort": "-burden"}).content.decode()
    assert "sort=-burden" in html
    response = client.get(reverse("monitoring:alert_export"), {"sort": "-burden"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["人员2", "人员1"]


def test_a_bad_filter_falls_back_to_the_open_queue(client, supervisor_city, alerts):
    client.force_login(supervisor_city)
    page = client.get(reverse("monitoring:index"), {"year": "abc"}).context["page"]
    assert {a.name for a in page} == {"人员1", "人员2"}


def test_the_burden_column_sorts_by_what_it_shows(client, supervisor_city, alerts):
    make_alert(4, kind=Alert.Kind.MISSED_REIMBURSEMENT, burden=None, amount=Decimal("35000.00"))
    client.force_login(supervisor_city)
    page = client.get(reverse("monitoring:index"), {"sort": "-burden"}).context["page"]
    assert [a.name for a in page] == ["人员2", "人员4", "人员1"]
