"""A worker killed mid-run (kill -9) stops the heartbeat of its job; two minutes later the job
is `interrupted` and can be started again at once — runs from the runs page and `run_check`,
settlement imports from their page — and an interrupted import writes each row once."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from monitoring_helpers import certno, srow, write_csv

from core.jobs import Heartbeat
from monitoring.checks import CheckAlreadyRunning, check_run
from monitoring.models import CheckRun, Settlement, SettlementImport
from monitoring.services import settlement_import_process

NOW = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def running(minutes_silent: float, **extra) -> CheckRun:
    extra = {"check_name": "high_cost", "period": "2023", **extra}
    return CheckRun.objects.create(heartbeat_at=NOW - timedelta(minutes=minutes_silent), **extra)


def test_a_run_silent_for_three_minutes_is_interrupted_and_run_again():
    dead = running(3)
    rerun = check_run(name="high_cost", period="2023")
    assert rerun.outcome == "success"
    dead.refresh_from_db()
    assert dead.outcome == "interrupted" and dead.finished_at == NOW
    assert "中断" in dead.error


def test_a_run_that_beat_a_minute_ago_still_blocks():
    alive = running(1)
    with pytest.raises(CheckAlreadyRunning):
        check_run(name="high_cost", period="2023")
    alive.refresh_from_db()
    assert alive.outcome == "running"


def _run_check(*argv):
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("run_check", *argv, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_run_check_reruns_an_interrupted_run_and_prints_exactly_its_record():
    running(3)
    code, out, _err = _run_check("high_cost", "--period", "2023")
    assert code == 0
    record = json.loads(out)
    assert list(record) == [
        "check",
        "period",
        "rows_scanned",
        "alerts_created",
        "alerts_updated",
        "alerts_closed",
        "seconds",
        "outcome",
    ]
    assert (record["check"], record["period"], record["outcome"]) == (
        "high_cost",
        "2023",
        "success",
    )
    assert list(CheckRun.objects.order_by("id").values_list("outcome", flat=True)) == [
        "interrupted",
        "success",
    ]


def test_run_check_still_exits_2_while_the_run_beats():
    running(1)
    code, out, _err = _run_check("high_cost", "--period", "2023")
    assert (code, out) == (2, "")


def test_the_runs_page_shows_the_dead_run_interrupted_and_starts_it_again(
    client, supervisor_city, django_capture_on_commit_callbacks
):
    client.force_login(supervisor_city)
    dead = running(3, area="150300")
    page = client.get(reverse("monitoring:runs"))
    dead.refresh_from_db()
    assert dead.outcome == "interrupted"
    assert "已中断" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("monitoring:runs"), {"check": "high_cost", "period": "2023", "area": "150300"}
        )
    assert CheckRun.objects.filter(area="150300", outcome="success").count() == 1


def test_the_runs_page_refuses_a_run_whose_twin_still_beats(
    client, supervisor_city, django_capture_on_commit_callbacks
):
    client.force_login(supervisor_city)
    running(1, area="150300")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("monitoring:runs"),
            {"check": "high_cost", "period": "2023", "area": "150300"},
            follow=True,
        )
    assert not callbacks
    assert "正在运行" in response.content.decode()


# --- Settlement imports --------------------------------------------------------------------


@pytest.fixture
def dead_apply(tmp_path, caseworker_haibowan, django_capture_on_commit_callbacks, client):
    """A validated upload whose apply worker died (the apply is one transaction: nothing
    written), its heartbeat `minutes` old."""

    def make(minutes: float) -> SettlementImport:
        client.force_login(caseworker_haibowan)
        path = write_csv(tmp_path / "extract.csv", [srow("S1", certno(1)), srow("S2", certno(2))])
        with open(path, "rb") as f:
            data = SimpleUploadedFile("extract.csv", f.read(), content_type="text/csv")
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("monitoring:imports"), {"file": data})
        batch = SettlementImport.objects.get()
        assert batch.status == "validated"
        SettlementImport.objects.filter(pk=batch.pk).update(
            status="applying", phase="reading", heartbeat_at=NOW - timedelta(minutes=minutes)
        )
        return batch

    return make


def test_an_import_silent_for_three_minutes_is_interrupted_and_confirmed_again(
    client, dead_apply, django_capture_on_commit_callbacks
):
    batch = dead_apply(3)
    page = client.get(reverse("monitoring:import_detail", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "interrupted" and page.context["can_confirm"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("monitoring:import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert (batch.status, batch.imported) == ("applied", 2)
    assert Settlement.objects.count() == 2
    # The task the broker redelivers after the kill finds nothing left to do.
    assert settlement_import_process(batch_id=batch.pk, apply=True)["outcome"] == "not_pending"
    assert Settlement.objects.count() == 2


def test_an_import_that_beat_a_minute_ago_cannot_be_confirmed_again(
    client, dead_apply, django_capture_on_commit_callbacks
):
    batch = dead_apply(1)
    page = client.get(reverse("monitoring:import_detail", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == "applying" and not page.context["can_confirm"]
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("monitoring:import_confirm", args=[batch.pk]))
    assert Settlement.objects.count() == 0
    # Nor does a duplicate task start a second apply beside the live one.
    assert settlement_import_process(batch_id=batch.pk, apply=True)["outcome"] == "not_pending"


def test_a_redelivered_task_takes_over_an_apply_whose_worker_died(dead_apply):
    batch = dead_apply(3)
    result = settlement_import_process(batch_id=batch.pk, apply=True)
    assert result["applied"] is True and result["imported"] == 2
    assert Settlement.objects.count() == 2


# --- The heartbeat thread ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_while_the_job_works():
    run = CheckRun.objects.create(check_name="high_cost", period="2023", heartbeat_at=NOW)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=True):
        with Heartbeat(CheckRun, run.pk, interval=0.05) as heart:
            assert heart.active
            threads = [t.name for t in threading.enumerate()]
            assert f"heartbeat-CheckRun-{run.pk}" in threads
            time.sleep(0.3)
            run.refresh_from_db()
            assert run.heartbeat_at > NOW + timedelta(minutes=5)
    assert f"heartbeat-CheckRun-{run.pk}" not in [t.name for t in threading.enumerate()]


def test_no_thread_inside_a_transaction_the_thread_could_not_see():
    run = CheckRun.objects.create(check_name="high_cost", period="2023", heartbeat_at=None)
    with Heartbeat(CheckRun, run.pk, interval=0.05) as heart:
        assert not heart.active
    run.refresh_from_db()
    assert run.heartbeat_at == timezone.now()
