"""Chunked jobs on PostgreSQL + Redis with real worker processes (CI): chunks spread over two
workers, a dead worker's chunk resumed, progress reported.

Run with DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… (skipped otherwise).
"""

import time
from datetime import date, timedelta

import pytest
from django.utils import timezone
from factories import IdentityFactory, PersonFactory
from worker_processes import real_workers

from core import chunked
from core.choices import Category
from core.models import ChunkedRun, Region, RunChunk

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
CHUNK_ENV = {"HIGH_COST_SCAN_CHUNKS": "4", "HIGH_COST_SCAN_CHUNK_MIN_ROWS": "0"}


@pytest.fixture
def two_workers(django_db_serialized_rollback, transactional_db, settings):
    """Two `celery worker` processes on the `checks` and `simulation` queues."""
    with real_workers(
        2, name="chunks", queues="checks,simulation", env=CHUNK_ENV, purge=True
    ) as workers:
        yield workers


@pytest.fixture
def year_2023():
    """Forty persons of Haibowan, a few above the impoverishment line."""
    from monitoring.models import Settlement

    region = Region.objects.get(code="150302")
    rows = []
    for n in range(40):
        person = PersonFactory(region=region)
        if n % 3 == 0:
            IdentityFactory(person=person, category=Category.SUBSISTENCE, start=date(2020, 1, 1))
        for m in range(3):
            amount = 9000 if n % 7 == 0 else 100 + n
            rows.append(_settlement(person, f"S{n}-{m}", amount, date(2023, 1 + m, 5)))
    Settlement.objects.bulk_create(rows)


def _settlement(person, setl_id, amount, day):
    from monitoring.models import Settlement

    return Settlement(
        setl_id=setl_id, psn_name=person.name, certno=person.id_number, insutype="390",
        med_type="21", visit_type="inpatient", begndate=day, enddate=day, year=day.year,
        setl_time=timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time())),
        fixmedins_code="H15030200001", fixmedins_name="乌海市人民医院", insu_admdvs_id="150302",
        medfee_sumamt=amount * 3, inscp_scp_amt=amount * 3, fulamt_ownpay_amt=0,
        hifp_pay=amount * 2, hifmi_pay=0, maf_pay=0, fund_pay_sumamt=amount * 2,
        psn_part_amt=amount, hosp_part_amt=0, refd_setl_flag=False, init_setl_id="",
    )  # fmt: skip


def _until_done(run, timeout=60):
    """Poll the run's progress until every chunk is done; the progress seen on the way."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        progress = run.progress()
        if not seen or seen[-1] != progress:
            seen.append(progress)
        if progress[0] == progress[1]:
            return seen
        assert time.monotonic() < deadline, f"chunks not done: {seen}"
        time.sleep(0.1)


def test_the_chunks_of_a_scan_are_taken_by_both_workers(two_workers, year_2023, settings):
    from monitoring import scan_chunks

    bounds = scan_chunks.certno_boundaries(2023, 6, 0)
    run = chunked.start(
        scan_chunks.KIND,
        key="2023:",
        params={
            "year": 2023, "period_end": "2023-12-31", "floor": "21999", "pr_floor": "10999",
            "reference": "2023-12-31", "watermark": 0, "stamp": [],
        },
        ranges=chunked.ranges_of(bounds),
    )  # fmt: skip
    assert run.chunks_total == 6
    assert chunked.dispatch(run) == 6
    seen = _until_done(run)
    assert seen[-1] == (6, 6) and [done for done, _ in seen] == sorted(d for d, _ in seen)
    chunks = list(run.chunks.all())
    assert {c.attempts for c in chunks} == {1}
    assert len({c.worker for c in chunks}) == 2  # two processes shared the work
    assert sum(c.result["scanned"] for c in chunks) == 120
    assert sum(len(c.result["candidates"]) for c in chunks) == 6  # 7 × n; excluded later


def test_a_check_run_on_the_workers_gives_the_one_query_result(two_workers, year_2023, settings):
    from monitoring.models import Alert
    from monitoring.tasks import run_check_task

    record = run_check_task.delay("high_cost", "2023").get(timeout=120)
    assert record["outcome"] == "success", record
    job_run = ChunkedRun.objects.get()
    assert (job_run.status, job_run.chunks_total) == ("done", 4)
    chunked_alerts = sorted(Alert.objects.values_list("certno", "burden", "status"))
    Alert.objects.all().delete()
    settings.HIGH_COST_SCAN_CHUNKS = 1  # this process, one query
    from monitoring.checks import check_run
    from monitoring.models import HighCostScanState

    HighCostScanState.objects.all().delete()
    single = check_run(name="high_cost", period="2023")
    assert sorted(Alert.objects.values_list("certno", "burden", "status")) == chunked_alerts
    assert single.rows_scanned == record["rows_scanned"] == 120
    assert len(chunked_alerts) == 4  # persons 7, 14, 28, 35 (0 and 21 hold subsistence)


def test_a_dead_workers_chunk_is_resumed_by_a_live_worker(
    two_workers, year_2023, admin_city, settings, monkeypatch
):
    from claims import simulation_chunks
    from claims.management.commands.assess import _policy
    from claims.models import SimulationRun
    from claims.simulation import policy_document, policy_for_year, simulation_run
    from core.dates import shanghai_today as today

    draft = policy_document(policy_for_year("150300", 2023))
    draft["annual_cap"] = "5000.00"
    run = SimulationRun.objects.create(
        area_id="150300", year=2023, draft=draft, created_by=admin_city, status="running"
    )
    settings.SIMULATION_RANGE_PERSONS = 20
    with monkeypatch.context() as patched:
        patched.setattr(chunked, "dispatch", lambda job_run, tasks=None: 0)  # send nothing yet
        job_run = simulation_chunks.simulation_fan_out(run, today=today())
    assert job_run.chunks_total == 2
    assert chunked.work_one(job_run.pk)  # this process does chunk 0
    # Chunk 1 was taken by a worker that died (its heartbeat stopped three minutes ago).
    RunChunk.objects.filter(run=job_run, index=1).update(
        status="running", attempts=1, worker="dead-host:4242",
        heartbeat_at=timezone.now() - timedelta(minutes=3),
    )  # fmt: skip
    run.refresh_from_db()
    assert (run.chunks_done, run.chunks_total) == (1, 2)
    assert chunked.sweep() == 1  # back to pending, and a task sent to the workers
    deadline = time.monotonic() + 60
    while run.status != "success":
        assert time.monotonic() < deadline and run.status != "failed", run.error
        time.sleep(0.2)
        run.refresh_from_db()
    assert (run.chunks_done, run.chunks_total, run.percent_done) == (2, 2, 100)
    expected = simulation_run(
        area_code="150300", year=2023, draft=_policy(draft), today=today(), breakdown=True
    )
    assert run.result == expected
    chunk0, chunk1 = job_run.chunks.order_by("index")
    assert chunk0.attempts == 1 and chunk0.worker == chunked.worker_name()  # not redone
    assert chunk1.attempts == 2 and chunk1.worker.split(":")[0] != "dead-host"
