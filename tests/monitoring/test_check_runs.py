"""Check runs (DOMAIN §7, §9.4): recorded, never overlapping, resumable after a crash; the
run_check and export_alerts command contracts."""

import csv
import json
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from factories import PersonFactory
from monitoring_helpers import certno, srow

from core.models import AuditEvent, Region
from monitoring import alerting
from monitoring.checks import CHECKS, CheckAlreadyRunning, check_run, register
from monitoring.models import Alert, CheckRun

pytestmark = pytest.mark.django_db

RECORD_KEYS = [
    "check",
    "period",
    "rows_scanned",
    "alerts_created",
    "alerts_updated",
    "alerts_closed",
    "seconds",
    "outcome",
]


def persons_over_the_line(import_rows, count, region="150302"):
    rows = []
    for n in range(count):
        p = PersonFactory(id_number=certno(100 + n, region), region=Region.objects.get(code=region))
        rows.append(srow(f"S{region}{n}", p.id_number, "30000", insu_admdvs=region))
    import_rows(rows)


def test_a_run_is_recorded_with_its_counts_and_duration(import_rows):
    persons_over_the_line(import_rows, 3)
    run = check_run(name="high_cost", period="2023")
    run.refresh_from_db()
    assert (run.outcome, run.rows_scanned, run.alerts_created) == ("success", 3, 3)
    assert run.finished_at is not None and run.seconds >= 0


def test_a_crash_half_way_is_recorded_and_a_clean_rerun_finishes_without_duplicates(
    import_rows, monkeypatch
):
    persons_over_the_line(import_rows, 5)
    monkeypatch.setattr(alerting, "CHUNK", 2)
    real_new_alert = alerting._new_alert
    calls = {"n": 0}

    def crash_on_the_fifth(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("worker lost")
        return real_new_alert(*args, **kwargs)

    monkeypatch.setattr(alerting, "_new_alert", crash_on_the_fifth)
    crashed = check_run(name="high_cost", period="2023")
    assert crashed.outcome == "failed" and "worker lost" in crashed.error
    assert Alert.objects.count() == 4  # two whole chunks were committed
    assert crashed.alerts_created == 4

    monkeypatch.setattr(alerting, "_new_alert", real_new_alert)
    rerun = check_run(name="high_cost", period="2023")
    assert (rerun.outcome, rerun.mode, rerun.alerts_created) == ("success", "full", 1)
    assert Alert.objects.count() == 5
    assert Alert.objects.values("certno").distinct().count() == 5


def test_a_second_run_of_the_same_check_and_period_is_refused_while_one_runs():
    CheckRun.objects.create(check_name="high_cost", period="2023", heartbeat_at=timezone.now())
    with pytest.raises(CheckAlreadyRunning):
        check_run(name="high_cost", period="2023")
    # Another period or area is another run.
    assert check_run(name="high_cost", period="2022").outcome == "success"
    assert check_run(name="high_cost", period="2023", area="150304").outcome == "success"


def test_a_run_abandoned_by_a_dead_worker_is_taken_over():
    stale = CheckRun.objects.create(
        check_name="high_cost", period="2023", heartbeat_at=timezone.now() - timedelta(hours=2)
    )
    assert check_run(name="high_cost", period="2023").outcome == "success"
    stale.refresh_from_db()
    assert stale.outcome == "interrupted"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_runs_never_overlap():
    if connection.vendor != "postgresql":
        pytest.skip("row-level concurrency needs PostgreSQL")
    started = threading.Event()

    @register("slow_test_check")
    def slow(ctx):
        started.set()
        time.sleep(1.0)

    outcomes = []

    def run():
        try:
            outcomes.append(check_run(name="slow_test_check", period="2023").outcome)
        except CheckAlreadyRunning:
            outcomes.append("refused")
        finally:
            connection.close()

    try:
        first = threading.Thread(target=run)
        first.start()
        started.wait(5)
        second = threading.Thread(target=run)
        second.start()
        first.join()
        second.join()
    finally:
        CHECKS.pop("slow_test_check", None)
    assert sorted(outcomes) == ["refused", "success"]


def test_run_check_prints_the_run_record_with_exactly_the_contract_keys(import_rows):
    persons_over_the_line(import_rows, 2)
    out = StringIO()
    call_command("run_check", "high_cost", "--period", "2023", stdout=out)
    record = json.loads(out.getvalue())
    assert list(record) == RECORD_KEYS
    assert record["check"] == "high_cost" and record["period"] == "2023"
    assert (record["rows_scanned"], record["alerts_created"], record["outcome"]) == (
        2,
        2,
        "success",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["nonsense", "--period", "2023"],
        ["high_cost", "--period", "2023-13"],
        ["high_cost", "--period", "23"],
        ["high_cost", "--period", "2023", "--area", "999999"],
        # Impossible periods (§9.4): never a traceback.
        ["high_cost", "--period", "0000"],
        ["uninsured", "--period", "0000-01"],
        ["uninsured", "--period", "2023-00"],
        ["high_cost", "--period", "２０２３"],
        ["high_cost", "--period", "2023-1"],
    ],
)
def test_run_check_exits_2_for_unusable_arguments(argv):
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("run_check", *argv, stdout=out, stderr=err)
    assert exit_info.value.code == 2 and out.getvalue() == ""
    assert err.getvalue()


