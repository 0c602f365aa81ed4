"""The monitoring services check the acting user themselves (DOMAIN §8): a regional (自治区)
user starts no check and works no alert; another district's user works none of this one's."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from monitoring_helpers import certno

from monitoring import services
from monitoring.checks import check_run
from monitoring.models import Alert, CheckRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(haibowan):
    return Alert.objects.create(
        kind=Alert.Kind.HIGH_COST,
        year=2023,
        period="2023",
        certno=certno(1),
        name="人员1",
        region=haibowan,
        watch=Alert.Watch.IMPOVERISHMENT,
        burden=Decimal("30000.00"),
        threshold=Decimal("22000.00"),
    )


def test_a_regional_viewer_cannot_start_a_region_wide_check(regional_viewer):
    with pytest.raises(PermissionDenied):
        check_run(name="high_cost", period="2023", by=regional_viewer)
    with pytest.raises(PermissionDenied, match="自治区级用户只能查看"):
        check_run(name="high_cost", period="2023", area="150300", by=regional_viewer)
    assert not CheckRun.objects.exists()


def test_a_district_user_runs_checks_of_their_district_only(caseworker_haibowan, supervisor_city):
    with pytest.raises(PermissionDenied):  # caseworkers hold no monitoring.run_check
        check_run(name="high_cost", period="2023", area="150302", by=caseworker_haibowan)
    assert (
        check_run(name="high_cost", period="2023", area="150302", by=supervisor_city).outcome
        == "success"
    )
    assert check_run(name="high_cost", period="2022").outcome == "success"  # the system


def test_the_runs_page_refuses_a_regional_viewers_region_wide_run(client, regional_viewer):
    client.force_login(regional_viewer)
    response = client.post(reverse("monitoring:runs"), {"check": "high_cost", "period": "2023"})
    assert response.status_code == 403
    assert not CheckRun.objects.exists()


def test_a_regional_viewer_works_no_alert(alert, regional_viewer, caseworker_wuda):
    for by in (regional_viewer, caseworker_wuda):
        with pytest.raises(PermissionDenied):
            services.alert_transition(alert=alert, status=Alert.Status.IN_PROGRESS, by=by)
        with pytest.raises(PermissionDenied):
            services.alert_add_note(alert=alert, text="x", by=by)
        with pytest.raises(PermissionDenied):
            services.alert_assign(alerts=[alert], assignee=None, by=by)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.OPEN and not alert.notes.exists()
