"""The alert page speaks in words: status labels in its history, not status codes."""

import pytest
from django.urls import reverse
from test_alert_queue import make_alert

from monitoring.models import Alert
from monitoring.services import alert_transition

pytestmark = pytest.mark.django_db


def test_history_shows_status_labels(client, caseworker_haibowan):
    alert = make_alert(1)
    alert_transition(alert=alert, status=Alert.Status.IN_PROGRESS, by=caseworker_haibowan)
    client.force_login(caseworker_haibowan)
    html = client.get(reverse("monitoring:alert_detail", args=[alert.pk])).content.decode()
    assert f"{Alert.Status.OPEN.label} → {Alert.Status.IN_PROGRESS.label}" in html
    assert "open → in_progress" not in html


def test_check_runs_show_the_checks_name_and_the_regions_name(client, supervisor_city):
    from monitoring.models import CheckRun

    CheckRun.objects.create(
        check_name="uninsured", period="2023", area="150302", outcome=CheckRun.Outcome.SUCCESS
    )
    client.force_login(supervisor_city)
    html = client.get(reverse("monitoring:runs")).content.decode()
    assert str(Alert.Kind.UNINSURED.label) in html
    assert "<td>海勃湾区</td>" in html


def test_an_out_of_catalog_alert_shows_institution_and_month_in_their_own_columns(
    client, supervisor_city
):
    alert = make_alert(
        1,
        kind=Alert.Kind.OUT_OF_CATALOG,
        certno="",
        subject="H15030200001:2023-07",
        name="乌海市人民医院",
        watch="",
        burden=None,
        period="2023-07",
    )
    assert (alert.institution_code, alert.month) == ("H15030200001", "2023-07")
    client.force_login(supervisor_city)
    html = client.get(reverse("monitoring:index")).content.decode()
    assert '<td class="id-number">H15030200001</td>' in html
    assert '<td class="text-nowrap">2023-07</td>' in html
    assert "H15030200001:2023-07" not in html
