"""Heartbeats of long jobs (check runs, settlement imports) so a killed worker is noticed.

A job row carries `heartbeat_at`. While the job works, `Heartbeat` refreshes it from a
background thread on its own database connection every `JOB_HEARTBEAT_SECONDS` (default 15 s),
so the beat is visible to others even while the job's own connection is inside one long
transaction or one long query. A worker killed with `kill -9` stops beating; a job whose
heartbeat is older than `JOB_STALE_AFTER_SECONDS` (default 120 s) is taken for dead: it is
marked `interrupted` and may be started again at once.

    with Heartbeat(CheckRun, run.pk):
        ...work...
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

log = logging.getLogger(__name__)

__all__ = ["Heartbeat", "heartbeat_seconds", "stale_after", "stale_before"]


def heartbeat_seconds() -> float:
    return float(getattr(settings, "JOB_HEARTBEAT_SECONDS", 15))


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "JOB_STALE_AFTER_SECONDS", 120))


def stale_before(now: datetime | None = None) -> datetime:
    """A job whose heartbeat is older than this belongs to a dead worker."""
    return (now or timezone.now()) - stale_after()


class Heartbeat:
    """Keep `heartbeat_at` of one row of `model` fresh while the `with` block runs.

    The thread needs a connection of its own that sees committed rows: inside an atomic block
    opened by the caller (the test suite's transactions, a caller's own transaction), a new
    connection would not see an uncommitted job row, so no thread is started and the job's
    own beats (a check's `save_progress()`, progress updates) are all there is.
    """

    def __init__(self, model, pk: int, *, interval: float | None = None):
        self.model = model
        self.pk = pk
        self.interval = heartbeat_seconds() if interval is None else interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._thread is not None

    def __enter__(self) -> Heartbeat:
        self.beat_now()
        if self.interval > 0 and not connection.in_atomic_block:
            self._thread = threading.Thread(
                target=self._run, name=f"heartbeat-{self.model.__name__}-{self.pk}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(self.interval, 5))
            self._thread = None

    def beat_now(self) -> None:
        self.model.objects.filter(pk=self.pk).update(heartbeat_at=timezone.now())

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat_now()
                except Exception:  # a locked SQLite file, a dropped connection: try again
                    log.warning("heartbeat of %s %s failed", self.model.__name__, self.pk)
                    connections.close_all()
        finally:
            connections.close_all()  # this thread's connections only
