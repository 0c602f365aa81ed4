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
