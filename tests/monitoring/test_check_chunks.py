"""The monthly cross checks split by person range (monitoring.check_chunks, core.chunked): the
same alerts, notes and counters as one process, each chunk closing only its own range's
alerts; small runs stay one process; a chunk killed mid-way is resumed (by the run again or
by the sweep) with the same result."""

from datetime import timedelta

import pytest
import time_machine
from cross_chunk_data import PER_PERSON, build, change
from django.db import transaction
from django.utils import timezone

from core import chunked
from core.models import ChunkedRun, RunChunk
from monitoring import check_chunks
from monitoring.checks import check_run
from monitoring.models import Alert, AlertNote, CheckRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def persons(import_rows, caseworker_haibowan):
    return build(import_rows, caseworker_haibowan)


def snapshot(kind):
    alerts = Alert.objects.filter(kind=kind).values_list(
        "certno", "subject", "status", "period", "name", "person_id", "region_id",
        "amount", "message", "evidence",
    )  # fmt: skip
    notes = AlertNote.objects.filter(alert__kind=kind).values_list(
        "alert__certno", "alert__subject", "status_from", "status_to", "text"
    )
    return sorted(alerts), sorted(notes)


def record(r):
    return (r.rows_scanned, r.alerts_created, r.alerts_updated, r.alerts_closed, r.outcome)


def run(name, period, area=""):
    result = check_run(name=name, period=period, area=area)
    assert result.outcome == "success", result.error
    return result


def chunked_settings(settings, chunks):
    settings.CROSS_CHECK_CHUNKS = chunks
    settings.CROSS_CHECK_CHUNK_MIN_ROWS = 0


def one_process(settings, name, period, area=""):
    """The one-process result, rolled back (alerts, notes and run) once read."""
    settings.CROSS_CHECK_CHUNKS = 1
    jobs = ChunkedRun.objects.count()
    saved = transaction.savepoint()
    single = run(name, period, area)
    expected = (snapshot(name), record(single))
    assert ChunkedRun.objects.count() == jobs  # no chunks
    transaction.savepoint_rollback(saved)
    return expected


def assert_same_as_one_process(settings, name, period, area, chunks):
    expected_alerts, expected_record = one_process(settings, name, period, area)
    chunked_settings(settings, chunks)
    many = run(name, period, area)
    assert (snapshot(name), record(many)) == (expected_alerts, expected_record)
    job_run = ChunkedRun.objects.filter(kind=check_chunks.KIND).latest("pk")
    assert job_run.status == ChunkedRun.Status.DONE
    assert job_run.key == f"{name}:{period}:{area}"
    assert job_run.chunks_total >= 2
    # Every chunk's result is its part of the run's counters.
    results = list(job_run.chunks.values_list("result", flat=True))
    assert sum(r["alerts_created"] for r in results) == many.alerts_created
    many.refresh_from_db()
    assert (many.chunks_done, many.chunks_total) == (job_run.chunks_total,) * 2
    return many


@pytest.mark.parametrize("area", ["", "150302"])
@pytest.mark.parametrize("chunks", [3, 40])
@pytest.mark.parametrize("name", PER_PERSON)
def test_a_chunked_check_gives_the_alerts_and_counts_of_one_process(
    persons, import_rows, settings, name, chunks, area
):
    period = "2023-06" if name == "missed_reimbursement" else "2023"
    first = assert_same_as_one_process(settings, name, period, area, chunks)
    assert first.alerts_created > 0
    # A month later: the same starting alerts, some to close, update or add.
    change(persons, import_rows)
    again = assert_same_as_one_process(settings, name, period, area, chunks)
    assert again.alerts_closed + again.alerts_updated + again.alerts_created > 0


def test_each_chunk_closes_only_the_alerts_of_its_own_range(persons, import_rows, settings):
    chunked_settings(settings, 4)
    run("uninsured", "2023")
    change(persons, import_rows)
    again = run("uninsured", "2023")
    closed = set(
        Alert.objects.filter(kind="uninsured", status="closed").values_list("certno", flat=True)
    )
    assert closed == {persons[6].id_number, persons[9].id_number} and again.alerts_closed == 2
    job_run = ChunkedRun.objects.latest("pk")
    for chunk in job_run.chunks.all():
        inside = {
            c
            for c in closed
            if (chunk.lo is None or chunk.lo <= c) and (chunk.hi is None or c < chunk.hi)
        }
        assert chunk.result["alerts_closed"] == len(inside)


