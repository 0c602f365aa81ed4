"""`python manage.py bench_region` — the whole region spread over Celery workers.

PostgreSQL + Redis only, against a dedicated database (its name must contain "bench"): it
empties the settlement, alert, person and run tables first. In one run it

1. generates `--rows` settlements (default 2,000,000) over 2022 and 2023 for `--persons`
   persons (400,000) in the 12 coordination areas (one county of each city; Wuhai's three
   districts), server-side; Wuhai's persons are registered with an identity each, so the
   测算 of Wuhai has real work (rows into the year partitions, with their `setl_id` keys);
2. times the import of a file of `--import-rows` new settlements (default 1,000,000) against
   its floor, COPY + a plain `INSERT … SELECT` into an unindexed table, interleaved
   (`monitoring/bench_import.py`; 0 skips it);
3. times a bare `SELECT certno, SUM(psn_part_amt) … GROUP BY certno` over 2023's rows against
   the full 2023 high-cost scan in this process (one query), interleaved;
4. starts 1, then 2 worker processes (`celery -A config worker -P solo -Q checks,simulation`,
   same database and broker) and times the full scan as a task (split into `--chunks`
   person ranges, 4 by default: 2 per worker, fewer round trips than 8 — 1.33× against
   1.15× faster on 2 workers at 4M rows; the task's own worker works on chunks too) and a
   recorded 测算 run of Wuhai 2023 (its ranges fan out over the workers);
5. runs `bench_engine` for the engine's bare bills/s on this machine, as the baseline of the
   simulation's per-worker rate;
6. (monitoring.bench_scan) adds `--new-rows` settlements and times the incremental scan, then
   registers every person and times the person list and its search (`--list-requests` each).

Figures are printed as JSON; the load average is reported (the machine may be shared).
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core import idnumber
from core.models import Region
from monitoring import bench_import, bench_scan, partitions, settlement_keys

YEARS = (2022, 2023)
SCAN_YEAR = 2023
WUHAI = "150300"


def bench_regions() -> list[str]:
    """One county of each of the other coordination areas, and Wuhai's three districts."""
    regions = []
    for city in Region.objects.filter(level=Region.Level.CITY).order_by("code"):
        counties = (
            Region.objects.filter(parent=city).order_by("code").values_list("code", flat=True)
        )
        counties = list(counties)
        if city.code == WUHAI:
            regions += counties[:3]
        else:  # the county of the city, or the city itself where counties are not loaded
            regions.append(counties[0] if counties else city.code)
    return regions


