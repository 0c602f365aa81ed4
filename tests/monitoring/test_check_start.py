"""Starting a check is one service (`monitoring.services.check_start`): it checks the user's
role and region itself, refuses a second run under way, and queues the worker on commit."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.models import Region
from monitoring.checks import CheckAlreadyRunning
from monitoring.models import CheckRun
from monitoring.services import check_start

pytestmark = pytest.mark.django_db


def test_a_supervisor_queues_a_run_of_their_own_city_on_commit(
    supervisor_city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        check_start(name="high_cost", period="2023-06", by=supervisor_city)
    assert len(callbacks) == 1
    run = CheckRun.objects.get()
    assert (run.check_name, run.period, run.area, run.started_by) == (
        "high_cost",
        "2023-06",
        "150300",
        supervisor_city,
    )


def test_nothing_is_queued_until_commit(supervisor_city, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        check_start(name="high_cost", period="2023", by=supervisor_city)
    assert len(callbacks) == 1
    assert not CheckRun.objects.exists()


def test_another_citys_area_is_refused(supervisor_city, django_capture_on_commit_callbacks):
    other = Region.objects.exclude(code__startswith="1503").filter(level=Region.Level.CITY).first()
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(PermissionDenied):
        check_start(name="high_cost", period="2023", area=other, by=supervisor_city)
    assert callbacks == []


def test_a_regional_user_starts_no_check(regional_viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(PermissionDenied):
        check_start(name="high_cost", period="2023", by=regional_viewer)
    assert callbacks == []


def test_a_caseworker_without_the_role_is_refused(caseworker_haibowan):
    with pytest.raises(PermissionDenied):
        check_start(name="high_cost", period="2023", by=caseworker_haibowan)


def test_a_run_under_way_refuses_a_second(supervisor_city, django_capture_on_commit_callbacks):
    CheckRun.objects.create(
        check_name="high_cost", period="2023", area="150300", heartbeat_at=timezone.now()
    )
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(CheckAlreadyRunning):
        check_start(name="high_cost", period="2023", by=supervisor_city)
    assert callbacks == []


def test_a_run_whose_worker_died_no_longer_blocks(
    supervisor_city, django_capture_on_commit_callbacks
):
    stale = CheckRun.objects.create(
        check_name="high_cost",
        period="2023",
        area="150300",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks() as callbacks:
        check_start(name="high_cost", period="2023", by=supervisor_city)
    assert len(callbacks) == 1
    stale.refresh_from_db()
    assert stale.outcome == CheckRun.Outcome.INTERRUPTED


@pytest.mark.parametrize(("name", "period"), [("no_such_check", "2023"), ("high_cost", "2023-13")])
def test_an_unknown_check_or_bad_period_is_refused(supervisor_city, name, period):
    with pytest.raises(ValidationError):
        check_start(name=name, period=period, by=supervisor_city)
