"""A chunked monthly cross check on PostgreSQL + Redis with real worker processes (CI): the run
is taken by one worker, its chunks by both, and the result is the one-process result.

Run with DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… (skipped otherwise).
"""

import os
import subprocess
import sys
import time

import pytest
from cross_chunk_data import build

from core.models import ChunkedRun
from monitoring import check_chunks
from monitoring.models import Alert, CheckRun

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CHUNK_ENV = {"CROSS_CHECK_CHUNKS": "4", "CROSS_CHECK_CHUNK_MIN_ROWS": "0"}


@pytest.fixture
def two_workers(django_db_serialized_rollback, transactional_db, settings):
    """Two `celery worker` processes on the `checks` queue, cutting checks into 4 chunks."""
    from django.db import connection

    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://… (runs in CI on PostgreSQL + Redis)")
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, **CHUNK_ENV, "DATABASE_URL": url, "SECRET_KEY": settings.SECRET_KEY}
    app.conf.task_always_eager = False
    app.control.purge()
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo"),
                *("-Q", "checks", "-l", "warning"),
                *("-n", f"checks{n}-{os.getpid()}@%h", "--without-gossip", "--without-mingle"),
            ],
            env=env,
        )
        for n in (1, 2)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=1)) < 2:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                pytest.fail("the Celery workers did not start")
        yield workers
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)


def _alerts(kind):
    return sorted(
        Alert.objects.filter(kind=kind).values_list(
            "certno", "subject", "status", "amount", "message", "region_id"
        )
    )


@pytest.mark.parametrize("name", ["uninsured", "benefit_after_coverage"])
def test_a_chunked_check_on_the_workers_gives_the_one_process_result(
    two_workers, import_rows, caseworker_haibowan, settings, name
):
    from monitoring.checks import check_run
    from monitoring.tasks import run_check_task

    build(import_rows, caseworker_haibowan)
    record = run_check_task.delay(name, "2023").get(timeout=180)
    assert record["outcome"] == "success", record
    job_run = ChunkedRun.objects.get(kind=check_chunks.KIND)
    assert (job_run.status, job_run.chunks_total) == ("done", 4)
    chunks = list(job_run.chunks.all())
    assert {c.status for c in chunks} == {"done"} and {c.attempts for c in chunks} == {1}
    run = CheckRun.objects.get()
    assert (run.chunks_done, run.chunks_total) == (4, 4)
    assert run.alerts_created == sum(c.result["alerts_created"] for c in chunks) > 0
    chunked_alerts = _alerts(name)

    Alert.objects.all().delete()
    settings.CROSS_CHECK_CHUNKS = 1  # this process, one chunk
    single = check_run(name=name, period="2023")
    assert _alerts(name) == chunked_alerts
    assert {k: v for k, v in single.as_record().items() if k != "seconds"} == {
        k: v for k, v in record.items() if k != "seconds"
    }
