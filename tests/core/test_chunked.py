"""The chunked-job runner (core.chunked) with a job of the test's own: claiming, progress,
stale chunks back to pending, resuming, one merge, failures."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core import chunked
from core.models import ChunkedRun, RunChunk

pytestmark = pytest.mark.django_db
KIND = "test_sum"


@pytest.fixture
def job(monkeypatch):
    """A job summing the numbers of its range; records its calls and merges."""
    log = {"work": [], "merge": [], "fail": [], "progress": []}

    def work(params, lo, hi):
        log["work"].append((lo, hi))
        if "explode" in params and params["explode"] == lo:
            raise ValueError("坏数据")
        numbers = [
            n for n in params["numbers"] if (lo is None or n >= lo) and (hi is None or n < hi)
        ]
        return {"count": len(numbers)}

    def merge(run, results):
        log["merge"].append(sum(r["count"] for r in results))

    registered = chunked.Job(
        kind=KIND,
        queue="checks",
        work=work,
        merge=merge,
        fail=lambda run, error: log["fail"].append(error),
        progress=lambda run, done, total: log["progress"].append((done, total)),
    )
    monkeypatch.setitem(chunked.JOBS, KIND, registered)
    return log


PARAMS = {"numbers": ["a", "b", "c", "d", "e", "f"]}
RANGES = chunked.ranges_of(["c", "e"])  # (None, c), (c, e), (e, None)


def test_ranges_are_half_open_and_cover_everything():
    assert chunked.ranges_of(["e", "c", "c"]) == [(None, "c"), ("c", "e"), ("e", None)]
    assert chunked.ranges_of([]) == [(None, None)]
    assert chunked.every_nth(["a", "b", "c", "d", "e"], 2) == ["c", "e"]


def test_every_chunk_is_done_once_and_the_merge_runs_once(job):
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    assert chunked.dispatch(run) == 3  # eager: inline
    assert job["work"] == RANGES
    assert job["progress"] == [(1, 3), (2, 3), (3, 3)]
    assert job["merge"] == [6]
    run.refresh_from_db()
    assert run.status == ChunkedRun.Status.DONE and run.finished_at
    assert chunked.finish(run) is False  # a late finisher does not merge again
    assert chunked.work_one(run.pk) is False
    assert job["merge"] == [6]


def test_a_stale_chunk_goes_back_to_pending_and_is_resumed(job):
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    assert chunked.work_one(run.pk)  # chunk 0 done
    dead = run.chunks.get(index=1)
    RunChunk.objects.filter(pk=dead.pk).update(
        status="running", attempts=1, worker="dead:1", heartbeat_at=timezone.now()
    )
    assert chunked.work_one(run.pk)  # takes chunk 2; 1 is someone else's, still beating
    assert chunked.requeue_stale(run) == 0
    assert job["merge"] == []
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        # Started again with the same key and params: the same run, chunk 1 pending again.
        again = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
        assert again.pk == run.pk
        assert again.progress() == (2, 3)
        assert chunked.dispatch(again) == 1
    assert job["work"] == [(None, "c"), ("e", None), ("c", "e")]  # nothing redone
    assert job["merge"] == [6]
    assert list(run.chunks.values_list("attempts", flat=True)) == [1, 2, 1]


def test_the_sweep_requeues_dead_workers_chunks_and_sends_them(job):
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    chunked.work_one(run.pk)
    chunked.work_one(run.pk)
    RunChunk.objects.filter(run=run, index=2).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert chunked.sweep() == 1
    assert job["merge"] == [6]


def test_the_sweep_merges_a_run_whose_merge_was_lost(job):
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    for chunk in run.chunks.all():
        RunChunk.objects.filter(pk=chunk.pk).update(status="done", result={"count": 2})
    assert chunked.sweep() == 0
    assert job["merge"] == [6]


def test_other_params_supersede_an_unfinished_run(job):
    old = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    chunked.work_one(old.pk)
    new = chunked.start(KIND, key="k", params={"numbers": ["a"]}, ranges=[(None, None)])
    old.refresh_from_db()
    assert new.pk != old.pk and old.status == "failed" and "取代" in old.error
    chunked.dispatch(new)
    assert job["merge"] == [1]


def test_a_failing_chunk_fails_the_run_once(job):
    run = chunked.start(KIND, key="k", params={**PARAMS, "explode": "c"}, ranges=RANGES)
    chunked.dispatch(run)
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "坏数据"
    assert job["fail"] == ["坏数据"] and job["merge"] == []
    assert run.chunks.get(index=1).status == "failed"


def test_wait_works_the_chunks_and_hands_back_results_for_its_caller_to_merge(job, monkeypatch):
    monkeypatch.setitem(
        chunked.JOBS, KIND, chunked.Job(**{**chunked.JOBS[KIND].__dict__, "merge": None})
    )
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    assert chunked.wait(run) == [{"count": 2}, {"count": 2}, {"count": 2}]
    run.refresh_from_db()
    assert run.status == "merging"
    chunked.complete(run)
    run.refresh_from_db()
    assert run.status == "done"


def test_wait_raises_when_a_chunk_failed(job, monkeypatch):
    monkeypatch.setitem(
        chunked.JOBS, KIND, chunked.Job(**{**chunked.JOBS[KIND].__dict__, "merge": None})
    )
    run = chunked.start(KIND, key="k", params={**PARAMS, "explode": None}, ranges=RANGES)
    with pytest.raises(chunked.ChunkedJobFailed, match="坏数据"):
        chunked.wait(run)


def test_quantile_boundaries_balance_rows():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE keys_test (k varchar(10))")
        for n in range(100):
            cursor.execute("INSERT INTO keys_test VALUES (%s)", [f"{n:03d}"])
    bounds = chunked.quantile_boundaries("SELECT k FROM keys_test", [], 4)
    # The first key of each quarter (PostgreSQL's percentile_disc may land one key earlier).
    assert [int(b) for b in bounds] in ([25, 50, 75], [24, 49, 74])
    assert chunked.quantile_boundaries("SELECT k FROM keys_test", [], 1) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_claims_at_once_take_different_chunks(job):
    """SELECT … FOR UPDATE SKIP LOCKED: a second claimer skips the chunk being claimed."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    taken, barrier = [], threading.Barrier(2)

    def claim():
        try:
            barrier.wait()
            chunk = chunked._claim(run)
            taken.append(chunk.index if chunk else None)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == [0, 1]


