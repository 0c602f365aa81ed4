"""A real Celery worker on Redis runs the monitoring tasks against the database (CI)."""

import os

import pytest
from django.core.files import File
from factories import PersonFactory
from monitoring_helpers import certno, srow, write_csv

from monitoring.models import Alert, CheckRun, Settlement, SettlementImport
from monitoring.tasks import run_check_task, settlement_import_task


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_imports_an_uploaded_extract_and_runs_the_high_cost_scan(
    celery_worker_process, tmp_path, settings, request
):
    # The worker process reads uploads from its own MEDIA_ROOT (the configured one).
    settings.MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(settings.BASE_DIR / "media"))
    person = PersonFactory(id_number=certno(1))
    path = write_csv(tmp_path / "extract.csv", [srow("S1", person.id_number, "30000")])
    batch = SettlementImport(file_name="extract.csv")
    with open(path, "rb") as f:
        batch.file.save("ci-worker-extract.csv", File(f))
    request.addfinalizer(lambda: batch.file.delete(save=False))
    assert settlement_import_task.delay(batch.pk, False).get(timeout=60)["imported"] == 1
    batch.refresh_from_db()
    assert batch.status == "validated"
    SettlementImport.objects.filter(pk=batch.pk).update(status="applying")
    assert settlement_import_task.delay(batch.pk, True).get(timeout=60)["applied"] is True
    assert Settlement.objects.get().batch_id == batch.pk

    record = run_check_task.delay("high_cost", "2023").get(timeout=60)
    assert (record["outcome"], record["alerts_created"]) == ("success", 1)
    assert CheckRun.objects.get().outcome == "success"
    assert Alert.objects.get().person == person
