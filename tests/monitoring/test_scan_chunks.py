"""The high-cost scan split by person range (monitoring.scan_chunks, core.chunked): the same
alerts and counters as one query; small, incremental scans stay one query; an interrupted
scan resumes its done chunks."""

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from factories import IdentityFactory, PersonFactory
from monitoring_helpers import certno, srow

from core.choices import Category
from core.models import ChunkedRun, Region, RunChunk
from monitoring import scan_chunks
from monitoring.checks import check_run
from monitoring.models import Alert, HighCostScanState, Settlement

pytestmark = pytest.mark.django_db


def person(n, region="150302", category=None):
    p = PersonFactory(id_number=certno(n, region), region=Region.objects.get(code=region))
    if category:
        IdentityFactory(person=p, category=category, start=date(2022, 1, 1))
    return p


@pytest.fixture
def year_2023(import_rows):
    """Twelve persons over two districts: some above the impoverishment line, some on the
    poverty-return watch, one excluded (destitute), one known only from settlements."""
    rows = []
    categories = [None, Category.NEAR_SUBSISTENCE, Category.DESTITUTE, Category.POVERTY_RISK]
    for n in range(1, 12):
        region = "150302" if n % 2 else "150304"
        p = person(n, region, categories[n % 4])
        for m in range(n % 4 + 1):
            rows.append(
                srow(f"S{n}-{m}", p.id_number, f"{3000 * n + 17 * m}.00", insu_admdvs=region)
            )
    rows.append(srow("X1", certno(99, "150303"), "30000.00", insu_admdvs="150303"))
    import_rows(rows)


def snapshot():
    return sorted(
        Alert.objects.values_list(
            "certno", "watch", "burden", "threshold", "status", "region_id", "evidence"
        )
    )


def run(**kwargs):
    result = check_run(name="high_cost", period="2023", **kwargs)
    assert result.outcome == "success", result.error
    return result


def record(r):
    return (r.rows_scanned, r.alerts_created, r.alerts_updated, r.alerts_closed, r.mode)


@pytest.mark.parametrize("area", ["", "150302"])
@pytest.mark.parametrize("chunks", [2, 5, 40])
def test_a_chunked_scan_finds_what_one_query_finds(year_2023, settings, area, chunks):
    settings.HIGH_COST_SCAN_CHUNKS = 1
    single = run(area=area)
    expected = snapshot()
    assert expected and not ChunkedRun.objects.exists()
    Alert.objects.all().delete()
    HighCostScanState.objects.all().delete()

    settings.HIGH_COST_SCAN_CHUNKS = chunks
    settings.HIGH_COST_SCAN_CHUNK_MIN_ROWS = 0
    chunked = run(area=area)
    assert snapshot() == expected
    assert record(chunked) == record(single)
    job_run = ChunkedRun.objects.get(kind=scan_chunks.KIND)
    assert job_run.status == ChunkedRun.Status.DONE
    assert job_run.key == f"2023:{area}"
    # Ranges cut by quantiles of the year's ID numbers (never more than the persons).
    assert 2 <= job_run.chunks_total <= min(chunks, 12)
    assert job_run.progress() == (job_run.chunks_total, job_run.chunks_total)
    # Each chunk read its persons' rows (all of the year's; an area's count is its own).
    scanned = [c["scanned"] for c in job_run.chunks.values_list("result", flat=True)]
    assert sum(scanned) == Settlement.objects.filter(year=2023).count()


def test_chunks_are_balanced_by_settlement_rows(year_2023):
    bounds = scan_chunks.certno_boundaries(2023, 4, 0)
    ranges = list(zip([None, *bounds], [*bounds, None], strict=True))
    sizes = []
    for lo, hi in ranges:
        rows = Settlement.objects.filter(year=2023)
        rows = rows.filter(certno__gte=lo) if lo else rows
        rows = rows.filter(certno__lt=hi) if hi else rows
        sizes.append(rows.count())
    assert len(ranges) == 4 and sum(sizes) == Settlement.objects.count()
    assert max(sizes) - min(sizes) <= 4  # one person's rows at most (≤ 4 here) apart


def test_small_years_and_incremental_scans_stay_one_query(year_2023, settings, import_rows):
    run()  # 31 rows < HIGH_COST_SCAN_CHUNK_MIN_ROWS
    assert not ChunkedRun.objects.exists()
    settings.HIGH_COST_SCAN_CHUNK_MIN_ROWS = 0
    import_rows([srow("N1", certno(1), "50000.00")])
    assert run().mode == "incremental"
    assert not ChunkedRun.objects.exists()