def test_the_sweep_resends_stale_chunks_of_a_run_its_caller_merges(job, monkeypatch):
    monkeypatch.setitem(
        chunked.JOBS, KIND, chunked.Job(**{**chunked.JOBS[KIND].__dict__, "merge": None})
    )
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=RANGES)
    chunked.work_one(run.pk)
    RunChunk.objects.filter(run=run, index=1).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    assert chunked.sweep() == 1  # eager: the task sent takes the stale chunk here
    assert run.chunks.get(index=1).attempts == 2
    run.refresh_from_db()
    assert run.status == "running"  # its caller merges, through wait()
    assert [r["count"] for r in chunked.wait(run)] == [2, 2, 2]


def test_an_atomic_chunk_taken_over_meanwhile_keeps_none_of_its_writes(job, monkeypatch):
    """A chunk taken for dead while its worker still ran: that worker's writes roll back."""
    from core.models import Region

    def slow_work(params, lo, hi):
        Region.objects.filter(code="150302").update(name="改过")
        # Meanwhile the chunk was requeued and taken by another worker (attempt 2).
        RunChunk.objects.filter(status="running").update(attempts=2, worker="other:1")
        return {"count": 0}

    atomic = chunked.Job(kind=KIND, queue="checks", work=slow_work, atomic=True)
    monkeypatch.setitem(chunked.JOBS, KIND, atomic)
    run = chunked.start(KIND, key="k", params=PARAMS, ranges=[(None, None)])
    assert chunked.work_one(run.pk)
    assert Region.objects.get(code="150302").name != "改过"
    chunk = run.chunks.get()
    # Not recorded as done (the takeover, simulated on this connection, rolled back with it).
    assert (chunk.status, chunk.result) == ("running", None)
