"""A recorded 测算 run (SimulationRun) fanned out over the workers (core.chunked, queue
`simulation`).

The year's persons are cut into ranges of about `SIMULATION_RANGE_PERSONS` ID numbers
(`person_ranges`, one index-only scan); each range is one chunk task that reads its persons'
records streamed and simulates them (`simulate_chunk`), returning a `Partial`. The last chunk to finish merges the partials (`merge_partials`) into
the §12 result and saves it on the run, exactly once; progress is the chunks done.
The result is the one `simulation_run` computes in one process: the ranges are disjoint and
cover every person, and partials are exact sums.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from claims import adapters
from claims.models import SimulationRun
from claims.simulation import (
    Partial,
    coordination_area,
    merge_partials,
    person_ranges,
    policy_for_year,
    simulate_chunk,
    simulation_result,
)
from core import chunked

KIND = "simulation"


def simulation_fan_out(run: SimulationRun, *, today: date) -> chunked.ChunkedRun:
    """Cut the run's persons into ranges and queue them. Raises SimulationError for an
    unknown area or a year without a policy in force (nothing is queued then)."""
    area = coordination_area(run.area_id)
    policy_for_year(area.code, run.year)
    ranges = person_ranges(run.year)
    params = {
        "simulation_run": run.pk,
        "area": area.code,
        "year": run.year,
        "draft": run.draft,
        "today": today.isoformat(),
    }
    job_run = chunked.start(KIND, key=str(run.pk), params=params, ranges=ranges)
    done, total = job_run.progress()
    SimulationRun.objects.filter(pk=run.pk).update(chunks_done=done, chunks_total=total)
    chunked.dispatch(job_run)
    return job_run


def simulate_range(params: dict, lo: str | None, hi: str | None) -> dict:
    """One range of persons under the policy in force and the draft: a Partial as JSON."""
    from claims.management.commands.assess import _policy

    area = coordination_area(params["area"])
    year = params["year"]
    policies = {
        "in_force": adapters.engine_policy(policy_for_year(area.code, year)),
        "draft": _policy(params["draft"]),
    }
    today = date.fromisoformat(params["today"])
    partial = simulate_chunk(
        area_code=area.code, year=year, lo=lo, hi=hi, policies=policies, today=today
    )
    return partial.as_dict()


def _merge(job_run: chunked.ChunkedRun, results: list[dict]) -> None:
    params = job_run.params
    merged = merge_partials(Partial.from_dict(r) for r in results)
    run = SimulationRun.objects.get(pk=params["simulation_run"])
    run.chunks_done = run.chunks_total = job_run.chunks_total
    run.save(update_fields=["chunks_done", "chunks_total"])
    result = simulation_result(params["area"], params["year"], merged, breakdown=True)
    finish_run(run, SimulationRun.Status.SUCCESS, result=result)


def _fail(job_run: chunked.ChunkedRun, error: str) -> None:
    run = SimulationRun.objects.get(pk=job_run.params["simulation_run"])
    finish_run(run, SimulationRun.Status.FAILED, error=error)


def _progress(job_run: chunked.ChunkedRun, done: int, total: int) -> None:
    SimulationRun.objects.filter(pk=job_run.params["simulation_run"]).update(
        chunks_done=done, chunks_total=total
    )


chunked.register(
    chunked.Job(
        kind=KIND,
        queue="simulation",
        work=simulate_range,
        merge=_merge,
        fail=_fail,
        progress=_progress,
    )
)


def finish_run(run: SimulationRun, status: str, *, error: str = "", result: dict | None = None):
    """Record the end of the 测算 run: its status, error or result, and when."""
    run.status, run.error, run.result = status, error, result or {}
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "result", "finished_at"])
