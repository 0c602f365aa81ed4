"""A recorded 测算 run timed from the task being queued to its result saved — what
`bench_simulation` and `bench_region` measure on their worker processes."""

import time

from django.core.management.base import CommandError

from claims.models import SimulationRun


def timed_simulation_run(*, area: str, year: int, draft: dict, user, timeout: float):
    """Queue a run of `draft` and wait for it: (seconds, the finished run). A failed run or
    one slower than `timeout` seconds is a CommandError."""
    from claims.tasks import simulation_run_task

    run = SimulationRun.objects.create(area_id=area, year=year, draft=draft, created_by=user)
    started = time.monotonic()
    simulation_run_task.delay(run.pk)
    while run.status not in (SimulationRun.Status.SUCCESS, SimulationRun.Status.FAILED):
        if time.monotonic() - started > timeout:
            raise CommandError(f"the 测算 run did not finish within {timeout:.0f} s")
        time.sleep(0.2)
        run.refresh_from_db()
    seconds = round(time.monotonic() - started, 2)
    if run.status != SimulationRun.Status.SUCCESS:
        raise CommandError(run.error)
    return seconds, run
