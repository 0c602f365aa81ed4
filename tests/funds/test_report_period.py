"""The fund report's `period`: a malformed one is refused with 400 and the error on the page
(in the portal layout), on screen, for Excel and for PDF — never silently another month."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from core.models import AuditEvent

pytestmark = pytest.mark.django_db

BAD = ["2023-13", "abc", "0000", "2023-00", "2023-7-1", "２０２３-07", "20237", "-2023"]
VIEWS = ["funds:report", "funds:report_xlsx", "funds:report_pdf"]


@pytest.fixture
def books(post_income):
    post_income("1000.00", booked_on=date(2023, 7, 3))
    post_income("20.00", booked_on=date(2023, 1, 3))


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("period", BAD)
@time_machine.travel("2023-07-20 10:00 +0800", tick=False)
def test_a_malformed_period_is_refused_with_400_and_its_error(
    client, accountant_city, books, view, period
):
    client.force_login(accountant_city)
    response = client.get(reverse(view, args=["150300"]), {"period": period})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "报表期间" in page and "无效" in page
    assert 'id="id_period"' in page  # the report page, in the portal layout
    assert "收支情况表（" not in page  # no report of another month
    assert "base.html" in [t.name for t in response.templates]


@time_machine.travel("2023-07-20 10:00 +0800", tick=False)
def test_a_refused_export_is_not_audited_as_an_export(client, accountant_city, books):
    client.force_login(accountant_city)
    client.get(reverse("funds:report_xlsx", args=["150300"]), {"period": "2023-13"})
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


@pytest.mark.parametrize(
    "period, title", [("2023-01", "2023年1月"), ("2023-1", "2023年1月"), ("2023", "2023年度")]
)
@time_machine.travel("2023-07-20 10:00 +0800", tick=False)
def test_a_valid_period_shows_that_period(client, accountant_city, books, period, title):
    client.force_login(accountant_city)
    response = client.get(reverse("funds:report", args=["150300"]), {"period": period})
    assert response.status_code == 200
    assert response.context["report"].title == title


@time_machine.travel("2023-07-20 10:00 +0800", tick=False)
def test_no_period_shows_the_latest_month(client, accountant_city, books):
    client.force_login(accountant_city)
    response = client.get(reverse("funds:report", args=["150300"]))
    assert response.status_code == 200
    assert response.context["report"].title == "2023年7月"


@time_machine.travel("2023-07-20 10:00 +0800", tick=False)
def test_valid_exports_still_download(client, accountant_city, books):
    client.force_login(accountant_city)
    xlsx = client.get(reverse("funds:report_xlsx", args=["150300"]), {"period": "2023-07"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = client.get(reverse("funds:report_pdf", args=["150300"]), {"period": "2023"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_another_areas_report_is_404_even_with_a_bad_period(client, accountant_city):
    client.force_login(accountant_city)
    response = client.get(reverse("funds:report", args=["150200"]), {"period": "abc"})
    assert response.status_code == 404
