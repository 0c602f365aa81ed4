"""`python manage.py bench_worker_kill` — how long a check run killed with its worker blocks.

Needs PostgreSQL and a Redis broker (CELERY_BROKER_URL; use a database of your own, it is
flushed at the end). It starts a real Celery worker, starts a long check run on it, kills the
worker with SIGKILL (kill -9) while the run beats, starts a new worker, and re-submits the
same check every 2 seconds until the new worker accepts and runs it; it prints the time from
the kill until the re-run was accepted. Expected: JOB_STALE_AFTER_SECONDS (120 s) minus the
time since the last heartbeat (at most JOB_HEARTBEAT_SECONDS), plus the polling step.

The long check (`bench_sleep`, period 2099) exists only in the workers this command starts:
they load this module (`celery -A monitoring.management.commands.bench_worker_kill`).
"""

import os
import signal
import subprocess
import sys
import time

from celery.signals import task_prerun
from django.core.management.base import BaseCommand, CommandError

from config.celery import app  # the app of the workers started with -A this module

CHECK, PERIOD = "bench_sleep", "2099"


def _bench_sleep(ctx):
    """Sleeps (beating) for ten minutes — unless an earlier run was interrupted: then done."""
    from monitoring.models import CheckRun

    if CheckRun.objects.filter(check_name=CHECK, outcome=CheckRun.Outcome.INTERRUPTED).exists():
        return
    for _ in range(600):
        time.sleep(1)


@task_prerun.connect
def _register_bench_check(**kwargs):
    from monitoring.checks import CHECKS, register

    if CHECK not in CHECKS:
        register(CHECK)(_bench_sleep)


def _start_worker(name: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", __name__, "worker", "-P", "solo"]
    command += ["-l", "warning", "-n", f"{name}-{os.getpid()}@%h"]
    command += ["--without-gossip", "--without-mingle"]
    worker = subprocess.Popen(command, env=os.environ)
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=1, destination=[f"{name}-{os.getpid()}@{os.uname()[1]}"]):
        if time.monotonic() > deadline or worker.poll() is not None:
            worker.kill()
            raise CommandError("the Celery worker did not start")
    return worker


class Command(BaseCommand):
    help = "Time from kill -9 of a worker mid-run until a re-run of the check is accepted."

    def handle(self, *args, **options):
        from django.conf import settings
        from django.db import connection

        from monitoring.models import CheckRun
        from monitoring.tasks import run_check_task

        if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
            raise CommandError("needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
        CheckRun.objects.filter(check_name=CHECK).delete()
        first = _start_worker("bench-kill-1")
        second = None
        try:
            run_check_task.delay(check=CHECK, period=PERIOD)
            deadline = time.monotonic() + 60
            while not CheckRun.objects.filter(check_name=CHECK, outcome="running").exists():
                if time.monotonic() > deadline:
                    raise CommandError("the long run did not start")
                time.sleep(0.2)
            time.sleep(5)  # let it beat
            run = CheckRun.objects.get(check_name=CHECK, outcome="running")
            os.kill(first.pid, signal.SIGKILL)
            killed = time.monotonic()
            first.wait()
            self.stdout.write(
                f"killed the worker (pid {first.pid}) with SIGKILL mid-run; "
                f"last heartbeat {run.heartbeat_at:%H:%M:%S}"
            )
            second = _start_worker("bench-kill-2")
            self.stdout.write(f"new worker up after {time.monotonic() - killed:.1f} s")
            attempts = 0
            while True:
                attempts += 1
                record = run_check_task.delay(check=CHECK, period=PERIOD).get(timeout=60)
                if record["outcome"] != "already_running":
                    break
                if time.monotonic() - killed > 900:
                    raise CommandError("no re-run accepted within 15 minutes")
                time.sleep(2)
            accepted = time.monotonic() - killed
            run.refresh_from_db()
            self.stdout.write(
                f"re-run accepted {accepted:.1f} s after the kill (attempt {attempts}; "
                f"JOB_STALE_AFTER_SECONDS={settings.JOB_STALE_AFTER_SECONDS}, "
                f"JOB_HEARTBEAT_SECONDS={settings.JOB_HEARTBEAT_SECONDS}); "
                f"killed run: {run.outcome}, re-run: {record['outcome']}"
            )
        finally:
            for worker in (first, second):
                if worker is not None and worker.poll() is None:
                    worker.terminate()
                    worker.wait(timeout=30)
            CheckRun.objects.filter(check_name=CHECK).delete()
            # The killed task's message is still unacknowledged in the broker (redelivered only
            # after the visibility timeout): drop it with the rest of this broker database.
            import redis

            redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