def test_small_runs_and_out_of_catalog_stay_one_process(persons, settings):
    run("uninsured", "2023")  # 18 persons < CROSS_CHECK_CHUNK_MIN_ROWS
    chunked_settings(settings, 4)
    run("out_of_catalog", "2023-06")  # per institution and month, not per person
    assert not ChunkedRun.objects.exists()
    assert CheckRun.objects.filter(chunks_total=0).count() == 2


class WorkerDied(BaseException):
    """Stands for a `kill -9` in the middle of a chunk: nothing after it runs."""


def _dies_on_the_third_chunk(monkeypatch):
    real, calls = check_chunks.check_chunk, []

    def work(params, lo, hi):
        calls.append((lo, hi))
        if len(calls) == 3:
            real(params, lo, hi)  # its alerts are written, then the worker dies uncommitted
            raise WorkerDied
        return real(params, lo, hi)

    job = chunked.JOBS[check_chunks.KIND]
    monkeypatch.setitem(
        chunked.JOBS, check_chunks.KIND, chunked.Job(**{**job.__dict__, "work": work})
    )
    return calls


def _killed_mid_chunk(settings, monkeypatch, name, period):
    chunked_settings(settings, 4)
    calls = _dies_on_the_third_chunk(monkeypatch)
    with pytest.raises(WorkerDied):
        check_run(name=name, period=period)
    job_run = ChunkedRun.objects.get()
    statuses = list(job_run.chunks.order_by("index").values_list("status", flat=True))
    assert statuses == ["done", "done", "running", "pending"]
    return job_run, calls


@pytest.mark.parametrize("name", ["uninsured", "roster_unconfirmed", "benefit_after_coverage"])
def test_a_chunk_killed_mid_way_is_resumed_with_the_same_result(
    persons, settings, monkeypatch, name
):
    period = "2023"
    expected = one_process(settings, name, period)
    job_run, calls = _killed_mid_chunk(settings, monkeypatch, name, period)
    # Two and a half minutes later the dead worker's heartbeat is stale: run it again.
    with time_machine.travel(timezone.now() + timedelta(seconds=150)):
        again = run(name, period)
    assert ChunkedRun.objects.get().pk == job_run.pk  # resumed, not started anew
    assert len(calls) == 5  # chunks 3 (again) and 4; 1 and 2 were kept
    assert list(job_run.chunks.order_by("index").values_list("attempts", flat=True)) == [
        1,
        1,
        2,
        1,
    ]
    assert (snapshot(name), record(again)) == expected
    assert CheckRun.objects.filter(outcome="interrupted").count() == 1


def test_the_sweep_sends_a_dead_workers_chunk_to_the_workers(persons, settings, monkeypatch):
    expected = one_process(settings, "uninsured", "2023")
    job_run, calls = _killed_mid_chunk(settings, monkeypatch, "uninsured", "2023")
    with time_machine.travel(timezone.now() + timedelta(seconds=150)):
        assert chunked.sweep() == 1  # eager: the task sent runs here, takes the stale chunk
        chunk = job_run.chunks.get(index=2)
        assert (chunk.status, chunk.attempts) == ("done", 2)
        job_run.refresh_from_db()
        assert job_run.status == ChunkedRun.Status.RUNNING  # the run's caller merges
        # The caller died with the chunk: the check's next run resumes and merges.
        again = run("uninsured", "2023")
    assert len(calls) == 5
    assert (snapshot("uninsured"), record(again)) == expected
    assert RunChunk.objects.filter(status="done").count() == 4


def test_other_data_since_the_crash_starts_the_chunks_over(persons, settings, monkeypatch):
    from beneficiaries.models import Enrollment

    job_run, _calls = _killed_mid_chunk(settings, monkeypatch, "uninsured", "2023")
    monkeypatch.undo()
    Enrollment.objects.create(person=persons[6], year=2023, area=persons[6].region)
    with time_machine.travel(timezone.now() + timedelta(seconds=150)):
        expected = one_process(settings, "uninsured", "2023")
        chunked_settings(settings, 4)
        again = run("uninsured", "2023")
    job_run.refresh_from_db()
    assert job_run.status == ChunkedRun.Status.FAILED  # superseded
    assert ChunkedRun.objects.filter(status="done").count() == 1
    assert snapshot("uninsured") == expected[0]
    assert again.alerts_created + again.alerts_updated + again.alerts_closed > 0


def test_the_runs_page_shows_the_chunks_done(client, supervisor_city, persons, settings):
    chunked_settings(settings, 3)
    done = run("uninsured", "2023", area="150300")
    client.force_login(supervisor_city)
    page = client.get("/monitoring/runs/").content.decode()
    assert f"分段 {done.chunks_total}/{done.chunks_total}" in page
