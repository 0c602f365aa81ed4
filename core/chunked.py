"""Jobs split by person range into chunks that any Celery worker takes (a high-cost scan, 测算).

One `ChunkedRun` row per job and one `RunChunk` row per person range [lo, hi):

    run = chunked.start("sim", key=..., params={...}, ranges=chunked.ranges_of(keys, 8))
    chunked.dispatch(run)            # one task per pending chunk, on the job's queue

- A worker claims a pending chunk (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, a
  conditional update everywhere), beats its `heartbeat_at` while it works (core.jobs) and
  stores the chunk's result JSON. Progress is done chunks / all chunks.
- A chunk whose heartbeat is older than `JOB_STALE_AFTER_SECONDS` belongs to a dead worker:
  it goes back to pending (`requeue_stale`, also run by the beat's `chunked_sweep_task`).
  Starting the same kind and key again resumes the unfinished run: done chunks are kept.
- The merge runs exactly once: the job's `merge` is called by whoever wins the conditional
  update running → merging once every chunk is done (the last chunk to finish, or the sweep),
  inside one transaction with the status change. A job without `merge` is merged by its
  caller: `wait(run)` works on chunks itself, then waits for the others and returns the
  results in range order (a check run, which must finish synchronously).
- A job whose chunks write (`atomic=True`, the monthly cross checks) does each chunk in one
  transaction with its result: a chunk redone after a crash finds nothing of its first try,
  and a chunk taken for dead while its worker still ran is rolled back when it finishes.

In eager Celery (embedded mode, tests) `dispatch` runs every chunk inline.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.jobs import Heartbeat, stale_before
from core.models import ChunkedRun, RunChunk

log = logging.getLogger(__name__)

Range = tuple[str | None, str | None]


class ChunkedJobFailed(Exception):
    """A chunk of the run failed; the run is marked failed with the chunk's error."""


@dataclass(frozen=True)
class Job:
    """A kind of chunked job. `work(params, lo, hi) -> dict` does one range (JSON result);
    `merge(run, results)` combines them (None: the caller merges through `wait`);
    `fail(run, error)` and `progress(run, done, total)` report to the job's own record;
    `atomic`: the chunk's writes and its result commit together (or not at all)."""

    kind: str
    queue: str
    work: Callable[[dict, str | None, str | None], dict]
    merge: Callable[[ChunkedRun, list[dict]], None] | None = None
    fail: Callable[[ChunkedRun, str], None] | None = None
    progress: Callable[[ChunkedRun, int, int], None] | None = None
    atomic: bool = False


# Filled when the apps start (core never imports them): claims.apps registers the 测算 job
# (claims.simulation_chunks), monitoring.apps the high-cost scan (monitoring.scan_chunks) and
# the monthly cross checks (monitoring.check_chunks).
JOBS: dict[str, Job] = {}
# The Celery task that takes a chunk (core.tasks.chunk_task, which imports this module): set by
# core.tasks itself when core.apps imports it.
CHUNK_TASK: list = []


def register(job: Job) -> Job:
    JOBS[job.kind] = job
    return job


def set_chunk_task(task) -> None:
    CHUNK_TASK[:] = [task]


def job_of(run: ChunkedRun) -> Job:
    return JOBS[run.kind]


# --- Ranges ---------------------------------------------------------------------------------


def ranges_of(boundaries: Sequence[str]) -> list[Range]:
    """Half-open ranges cut at the sorted, distinct `boundaries`; the ends are open."""
    cuts = sorted(set(boundaries))
    return list(zip([None, *cuts], [*cuts, None], strict=True))


def every_nth(sorted_keys: Sequence[str], size: int) -> list[str]:
    """Boundaries that cut a sorted list of keys into ranges of `size` keys."""
    return [sorted_keys[i] for i in range(size, len(sorted_keys), size)]


def quantile_boundaries(sql: str, params: Sequence, chunks: int) -> list[str]:
    """Boundaries cutting the keys that `sql` returns (one column, duplicates allowed: each
    row weighs one) into at most `chunks` ranges of about equal rows: the first key of each
    tile but the first (a key equal to the smallest would only cut off an empty range)."""
    if chunks <= 1:
        return []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            fractions = ", ".join(str(i / chunks) for i in range(chunks))
            cursor.execute(
                f"WITH keys(k) AS ({sql}) "
                f"SELECT percentile_disc(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY k) FROM keys",
                list(params),
            )
            found = cursor.fetchone()[0] or []
        else:
            cursor.execute(
                f"WITH keys(k) AS ({sql}) SELECT MIN(k) FROM (SELECT k, "
                f"NTILE({chunks}) OVER (ORDER BY k) AS tile FROM keys) AS t "
                "GROUP BY tile ORDER BY tile",
                list(params),
            )
            found = [row[0] for row in cursor.fetchall()]
    found = [key for key in found if key is not None]
    return sorted({key for key in found[1:] if key > found[0]}) if found else []