class WorkerDied(BaseException):
    """Stands for a `kill -9` in the middle of a chunk: nothing after it runs."""


def test_an_interrupted_scan_resumes_without_redoing_done_chunks(year_2023, settings, monkeypatch):
    settings.HIGH_COST_SCAN_CHUNKS = 4
    settings.HIGH_COST_SCAN_CHUNK_MIN_ROWS = 0
    real, calls = scan_chunks.scan_chunk, []

    def dies_on_the_third(params, lo, hi):
        calls.append((lo, hi))
        if len(calls) == 3:
            raise WorkerDied
        return real(params, lo, hi)

    job = scan_chunks.chunked.JOBS[scan_chunks.KIND]
    monkeypatch.setitem(
        scan_chunks.chunked.JOBS,
        scan_chunks.KIND,
        scan_chunks.chunked.Job(**{**job.__dict__, "work": dies_on_the_third}),
    )
    with pytest.raises(WorkerDied):
        check_run(name="high_cost", period="2023")
    job_run = ChunkedRun.objects.get()
    statuses = list(job_run.chunks.values_list("status", flat=True))
    assert statuses == ["done", "done", "running", "pending"]
    assert not Alert.objects.exists()

    # Two and a half minutes later the dead worker's heartbeat is stale: run it again.
    with time_machine.travel(timezone.now() + timedelta(seconds=150)):
        again = run()
    assert ChunkedRun.objects.get().pk == job_run.pk  # resumed, not started anew
    assert len(calls) == 5  # chunks 3 (again) and 4; 1 and 2 were kept
    assert list(job_run.chunks.values_list("attempts", flat=True)) == [1, 1, 2, 1]
    assert again.alerts_created == Alert.objects.count() > 0
    job_run.refresh_from_db()
    assert job_run.status == ChunkedRun.Status.DONE
    assert RunChunk.objects.filter(status="done").count() == 4


def test_a_large_table_is_cut_from_the_planners_histogram(import_rows):
    if connection.vendor != "postgresql":
        pytest.skip("pg_stats is PostgreSQL's")
    import_rows([srow("T0", certno(1), "100.00")])
    with connection.cursor() as cursor:  # 600 persons, one row each, copied from the first
        cursor.execute(
            "INSERT INTO monitoring_settlement (setl_id, psn_name, certno, psn_cert_type, "
            "insutype, med_type, visit_type, begndate, enddate, year, setl_time, "
            "fixmedins_code, fixmedins_name, insu_admdvs, medfee_sumamt, inscp_scp_amt, "
            "fulamt_ownpay_amt, hifp_pay, hifmi_pay, maf_pay, fund_pay_sumamt, psn_part_amt, "
            "hosp_part_amt, refd_setl_flag, init_setl_id) "
            "SELECT 'T' || g, psn_name, lpad(g::text, 18, '0'), psn_cert_type, insutype, "
            "med_type, visit_type, begndate, enddate, year, setl_time, fixmedins_code, "
            "fixmedins_name, insu_admdvs, medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, "
            "hifp_pay, hifmi_pay, maf_pay, fund_pay_sumamt, psn_part_amt, hosp_part_amt, "
            "refd_setl_flag, init_setl_id FROM monitoring_settlement, "
            "generate_series(1, 600) AS g WHERE setl_id = 'T0'"
        )
        cursor.execute("ANALYZE monitoring_settlement")
        cursor.execute(
            "SELECT histogram_bounds::text::text[] FROM pg_stats "
            "WHERE tablename = 'monitoring_settlement' AND attname = 'certno'"
        )
        histogram = set(cursor.fetchone()[0])
    bounds = scan_chunks.certno_boundaries(2023, 4, scan_chunks.SAMPLE_ROWS + 1)
    assert bounds == sorted(bounds) and len(bounds) == 3
    assert set(bounds) <= histogram  # read from the statistics, no sample taken
    sizes = []
    for lo, hi in zip([None, *bounds], [*bounds, None], strict=True):
        rows = Settlement.objects.filter(certno__startswith="0")
        rows = rows.filter(certno__gte=lo) if lo else rows
        sizes.append((rows.filter(certno__lt=hi) if hi else rows).count())
    assert sum(sizes) == 600 and min(sizes) >= 120  # about 150 each