def test_run_check_exits_2_when_the_same_run_is_under_way():
    CheckRun.objects.create(check_name="high_cost", period="2023", heartbeat_at=timezone.now())
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("run_check", "high_cost", "--period", "2023", stdout=out, stderr=err)
    assert exit_info.value.code == 2 and out.getvalue() == ""


def test_export_alerts_prints_open_and_in_progress_alerts_sorted_by_certno(
    import_rows, supervisor_city
):
    persons_over_the_line(import_rows, 3)
    persons_over_the_line(import_rows, 1, region="150304")
    check_run(name="high_cost", period="2023")
    dismissed = Alert.objects.order_by("certno").first()
    from monitoring.services import alert_transition

    alert_transition(alert=dismissed, status="dismissed", reason="核实无误", by=supervisor_city)
    out = StringIO()
    call_command("export_alerts", "--kind", "high_cost", "--year", "2023", stdout=out)
    rows = list(csv.DictReader(StringIO(out.getvalue())))
    assert list(rows[0])[:7] == ["certno", "name", "year", "watch", "burden", "threshold", "status"]
    certnos = [r["certno"] for r in rows]
    assert certnos == sorted(certnos) and len(certnos) == 3
    assert dismissed.certno not in certnos
    assert rows[0]["watch"] == "impoverishment" and rows[0]["burden"] == "30000.00"
    assert rows[0]["threshold"] == "22000.00" and rows[0]["status"] == "open"
    assert AuditEvent.objects.filter(action="export").exists()


def test_export_alerts_area_limits_the_rows(import_rows):
    persons_over_the_line(import_rows, 2)
    persons_over_the_line(import_rows, 1, region="150304")
    check_run(name="high_cost", period="2023")
    out = StringIO()
    call_command(
        "export_alerts", "--kind", "high_cost", "--year", "2023", "--area", "150304", stdout=out
    )
    rows = list(csv.DictReader(StringIO(out.getvalue())))
    assert [r["region"] for r in rows] == ["150304"]


def test_export_alerts_exits_2_for_an_unknown_kind():
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "export_alerts", "--kind", "x", "--year", "2023", stdout=StringIO(), stderr=StringIO()
        )
    assert exit_info.value.code == 2


def test_the_monthly_beat_run_checks_the_month_just_ended():
    from datetime import date

    from monitoring.checks import default_period

    assert default_period("uninsured", date(2024, 3, 2)) == "2024-02"
    assert default_period("uninsured", date(2024, 1, 2)) == "2023-12"
    assert default_period("high_cost", date(2024, 1, 2)) == "2023"
    assert default_period("high_cost", date(2024, 5, 2)) == "2024"


def test_the_beat_schedule_of_every_check_is_in_the_database():
    from django_celery_beat.models import PeriodicTask

    from monitoring.checks import check_names

    scheduled = {
        json.loads(t.kwargs)["check"]
        for t in PeriodicTask.objects.filter(task="monitoring.tasks.run_check_task")
    }
    assert scheduled == set(check_names())
    task = PeriodicTask.objects.get(name__contains="高额费用")
    assert (task.crontab.day_of_month, task.crontab.hour) == ("2", "2")


def test_the_celery_task_runs_the_check_and_returns_its_record():
    from monitoring.tasks import run_check_task

    record = run_check_task.delay("high_cost", "2023").get()
    assert list(record) == RECORD_KEYS and record["outcome"] == "success"