# --- Starting -------------------------------------------------------------------------------


def start(kind: str, *, key: str, params: dict, ranges: Sequence[Range]) -> ChunkedRun:
    """The run of `kind`/`key` with one chunk per range, or the unfinished one (resumed).

    An unfinished run with other params (other figures, another draft) is superseded: marked
    failed, and a new run starts. A run left `merging` by a dead caller merges again.
    """
    existing = _unfinished(kind, key)
    if existing is not None:
        if existing.params == params:
            return _resume(existing)
        ChunkedRun.objects.filter(pk=existing.pk).update(
            status=ChunkedRun.Status.FAILED,
            error=_("参数已变，由新的运行取代。"),
            finished_at=timezone.now(),
        )
    try:
        with transaction.atomic():
            run = ChunkedRun.objects.create(
                kind=kind, key=key, params=params, chunks_total=len(ranges)
            )
            RunChunk.objects.bulk_create(
                RunChunk(run=run, index=i, lo=lo, hi=hi) for i, (lo, hi) in enumerate(ranges)
            )
    except IntegrityError:  # started at the same moment by another caller: take that one
        existing = _unfinished(kind, key)
        if existing is None:
            raise
        return _resume(existing)
    return run


def _unfinished(kind: str, key: str) -> ChunkedRun | None:
    return (
        ChunkedRun.objects.filter(
            kind=kind, key=key, status__in=[ChunkedRun.Status.RUNNING, ChunkedRun.Status.MERGING]
        )
        .order_by("-pk")
        .first()
    )


def _resume(run: ChunkedRun) -> ChunkedRun:
    if run.status == ChunkedRun.Status.MERGING:
        ChunkedRun.objects.filter(pk=run.pk).update(status=ChunkedRun.Status.RUNNING)
    requeue_stale(run)
    run.refresh_from_db()
    return run


def dispatch(run: ChunkedRun, tasks: int | None = None) -> int:
    """Queue `tasks` chunk tasks (default: one per pending chunk) on the job's queue; each
    claims whichever chunk is pending. Returns how many were sent."""
    (chunk_task,) = CHUNK_TASK
    job = job_of(run)
    pending = run.chunks.filter(status=RunChunk.Status.PENDING).count()
    count = pending if tasks is None else min(tasks, pending)
    for _n in range(count):
        chunk_task.apply_async((run.pk,), queue=job.queue)
    if count == 0:
        finish(run)  # e.g. resumed with every chunk already done
    return count


# --- Working --------------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def requeue_stale(run: ChunkedRun | None = None) -> int:
    """Put running chunks of dead workers (no heartbeat for JOB_STALE_AFTER_SECONDS) back to
    pending. Returns how many."""
    limit = stale_before()
    chunks = RunChunk.objects.filter(status=RunChunk.Status.RUNNING).filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, started_at__lt=limit)
    )
    if run is not None:
        chunks = chunks.filter(run=run)
    return chunks.update(status=RunChunk.Status.PENDING, worker="")


def _claim(run: ChunkedRun) -> RunChunk | None:
    """Take one pending chunk of the run; None when none is left."""
    for _attempt in range(20):
        with transaction.atomic():
            chunk = (
                RunChunk.objects.select_for_update(skip_locked=True)
                .filter(run=run, status=RunChunk.Status.PENDING)
                .order_by("index")
                .first()
            )
            if chunk is None:
                return None
            now = timezone.now()
            taken = RunChunk.objects.filter(pk=chunk.pk, status=RunChunk.Status.PENDING).update(
                status=RunChunk.Status.RUNNING,
                attempts=chunk.attempts + 1,
                worker=worker_name(),
                heartbeat_at=now,
                started_at=now,
            )
        if taken:
            chunk.refresh_from_db()
            return chunk
    return None