def bench_certno(index: int, regions: list[str]) -> str:
    region = regions[index % len(regions)]
    born = date(1940, 1, 1) + timedelta(days=(index // 1000) % 25000)
    return idnumber.make(region, born, index % 1000)


def check_worker_bench_target(command: str, *, force: bool) -> None:
    """A benchmark that empties tables and starts workers runs only on PostgreSQL, in a
    database named for benchmarks (or `--force`), with a Redis broker."""
    if connection.vendor != "postgresql":
        raise CommandError(f"{command} runs on PostgreSQL only")
    name = connection.settings_dict["NAME"]
    if "bench" not in name and not force:
        raise CommandError(f"refusing to empty the tables of {name!r} (name without 'bench')")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        raise CommandError(f"{command} needs CELERY_BROKER_URL=redis://… (real workers)")


class Command(BaseCommand):
    help = "Benchmark the high-cost scan and the 测算 over 1 and 2 Celery workers (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=2_000_000)
        parser.add_argument("--persons", type=int, default=400_000)
        parser.add_argument(
            "--chunks", type=int, default=4, help="person ranges of a scan (2 per worker)"
        )
        parser.add_argument(
            "--sim-range", type=int, default=0, help="persons a 测算 chunk (0: an eighth)"
        )
        parser.add_argument("--engine-bills", type=int, default=100_000)
        parser.add_argument("--repeat", type=int, default=2, help="timed runs of each scan")
        parser.add_argument("--sim-repeat", type=int, default=1, help="timed 测算 runs")
        parser.add_argument("--new-rows", type=int, default=100_000, help="incremental scan")
        parser.add_argument("--list-requests", type=int, default=40, help="per list case")
        parser.add_argument("--skip-generate", action="store_true")
        parser.add_argument("--skip-simulation", action="store_true", help="no 测算 runs")
        parser.add_argument("--force", action="store_true", help="a database without 'bench'")
        parser.add_argument(
            "--import-rows", type=int, default=1_000_000, help="the import ratio's file (0: none)"
        )

    def handle(self, *args, rows, persons, chunks, sim_range, engine_bills, repeat, **opts):
        self._check_target(opts["force"])
        figures = {
            "database": connection.settings_dict["NAME"],
            "rows": rows,
            "persons": persons,
            "chunks": chunks,
            "load_average_at_start": os.getloadavg(),
        }
        if not opts["skip_generate"]:
            with _stopwatch(figures, "generate"):
                self._reset()
                figures["areas"] = self._generate(rows, persons)
            self._log(f"generated {rows:,} rows in {figures['phase_seconds']['generate']} s")
        if opts["import_rows"]:
            with _stopwatch(figures, "import_ratio"):
                figures.update(self._import_ratio(opts["import_rows"], persons, repeat))
        with _stopwatch(figures, "bare_vs_scan"):
            figures.update(self._bare_vs_scan(repeat))
        if not sim_range:
            sim_range = max(1, -(-self._wuhai_persons() // 8))
        figures["simulation_range_persons"] = sim_range
        env = {
            "HIGH_COST_SCAN_CHUNKS": str(chunks),
            "HIGH_COST_SCAN_CHUNK_MIN_ROWS": "0",
            "SIMULATION_RANGE_PERSONS": str(sim_range),
        }
        for workers in (1, 2):
            with _stopwatch(figures, f"workers_{workers}"), _Workers(workers, env, self._log):
                figures[f"scan_{workers}_worker_seconds"] = self._scan_on_workers(repeat)
                if not opts["skip_simulation"]:
                    figures[f"simulation_{workers}_worker"] = self._simulate_on_workers(
                        opts["sim_repeat"]
                    )
        if not opts["skip_simulation"]:
            with _stopwatch(figures, "engine"):
                figures["engine"] = self._engine(engine_bills)
        figures.update(_ratios(figures))
        with _stopwatch(figures, "incremental_scan"):
            figures["incremental_scan"] = bench_scan.incremental_scan(opts["new_rows"], self._log)
        with _stopwatch(figures, "register_persons"):
            figures["register_persons"] = bench_scan.register_persons(self._log)
        with _stopwatch(figures, "person_list"):
            figures["person_list"] = bench_scan.person_list(opts["list_requests"], self._log)
        figures["load_average_at_end"] = os.getloadavg()
        self.stdout.write(json.dumps(figures, ensure_ascii=False, indent=2))

    def _check_target(self, force: bool):
        check_worker_bench_target("bench_region", force=force)

    def _wuhai_persons(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(DISTINCT certno) FROM monitoring_settlement "
                "WHERE year = %s AND insu_admdvs LIKE '1503%%'",
                [SCAN_YEAR],
            )
            return cursor.fetchone()[0]

    def _log(self, message):
        self.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}")

    def _import_ratio(self, rows: int, persons: int, repeat: int) -> dict:
        """The import against its floor (`monitoring.bench_import`), persons after ours."""
        regions = bench_regions()
        certno = bench_import.person_certno(persons, regions)
        return bench_import.run(
            rows, repeat, certno, lambda p: regions[(persons + p) % len(regions)], self._log
        )

    def _reset(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE monitoring_alertnote, monitoring_alert, monitoring_historicalalert, "
                "monitoring_checkrun, monitoring_highcostscanstate, monitoring_settlement, "
                "monitoring_settlement_key, "
                "monitoring_settlementimport, monitoring_historicalsettlementimport, "
                "core_runchunk, core_chunkedrun, claims_simulationrun, "
                "beneficiaries_identity, beneficiaries_historicalidentity CASCADE"
            )
            cursor.execute("DELETE FROM beneficiaries_person WHERE id_number LIKE '15%%'", [])

    def _generate(self, count: int, persons: int) -> int:
        """Rows straight into the table from a server-side generator (not what is measured)."""
        regions = bench_regions()
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_person")
            cursor.execute(
                "CREATE TEMP TABLE bench_person (idx integer PRIMARY KEY, certno text, region text)"
            )
            with cursor.copy("COPY bench_person (idx, certno, region) FROM STDIN") as copy:
                for index in range(persons):
                    copy.write_row(
                        (index, bench_certno(index, regions), regions[index % len(regions)])
                    )
            partitions.ensure_years(YEARS)
            cursor.execute(_SETTLEMENTS, {"persons": persons, "last": count - 1})
            settlement_keys.fill_from_settlements(cursor)
            self._register_wuhai(cursor)
            cursor.execute("VACUUM ANALYZE monitoring_settlement")
            cursor.execute("VACUUM ANALYZE monitoring_settlement_key")
            cursor.execute("ANALYZE beneficiaries_person")
            cursor.execute("ANALYZE beneficiaries_identity")
        return len({region[:4] for region in regions})

    def _register_wuhai(self, cursor):
        """Wuhai's persons in the register, each with an identity (six categories in turn)."""
        cursor.execute(
            "INSERT INTO beneficiaries_person (id_number, name, sex, birth_date, phone, "
            "region_id, residence, relation, created_at, updated_at) "
            "SELECT certno, '测试' || idx, 'M', date '1960-01-01', '', region, 'urban', '', "
            "now(), now() FROM bench_person WHERE region LIKE '1503%%' "
            "ON CONFLICT (id_number) DO NOTHING",
            [],
        )
        cursor.execute(
            "INSERT INTO beneficiaries_identity (person_id, category, start, department, "
            "document, region_id, end_reason, created_at) "
            "SELECT p.id, (ARRAY['destitute','subsistence','poverty_risk','near_subsistence',"
            "'illness_impoverished','other_special'])[1 + p.id %% 6], date '2020-01-01', "
            "'civil_affairs', '', p.region_id, '', now() FROM beneficiaries_person p "
            "JOIN bench_person b ON b.certno = p.id_number",
            [],
        )

    def _bare(self) -> float:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), SUM(s) FROM (SELECT certno, SUM(psn_part_amt) AS s "
                "FROM monitoring_settlement WHERE year = %s GROUP BY certno) t",
                [SCAN_YEAR],
            )
            cursor.fetchone()
        return time.monotonic() - started

    def _bare_vs_scan(self, repeat: int) -> dict:
        """The full scan in this process (one query) interleaved with the bare GROUP BY: a
        first run (it creates the alerts), then `repeat` re-scans; and the burden query
        alone (`scan_burdens`), interleaved the same way."""
        from monitoring.checks import check_run

        bare, scans, queries, run, first = [self._bare()], [], [], None, None
        for _n in range(repeat + 1):
            settings.HIGH_COST_SCAN_CHUNKS = 1  # this process, one query
            run = check_run(name="high_cost", period=str(SCAN_YEAR), options={"full": True})
            if run.outcome != "success":
                raise CommandError(run.error)
            if first is None:
                first = run
            else:
                scans.append(run.seconds)
                queries.append(_burden_query_seconds())
            bare.append(self._bare())
        bare_median = statistics.median(bare)
        self._log(f"bare GROUP BY {bare}; scan {first.seconds} then {scans}; query {queries}")
        return {
            "bare_group_by_2023_seconds": [round(b, 2) for b in bare],
            "scan_first_run_seconds": round(first.seconds, 2),
            "scan_one_query_seconds": [round(s, 2) for s in scans],
            "burden_query_seconds": [round(q, 2) for q in queries],
            "scan_rows_scanned": run.rows_scanned,
            "scan_alerts_created_first_run": first.alerts_created,
            "scan_vs_bare_ratio": round(statistics.median(scans) / bare_median, 2),
            "scan_first_run_vs_bare_ratio": round(first.seconds / bare_median, 2),
            "burden_query_vs_bare_ratio": round(statistics.median(queries) / bare_median, 2),
        }

    def _scan_on_workers(self, repeat: int) -> list[float]:
        from monitoring.models import HighCostScanState
        from monitoring.tasks import run_check_task

        seconds = []
        for _n in range(repeat):
            HighCostScanState.objects.all().delete()  # a full scan each time
            started = time.monotonic()
            result = run_check_task.delay("high_cost", str(SCAN_YEAR))
            record = result.get(timeout=3600, interval=0.05)  # the result table, polled
            seconds.append(round(time.monotonic() - started, 2))
            if record["outcome"] != "success":
                raise CommandError(str(record))
        self._log(f"scan on workers: {seconds}")
        return seconds

    def _simulate_on_workers(self, repeat: int) -> dict:
        from claims.bench_runs import timed_simulation_run
        from claims.simulation import policy_document, policy_for_year
        from core.models import User

        user, _ = User.objects.get_or_create(username="bench_region", defaults={"is_staff": True})
        draft = policy_document(policy_for_year(WUHAI, SCAN_YEAR))
        draft["annual_cap"] = "50000.00"
        seconds, run = [], None
        for _n in range(repeat):
            took, run = timed_simulation_run(
                area=WUHAI, year=SCAN_YEAR, draft=draft, user=user, timeout=3600
            )
            seconds.append(took)
        self._log(f"simulation on workers: {seconds} ({run.result['bills']:,} bills)")
        return {
            "seconds": seconds,
            "persons": run.result["persons"],
            "bills": run.result["bills"],
            "chunks": run.chunks_total,
        }

    def _engine(self, bills: int) -> dict:
        out = StringIO()
        call_command("bench_engine", bills=bills, repeat=1, stdout=out)
        match = re.search(r"([\d,]+) bills/s", out.getvalue())
        rate = int(match.group(1).replace(",", "")) if match else None
        self._log(f"bench_engine: {rate:,} bills/s")
        return {"bills": bills, "bills_per_second": rate}


def _burden_query_seconds() -> float:
    """The full scan's burden query alone (as the check runs it, same lines and floors)."""
    from monitoring.checks import parse_period
    from monitoring.checks.burden import scan_burdens
    from monitoring.checks.high_cost import policy_lines

    period = parse_period(str(SCAN_YEAR))
    lines = policy_lines(period)
    started = time.monotonic()
    scan_burdens(
        None,
        year=SCAN_YEAR,
        period_end=period.end,
        floor=min(v.impoverishment for v in lines.values()) - 1,
        pr_floor=min(v.poverty_return for v in lines.values()) - 1,
        reference=period.reference_date(),
        touched_after=None,
        touched_certnos=set(),
    )
    return time.monotonic() - started


@contextmanager
def _stopwatch(figures: dict, name: str):
    """The wall time of one phase, in figures["phase_seconds"][name]."""
    started = time.monotonic()
    yield
    figures.setdefault("phase_seconds", {})[name] = round(time.monotonic() - started, 1)


def _ratios(figures: dict) -> dict:
    one = statistics.median(figures["scan_1_worker_seconds"])
    two = statistics.median(figures["scan_2_worker_seconds"])
    if "engine" not in figures:  # --skip-simulation
        return {"scan_speedup_2_vs_1_workers": round(one / two, 2)}
    sim1, sim2 = figures["simulation_1_worker"], figures["simulation_2_worker"]
    s1, s2 = statistics.median(sim1["seconds"]), statistics.median(sim2["seconds"])
    engine = figures["engine"]["bills_per_second"] or 0
    # Each bill is assessed twice (policy in force and draft): assessments/s per worker.
    per_worker_1 = 2 * sim1["bills"] / s1
    per_worker_2 = 2 * sim2["bills"] / s2 / 2
    return {
        "scan_speedup_2_vs_1_workers": round(one / two, 2),
        "simulation_speedup_2_vs_1_workers": round(s1 / s2, 2),
        "simulation_assessments_per_second_per_worker": [
            round(per_worker_1),
            round(per_worker_2),
        ],
        "simulation_per_worker_vs_engine": [
            round(per_worker_1 / engine, 2) if engine else None,
            round(per_worker_2 / engine, 2) if engine else None,
        ],
    }


class _Workers:
    """`count` worker processes on the checks and simulation queues, for a `with` block."""

    def __init__(self, count: int, env: dict, log):
        self.count, self.env, self.log, self.processes = count, env, log, []

    def __enter__(self):
        from config.celery import app

        app.control.purge()
        env = {**os.environ, **self.env}
        for n in range(self.count):
            self.processes.append(
                subprocess.Popen(
                    [
                        *(sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo"),
                        *("-Q", "checks,simulation", "-l", "error", "-n", f"bench{n}@%h"),
                        *("--without-gossip", "--without-mingle"),
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,  # the banner; the figures own stdout
                )
            )
        deadline = time.monotonic() + 60
        while len(app.control.ping(timeout=1)) < self.count:
            if time.monotonic() > deadline:
                raise CommandError("the workers did not start")
        self.log(f"{self.count} worker(s) up")
        return self

    def __exit__(self, *exc_info):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=60)


# Persons take turns over the regions; each pass over the persons is the other year. Every 200th
# person has heavy bills (about 0.5% alert); the rest stay low.
_SETTLEMENTS = """
INSERT INTO monitoring_settlement (
    setl_id, psn_name, certno, psn_cert_type, insutype, med_type, visit_type,
    begndate, enddate, year, setl_time, fixmedins_code, fixmedins_name,
    insu_admdvs, medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, hifp_pay,
    hifmi_pay, maf_pay, fund_pay_sumamt, psn_part_amt, hosp_part_amt,
    refd_setl_flag, init_setl_id, batch_id)
SELECT 'B' || g, '测试' || p.idx, p.certno, '01', '390',
       CASE WHEN g %% 5 = 0 THEN '21' ELSE '11' END,
       CASE WHEN g %% 5 = 0 THEN 'inpatient' ELSE 'general_outpatient' END,
       d, d, extract(year FROM d)::int, d + time '10:00', 'H' || (g %% 50), '医院' || (g %% 50),
       p.region, amt * 3, amt * 2, 0, amt * 2, 0, 0, amt * 2, amt, 0, false, '', NULL
FROM (
    SELECT g, (CASE WHEN (g / %(persons)s) %% 2 = 0 THEN date '2022-01-01'
                    ELSE date '2023-01-01' END) + (g %% 365)::int AS d,
           CASE WHEN (g %% %(persons)s) %% 200 = 0 THEN 12000.00
                ELSE ((g * 7919) %% 150000) / 100.0 END::numeric(14,2) AS amt
    FROM generate_series(0::bigint, %(last)s) AS g
) rows
JOIN bench_person p ON p.idx = g %% %(persons)s
"""
