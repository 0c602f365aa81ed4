"""Monitoring in the browser: a caseworker uploads the platform's settlement extract and
watches its progress, a supervisor runs a check, and the alert it raised is worked.

The background jobs are held back (their `delay` records the call) and released by the test
once the browser shows them waiting, so the progress page's polling (static/js/
import_progress.js) is what brings the finished result on screen.
"""

import csv
import io
from pathlib import Path

import pytest
from browser_helpers import expect_path, submit, with_authenticator

from claims.demo import seed_institutions
from monitoring import tasks
from monitoring.models import Alert, CheckRun, Settlement, SettlementImport

pytestmark = pytest.mark.django_db(transaction=True)

DEMO = Path(__file__).resolve().parents[2] / "monitoring/demo_data/settlements_wuhai_2023.csv"


def _haibowan_extract() -> tuple[bytes, int]:
    """The demo extract's rows of 海勃湾区 (the caseworker's district)."""
    with open(DEMO, encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        rows = [row for row in reader if row["insu_admdvs"] == "150302"]
        fields = reader.fieldnames
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8"), len(rows)


class Held:
    """A Celery task whose `delay` waits for the test to release it."""

    def __init__(self, monkeypatch, task):
        self.task = task
        self.calls = []
        monkeypatch.setattr(
            task, "delay", lambda *args, **kwargs: self.calls.append((args, kwargs))
        )

    def release(self):
        assert self.calls, f"{self.task.name} was not queued"
        calls, self.calls = self.calls, []
        return [self.task.apply(args=args, kwargs=kwargs).get() for args, kwargs in calls]


def test_upload_with_progress_check_run_and_alert_work(
    journey, monkeypatch, caseworker_haibowan, supervisor_city
):
    seed_institutions()
    imports = Held(monkeypatch, tasks.settlement_import_task)
    checks = Held(monkeypatch, tasks.run_check_task)
    extract, count = _haibowan_extract()

    # Caseworker: upload, watch the check of the file, confirm, watch the import
    page = journey.sign_in(caseworker_haibowan)
    journey.goto("/monitoring/settlements/imports/")
    page.set_input_files(
        "input[name=file]",
        {"name": "settlements_150302.csv", "mimeType": "text/csv", "buffer": extract},
    )
    journey.shot("upload")
    submit(page, "main form[enctype='multipart/form-data']")
    pk = int(expect_path(page, r"/monitoring/settlements/imports/(\d+)/").group(1))
    assert page.locator("#bar.progress-bar-animated").count() == 1  # waiting, polled
    journey.shot("queued")
    with page.expect_navigation():  # the poll sees the job finished and reloads the page
        imports.release()
    batch = SettlementImport.objects.get(pk=pk)
    assert (batch.status, batch.rows, batch.imported) == ("validated", count, count)
    assert page.inner_text("#bar") == "100%"
    journey.shot("validated")

    submit(page, f"form[action='/monitoring/settlements/imports/{pk}/confirm/']")
    assert page.locator("#bar.progress-bar-animated").count() == 1
    with page.expect_navigation():
        imports.release()
    batch.refresh_from_db()
    assert batch.status == "applied"
    assert Settlement.objects.filter(batch=batch).count() == count
    journey.shot("applied")

    # Supervisor: the high-cost check of 2023
    page = journey.sign_in(with_authenticator(supervisor_city))
    journey.goto("/monitoring/runs/")
    page.select_option("select[name=check]", "high_cost")
    page.fill("input[name=period]", "2023")
    journey.shot("run-form")
    submit(page, "main form[method=post]")
    [result] = checks.release()
    run = CheckRun.objects.get(check_name="high_cost", period="2023")
    assert run.outcome != CheckRun.Outcome.RUNNING, result
    journey.goto("/monitoring/runs/")
    journey.shot("run-done")

    # The alert queue, and one alert worked: assigned, noted, its status moved on
    alerts = Alert.objects.filter(kind="high_cost")
    assert alerts.exists(), result
    alert = alerts.order_by("pk").first()
    journey.goto("/monitoring/")
    assert page.locator(f"a[href='/monitoring/alerts/{alert.pk}/']").count() >= 1
    journey.shot("alert-queue")
    journey.goto(f"/monitoring/alerts/{alert.pk}/")
    journey.shot("alert")
    page.select_option(
        "form[action='/monitoring/alerts/assign/'] select", str(caseworker_haibowan.pk)
    )
    submit(page, "form[action='/monitoring/alerts/assign/']")
    alert.refresh_from_db()
    assert alert.assignee == caseworker_haibowan

    page = journey.sign_in(caseworker_haibowan)
    journey.goto(f"/monitoring/alerts/{alert.pk}/")
    page.fill(f"form[action='/monitoring/alerts/{alert.pk}/note/'] textarea", "已电话联系家属")
    submit(page, f"form[action='/monitoring/alerts/{alert.pk}/note/']")
    status = page.locator("select[name=status] option").first.get_attribute("value")
    page.select_option("select[name=status]", status)
    page.fill(f"form[action='/monitoring/alerts/{alert.pk}/transition/'] textarea", "已核实")
    submit(page, f"form[action='/monitoring/alerts/{alert.pk}/transition/']")
    alert.refresh_from_db()
    assert alert.status == status
    assert "已电话联系家属" in page.inner_text("main")
    journey.shot("alert-worked")