def work_one(run_id: int) -> bool:
    """Claim one pending chunk of the run, do it and record its result (then merge, if it was
    the last). Returns False when there was nothing to take."""
    run = ChunkedRun.objects.filter(pk=run_id).first()
    if run is None or run.status != ChunkedRun.Status.RUNNING:
        return False
    requeue_stale(run)
    chunk = _claim(run)
    if chunk is None:
        return False
    job = job_of(run)
    started = time.monotonic()
    mine = RunChunk.objects.filter(
        pk=chunk.pk, status=RunChunk.Status.RUNNING, attempts=chunk.attempts
    )
    try:
        with Heartbeat(RunChunk, chunk.pk):
            _do(job, run.params, chunk, mine, started)
    except Exception as exc:
        log.exception("chunk %s of %s failed", chunk.index, run)
        error = str(exc) if isinstance(exc, ValueError) else repr(exc)
        mine.update(status=RunChunk.Status.FAILED, error=error, finished_at=timezone.now())
        fail(run, error)
        return True
    _report_progress(run, job)
    finish(run)
    return True


def _do(job: Job, params: dict, chunk: RunChunk, mine, started: float) -> None:
    """Do the chunk and record its result. A chunk taken for dead and requeued meanwhile is
    someone else's now: its result is theirs (and an atomic job's writes are rolled back)."""

    def record(result: dict) -> int:
        return mine.update(
            status=RunChunk.Status.DONE,
            result=result,
            finished_at=timezone.now(),
            seconds=time.monotonic() - started,
        )

    if not job.atomic:
        record(job.work(params, chunk.lo, chunk.hi))
        return
    with transaction.atomic():
        if not record(job.work(params, chunk.lo, chunk.hi)):
            transaction.set_rollback(True)


def _report_progress(run: ChunkedRun, job: Job) -> None:
    if job.progress is not None:
        done, total = run.progress()
        job.progress(run, done, total)


def _all_done(run: ChunkedRun):
    """The run, if it is running and none of its chunks is left to do (for a conditional
    update: the database decides who wins)."""
    left = RunChunk.objects.filter(run=OuterRef("pk")).exclude(status=RunChunk.Status.DONE)
    return ChunkedRun.objects.filter(pk=run.pk, status=ChunkedRun.Status.RUNNING).filter(
        ~Exists(left)
    )


def results(run: ChunkedRun) -> list[dict]:
    return list(run.chunks.order_by("index").values_list("result", flat=True))


def finish(run: ChunkedRun) -> bool:
    """Merge a run whose chunks are all done, exactly once. True if this call merged it."""
    job = job_of(run)
    if job.merge is None:
        return False  # its caller merges (wait)
    with transaction.atomic():
        if not _all_done(run).update(status=ChunkedRun.Status.MERGING):
            return False
        run.refresh_from_db()
        try:
            with transaction.atomic():
                job.merge(run, results(run))
        except Exception as exc:
            log.exception("merge of %s failed", run)
            error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            ChunkedRun.objects.filter(pk=run.pk).update(status=ChunkedRun.Status.RUNNING)
            fail(run, error)
            return False
        complete(run)
    return True


def complete(run: ChunkedRun) -> None:
    ChunkedRun.objects.filter(pk=run.pk).update(
        status=ChunkedRun.Status.DONE, finished_at=timezone.now()
    )


def fail(run: ChunkedRun, error: str) -> None:
    """Mark the run failed (once) and tell the job's record."""
    failed = ChunkedRun.objects.filter(
        pk=run.pk, status__in=[ChunkedRun.Status.RUNNING, ChunkedRun.Status.MERGING]
    ).update(status=ChunkedRun.Status.FAILED, error=error, finished_at=timezone.now())
    job = job_of(run)
    if failed and job.fail is not None:
        job.fail(run, error)


def wait(run: ChunkedRun, *, poll: float = 0.1) -> list[dict]:
    """For a job its caller merges: work on chunks here too, wait for the rest (taking over
    those of dead workers), then claim the merge and return the results in range order.
    Raises ChunkedJobFailed if a chunk failed. The caller ends with `complete(run)`."""
    while True:
        while work_one(run.pk):
            pass
        run.refresh_from_db()
        if run.status == ChunkedRun.Status.FAILED:
            raise ChunkedJobFailed(run.error)
        if _all_done(run).update(status=ChunkedRun.Status.MERGING):
            return results(run)
        time.sleep(poll)


def sweep() -> int:
    """Requeue the chunks of dead workers and send tasks for them (for every job: a caller
    waiting in `wait` would take them over itself, but only one at a time, in its process);
    merge runs whose chunks are all done but whose merge was lost. Returns the chunks
    requeued (beat task)."""
    requeued = 0
    for run in ChunkedRun.objects.filter(status=ChunkedRun.Status.RUNNING):
        count = requeue_stale(run)
        requeued += count
        if count:
            dispatch(run, count)  # a run its caller merges: the caller still merges (wait)
        elif job_of(run).merge is not None:
            finish(run)
    return requeued
