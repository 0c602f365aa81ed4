"""Real `celery worker` processes for the tests that need them (CI: PostgreSQL + Redis).

One way to start them, used by `celery_worker_process` (conftest) and the chunked-job tests:
skipped on the embedded defaults, the workers share the test database, and they are stopped
whatever the test does.
"""

import os
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest


@contextmanager
def real_workers(count: int, *, name: str, queues: str = "", env: dict | None = None, purge=False):
    """`count` worker processes (`-P solo`) on the Redis broker, using the test database; on
    `queues` (all when empty), with `env` added to their environment."""
    from django.conf import settings
    from django.db import connection

    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs CELERY_BROKER_URL=redis://… (runs in CI on PostgreSQL + Redis)")
    if connection.vendor != "postgresql":
        pytest.skip("a worker process shares the test database only on PostgreSQL")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    process_env = {
        **os.environ,
        **(env or {}),
        "DATABASE_URL": url,
        "SECRET_KEY": settings.SECRET_KEY,
    }
    app.conf.task_always_eager = False
    if purge:
        app.control.purge()
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo"),
                *(("-Q", queues) if queues else ()),
                *("-l", "warning", "-n", f"{name}{n}-{os.getpid()}@%h"),
                *("--without-gossip", "--without-mingle"),
            ],
            env=process_env,
        )
        for n in range(1, count + 1)
    ]
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=1)) < count:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                pytest.fail("the Celery workers did not start")
        yield workers
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
