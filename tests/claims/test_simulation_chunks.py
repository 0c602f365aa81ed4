"""A recorded 测算 run fanned out by person range (claims.simulation_chunks, core.chunked):
the same §12 result as one process, progress per chunk, one merge."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from claims_helpers import approved_application, example_a, example_b, settlement
from factories import IdentityFactory, PersonFactory
from test_simulate_command import draft

from claims import simulation_runs
from claims.models import SimulationRun
from claims.simulation_chunks import KIND
from claims.tasks import simulation_task
from core.choices import Category
from core.models import ChunkedRun, RunChunk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_today():
    with time_machine.travel(datetime(2024, 3, 1, 4, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def year_of_bills(
    haibowan, city_hospital, near_subsistence_person, caseworker_haibowan, supervisor_city
):
    """Five persons of several categories with settlements (one reversed) and manual bills."""
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital), example_b(city_hospital)],
    )
    categories = [Category.DESTITUTE, Category.SUBSISTENCE, Category.POVERTY_RISK, None]
    for n, category in enumerate(categories):
        person = PersonFactory(region=haibowan)
        if category:
            IdentityFactory(person=person, category=category, start=date(2020, 1, 1))
        for m in range(3):
            settlement(
                person, f"S-{n}-{m}", enddate=date(2023, 2 + m, 1), policy=str(20000 * (m + 1)),
                basic="8000", critical="1000", maf_pay="0",
            )  # fmt: skip
        if n == 1:  # a reversal nets the first one away
            settlement(
                person, f"R-{n}", enddate=date(2023, 6, 1), policy="-20000", basic="-8000",
                critical="-1000", maf_pay="0", reversal_of=f"S-{n}-0",
            )  # fmt: skip


def _run(admin_city, capture, policy):
    with capture(execute=True):
        run = simulation_runs.simulation_run_request(
            area_code="150300", year=2023, draft=policy, by=admin_city
        )
    run.refresh_from_db()
    return run


@pytest.mark.parametrize("per_chunk", [1, 2, 10_000])
def test_a_run_split_into_chunks_has_the_result_of_one_process(
    year_of_bills, admin_city, django_capture_on_commit_callbacks, settings, per_chunk
):
    settings.SIMULATION_RANGE_PERSONS = per_chunk
    policy = draft(annual_cap="30000.00", categories__near_subsistence__ratio="0.80")
    run = _run(admin_city, django_capture_on_commit_callbacks, policy)
    assert run.status == SimulationRun.Status.SUCCESS, run.error
    result = dict(run.result)
    assert set(result.pop("by_visit_type")) == {"inpatient"}  # the page's breakdown (§12)
    assert result == simulation_task.delay("150300", 2023, policy).get()
    assert run.result["persons"] == 5
    # Ranges are cut among the 4 persons with settlements; the one with manual bills only
    # falls in one of them.
    chunks = {1: 4, 2: 2, 10_000: 1}[per_chunk]
    assert (run.chunks_done, run.chunks_total, run.percent_done) == (chunks, chunks, 100)
    job_run = ChunkedRun.objects.get(kind=KIND, key=str(run.pk))
    assert job_run.status == ChunkedRun.Status.DONE
    assert job_run.progress() == (chunks, chunks)
    assert set(job_run.chunks.values_list("status", "attempts")) == {(RunChunk.Status.DONE, 1)}


def test_progress_is_saved_on_the_run_as_chunks_finish(
    year_of_bills, admin_city, django_capture_on_commit_callbacks, settings, monkeypatch
):
    settings.SIMULATION_RANGE_PERSONS = 1
    seen = []
    from claims import simulation_chunks

    real = simulation_chunks._progress

    def spy(job_run, done, total):
        real(job_run, done, total)
        run = SimulationRun.objects.get(pk=job_run.params["simulation_run"])
        seen.append((run.status, run.chunks_done, run.chunks_total))

    # The job is frozen: register one with the spy in its place for this test.
    job = simulation_chunks.chunked.JOBS[KIND]
    monkeypatch.setitem(
        simulation_chunks.chunked.JOBS,
        KIND,
        simulation_chunks.chunked.Job(**{**job.__dict__, "progress": spy}),
    )
    run = _run(admin_city, django_capture_on_commit_callbacks, draft())
    assert seen == [("running", n, 4) for n in (1, 2, 3, 4)]
    assert run.status == "success"


def test_a_year_without_a_policy_fails_the_run_and_queues_nothing(
    year_of_bills, admin_city, django_capture_on_commit_callbacks
):
    from core.models import Policy

    with django_capture_on_commit_callbacks(execute=False):
        run = simulation_runs.simulation_run_request(
            area_code="150300", year=2023, draft=draft(), by=admin_city
        )
    Policy.objects.filter(area_id="150300").update(valid_from=date(2024, 1, 1))
    run = simulation_runs.simulation_run_execute(run_id=run.pk)
    assert run.status == "failed" and "没有生效的救助政策" in run.error
    assert not ChunkedRun.objects.exists()
