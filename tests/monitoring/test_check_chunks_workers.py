"""A chunked monthly cross check on PostgreSQL + Redis with real worker processes (CI): the run
is taken by one worker, its chunks by both, and the result is the one-process result.

Run with DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… (skipped otherwise).
"""

import time

import pytest
from cross_chunk_data import build
from worker_processes import real_workers

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
    with real_workers(2, name="checks", queues="checks", env=CHUNK_ENV, purge=True) as workers:
        yield workers


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


class CallerDied(BaseException):
    """Stands for a `kill -9` of the run's own process: nothing after it runs."""


def test_a_dead_workers_chunk_is_done_by_a_live_worker_after_the_sweep(
    two_workers, import_rows, caseworker_haibowan, settings, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from core import chunked
    from core.models import RunChunk
    from monitoring.checks import check_run

    build(import_rows, caseworker_haibowan)
    settings.CROSS_CHECK_CHUNKS, settings.CROSS_CHECK_CHUNK_MIN_ROWS = 4, 0

    def dies(run, poll=0.1):
        assert chunked.work_one(run.pk)  # chunk 0 here; chunk 1 taken by a worker that died
        RunChunk.objects.filter(run=run, index=1).update(
            status="running", attempts=1, worker="dead-host:4242",
            heartbeat_at=timezone.now() - timedelta(minutes=3),
        )  # fmt: skip
        raise CallerDied

    with monkeypatch.context() as patched:
        patched.setattr(chunked, "dispatch", lambda run, tasks=None: 0)  # nothing sent yet
        patched.setattr(chunked, "wait", dies)
        with pytest.raises(CallerDied):
            check_run(name="uninsured", period="2023")
    job_run = ChunkedRun.objects.get()
    assert chunked.sweep() == 1  # back to pending, and a task sent to the workers
    deadline = time.monotonic() + 60
    while job_run.chunks.get(index=1).status != "done":
        assert time.monotonic() < deadline, list(job_run.chunks.values("index", "status"))
        time.sleep(0.2)
    chunk = job_run.chunks.get(index=1)
    assert chunk.attempts == 2 and not chunk.worker.startswith("dead-host")
    assert chunk.worker != chunked.worker_name()  # a worker process, not this one

    # The run's process died too: the check's next run resumes the chunks and merges.
    CheckRun.objects.update(heartbeat_at=timezone.now() - timedelta(minutes=3))
    again = check_run(name="uninsured", period="2023")
    assert again.outcome == "success", again.error
    assert ChunkedRun.objects.get().status == "done"
    assert list(job_run.chunks.order_by("index").values_list("attempts", flat=True)) == [
        1,
        2,
        1,
        1,
    ]
    resumed_alerts = _alerts("uninsured")

    Alert.objects.all().delete()
    settings.CROSS_CHECK_CHUNKS = 1
    single = check_run(name="uninsured", period="2023")
    assert _alerts("uninsured") == resumed_alerts
    assert record_of(single) == record_of(again)


def record_of(run):
    return {k: v for k, v in run.as_record().items() if k != "seconds"}
