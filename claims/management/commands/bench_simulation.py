"""`python manage.py bench_simulation` — the 测算 at 10,000,000 settlements on 1 and 2 workers.

PostgreSQL + Redis only, against a dedicated database (its name must contain "bench"): it
empties the settlement, identity, person and run tables first. In one run it

1. generates `--rows` settlements (default 10,000,000) of one year (2023) for `--persons`
   persons (2,000,000) in Wuhai's three districts, server-side (INSERT … SELECT over
   generate_series); about 1% of them are full reversals of an earlier settlement, a few go to
   institutions outside the city or the region; every person is registered with an identity
   (the six categories in turn; some end mid-year, some persons hold a second one), so the
   engine has real work under both policies;
2. starts 1, then 2 worker processes (`celery -A config worker -P solo`, as `bench_region`) and
   times a recorded 测算 run of Wuhai 2023 (SimulationRun + `simulation_run_task`, its person
   ranges fanned out over the workers) from the task being queued to the result being saved;
3. runs `bench_engine` for the engine's bare bills/s on this machine, the baseline of the
   per-worker rate (each bill is assessed twice: under the policy in force and the draft).

Figures are printed as JSON with the load average (the machine may be shared). `--skip-generate`
reuses the data of an earlier run.
"""

import gc
import json
import os
import re
import statistics
import time
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from core import idnumber
from monitoring import partitions, settlement_keys
from monitoring.management.commands.bench_region import _Workers, check_worker_bench_target

YEAR = 2023
WUHAI = "150300"
DISTRICTS = ("150302", "150303", "150304")
# Institutions of the bench: in the three districts, elsewhere in Inner Mongolia (Baotou: no
# tilted pass lost, but outside the city) and outside the region (Beijing: no tilted pass).
INSTITUTIONS = (
    *(f"H{district}{n:05d}" for district in DISTRICTS for n in range(1, 11)),
    "H15020200001",
    "H15020200002",
    "H11010100001",
)


def bench_certno(index: int) -> str:
    """The resident ID number of bench person `index` (valid: region, birth date, check digit)."""
    from datetime import date, timedelta

    born = date(1940, 1, 1) + timedelta(days=(index // 1000) % 25000)
    return idnumber.make(DISTRICTS[index % len(DISTRICTS)], born, index % 1000)


class Command(BaseCommand):
    help = "Benchmark the 测算 over 1 and 2 Celery workers against bench_engine (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000_000)
        parser.add_argument("--persons", type=int, default=2_000_000)
        parser.add_argument(
            "--range-persons",
            type=int,
            default=0,
            help="persons per chunk task (0: the SIMULATION_RANGE_PERSONS setting)",
        )
        parser.add_argument("--engine-bills", type=int, default=200_000)
        parser.add_argument("--repeat", type=int, default=1, help="timed runs on each worker count")
        parser.add_argument("--skip-generate", action="store_true")
        parser.add_argument(
            "--cpu",
            action="store_true",
            help="also run the ranges in this process, timed by CPU (the engine's share of it)",
        )
        parser.add_argument("--force", action="store_true", help="a database without 'bench'")

    def handle(self, *args, rows, persons, range_persons, engine_bills, repeat, **opts):
        self._check_target(opts["force"])
        figures = {
            "database": connection.settings_dict["NAME"],
            "load_average_at_start": os.getloadavg(),
        }
        if not opts["skip_generate"]:
            started = time.monotonic()
            self._reset()
            self._generate(rows, persons)
            figures["generate_seconds"] = round(time.monotonic() - started, 1)
            self._log(f"generated {rows:,} rows in {figures['generate_seconds']} s")
        figures.update(self._counts())
        range_persons = range_persons or settings.SIMULATION_RANGE_PERSONS
        figures["range_persons"] = range_persons
        env = {"SIMULATION_RANGE_PERSONS": str(range_persons)}
        for workers in (1, 2):
            with _Workers(workers, env, self._log):
                figures[f"simulation_{workers}_worker"] = self._simulate(workers, repeat)
        if opts["cpu"]:
            figures["in_process_cpu"] = self._in_process_cpu()
        figures["engine"] = self._engine(engine_bills)
        figures.update(_ratios(figures))
        figures["load_average_at_end"] = os.getloadavg()
        self.stdout.write(json.dumps(figures, ensure_ascii=False, indent=2))

    def _check_target(self, force: bool):
        check_worker_bench_target("bench_simulation", force=force)

    def _log(self, message):
        self.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}")

    def _reset(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE monitoring_settlement, monitoring_settlement_key, "
                "monitoring_settlementimport, "
                "monitoring_historicalsettlementimport, core_runchunk, core_chunkedrun, "
                "claims_simulationrun, beneficiaries_identity, beneficiaries_historicalidentity "
                "CASCADE"
            )
            cursor.execute("DELETE FROM beneficiaries_person WHERE id_number LIKE '15%%'", [])
            cursor.execute("DELETE FROM claims_institution WHERE code LIKE 'H%%'", [])

    def _generate(self, rows: int, persons: int) -> None:
        """Rows straight into the tables from server-side generators (not what is measured)."""
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_person")
            cursor.execute(
                "CREATE TEMP TABLE bench_person (idx integer PRIMARY KEY, certno text, region text)"
            )
            with cursor.copy("COPY bench_person (idx, certno, region) FROM STDIN") as copy:
                for index in range(persons):
                    copy.write_row((index, bench_certno(index), DISTRICTS[index % 3]))
            self._log(f"{persons:,} persons listed")
            cursor.execute(
                "INSERT INTO claims_institution (code, name, level, admdvs, designated) "
                "SELECT code, '测试医院' || code, 2, substr(code, 2, 6), true "
                "FROM unnest(%s::text[]) AS code",
                [list(INSTITUTIONS)],
            )
            partitions.ensure_years([YEAR])
            cursor.execute(
                _SETTLEMENTS,
                {"persons": persons, "last": rows - 1, "codes": list(INSTITUTIONS), "year": YEAR},
            )
            settlement_keys.fill_from_settlements(cursor)  # setl_id unique, as imports keep it
            self._log(f"{rows:,} settlements inserted")
            self._register(cursor)
            cursor.execute("VACUUM ANALYZE monitoring_settlement")
            cursor.execute("VACUUM ANALYZE monitoring_settlement_key")
            for table in ("beneficiaries_person", "beneficiaries_identity", "claims_institution"):
                cursor.execute(f"ANALYZE {table}")

    def _register(self, cursor):
        """Every person in the register with an identity (the six categories in turn; every
        10th ends in mid-June, every 7th also holds near_subsistence from April)."""
        cursor.execute(
            "INSERT INTO beneficiaries_person (id_number, name, sex, birth_date, phone, "
            "region_id, residence, relation, created_at, updated_at) "
            "SELECT certno, '测试' || idx, 'M', date '1960-01-01', '', region, 'urban', '', "
            "now(), now() FROM bench_person ON CONFLICT (id_number) DO NOTHING",
            [],
        )
        cursor.execute(
            'INSERT INTO beneficiaries_identity (person_id, category, start, "end", department, '
            "document, region_id, end_reason, created_at) "
            "SELECT p.id, (ARRAY['destitute','subsistence','poverty_risk','near_subsistence',"
            "'illness_impoverished','other_special'])[1 + b.idx %% 6], date '2020-01-01', "
            "CASE WHEN b.idx %% 10 = 3 THEN date '2023-06-15' END, "
            "'civil_affairs', '', p.region_id, '', now() FROM beneficiaries_person p "
            "JOIN bench_person b ON b.certno = p.id_number",
            [],
        )
        cursor.execute(
            "INSERT INTO beneficiaries_identity (person_id, category, start, department, "
            "document, region_id, end_reason, created_at) "
            "SELECT p.id, 'near_subsistence', date '2023-04-01', 'rural_revitalization', '', "
            "p.region_id, '', now() FROM beneficiaries_person p "
            "JOIN bench_person b ON b.certno = p.id_number "
            "WHERE b.idx %% 7 = 5 AND b.idx %% 6 <> 3",
            [],
        )
        self._log("persons and identities registered")

    def _counts(self) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), COUNT(DISTINCT certno), COUNT(*) FILTER (WHERE refd_setl_flag) "
                "FROM monitoring_settlement WHERE year = %s",
                [YEAR],
            )
            rows, persons, reversals = cursor.fetchone()
        return {"rows": rows, "persons": persons, "reversals": reversals}

    def _simulate(self, workers: int, repeat: int) -> dict:
        from claims.bench_runs import timed_simulation_run
        from core.models import User

        user, _ = User.objects.get_or_create(username="bench_simulation")
        draft = _draft()
        seconds, run = [], None
        for _n in range(repeat):
            took, run = timed_simulation_run(
                area=WUHAI, year=YEAR, draft=draft, user=user, timeout=3 * 3600
            )
            seconds.append(took)
            self._log(f"{workers} worker(s): {seconds[-1]} s, load {os.getloadavg()}")
        return {
            "seconds": seconds,
            "persons": run.result["persons"],
            "bills": run.result["bills"],
            "chunks": run.chunks_total,
            "difference": run.result["difference"],
            "load_average": os.getloadavg(),
        }

    def _in_process_cpu(self) -> dict:
        """The run's ranges one after the other in this process, timed by CPU time (which the
        machine's other load hardly changes, unlike wall time), and the part of it spent in
        the engine's `assess_bills`: the per-worker cost of everything around the engine."""
        from claims import adapters, engine
        from claims.management.commands.assess import _policy
        from claims.simulation import person_ranges, policy_for_year, simulate_chunk
        from core.dates import shanghai_today

        policies = {
            "in_force": adapters.engine_policy(policy_for_year(WUHAI, YEAR)),
            "draft": _policy(_draft()),
        }
        real, spent = engine.assess_bills, [0.0]

        def timed(*args, **kwargs):
            started = time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - started

        bills, wall, cpu = 0, time.monotonic(), time.process_time()
        engine.assess_bills = timed
        try:
            for lo, hi in person_ranges(YEAR):
                bills += simulate_chunk(
                    area_code=WUHAI, year=YEAR, lo=lo, hi=hi, policies=policies,
                    today=shanghai_today(),
                ).bills  # fmt: skip
        finally:
            engine.assess_bills = real
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
        self._log(f"in process: {cpu:.1f} s CPU ({spent[0]:.1f} s in the engine), {wall:.1f} s")
        return {
            "bills": bills,
            "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1),
            "engine_cpu_seconds": round(spent[0], 1),
            "assessments_per_cpu_second": round(2 * bills / cpu),
            "engine_assessments_per_cpu_second": round(2 * bills / spent[0]),
            "engine_share_of_cpu": round(spent[0] / cpu, 2),
        }

    def _engine(self, bills: int) -> dict:
        """bench_engine as it stands, and again with the garbage collector off: bench_engine
        holds every bill and result of its run alive, so the collector's passes over them
        weigh on its figure (a worker's objects die young)."""
        rates = []
        for collect in (True, False):
            out = StringIO()
            gc.collect()
            if not collect:
                gc.disable()
            try:
                call_command("bench_engine", bills=bills, repeat=3, stdout=out)
            finally:
                gc.enable()
            match = re.search(r"([\d,]+) bills/s", out.getvalue())
            rates.append(int(match.group(1).replace(",", "")) if match else None)
        self._log(f"bench_engine: {rates[0]:,} bills/s ({rates[1]:,} without the collector)")
        return {"bills": bills, "bills_per_second": rates[0], "bills_per_second_no_gc": rates[1]}


def _draft() -> dict:
    """The policy in force with a lower cap and a higher near_subsistence ratio."""
    from claims.simulation import policy_document, policy_for_year

    draft = policy_document(policy_for_year(WUHAI, YEAR))
    draft["annual_cap"] = "50000.00"
    draft["categories"]["near_subsistence"]["ratio"] = "0.80"
    return draft


def _ratios(figures: dict) -> dict:
    one, two = figures["simulation_1_worker"], figures["simulation_2_worker"]
    s1, s2 = statistics.median(one["seconds"]), statistics.median(two["seconds"])
    engine = figures["engine"]
    # Each bill is assessed twice (policy in force and draft): assessments/s per worker.
    per_worker = [2 * one["bills"] / s1, 2 * two["bills"] / s2 / 2]

    def versus(rate):
        return [round(r / rate, 2) for r in per_worker] if rate else None

    # The target is for 10,000,000 rows: a smaller run is scaled (the work is per row).
    at_10m = s2 * 10_000_000 / max(1, figures["rows"])
    return {
        "two_workers_seconds_scaled_to_10m_rows": round(at_10m, 1),
        "speedup_2_vs_1_workers": round(s1 / s2, 2),
        "assessments_per_second_per_worker": [round(rate) for rate in per_worker],
        "per_worker_vs_engine": versus(engine["bills_per_second"]),
        "per_worker_vs_engine_no_gc": versus(engine["bills_per_second_no_gc"]),
        "targets": {
            "two_workers_at_most_150_seconds_at_10m_rows": at_10m <= 150,
            "speedup_at_least_1_6": s1 / s2 >= 1.6,
            "per_worker_at_least_0_7_engine": min(versus(engine["bills_per_second"]) or [0]) >= 0.7,
        },
    }


# Person p = g mod persons has the rows g = p, p + persons, p + 2·persons, …: about rows/persons
# each, on days spread over the year; every 5th row is a stay. In the second pass every 20th row
# fully reverses the person's row of the first pass (same year, settled a day later). Amounts:
# self-pay 30% of the policy range; every 200th person has heavy bills (reaches the caps).
_SETTLEMENTS = """
INSERT INTO monitoring_settlement (
    setl_id, psn_name, certno, psn_cert_type, insutype, med_type, visit_type,
    begndate, enddate, year, setl_time, fixmedins_code, fixmedins_name,
    insu_admdvs, medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, hifp_pay,
    hifmi_pay, maf_pay, fund_pay_sumamt, psn_part_amt, hosp_part_amt,
    refd_setl_flag, init_setl_id, batch_id)
SELECT CASE WHEN rev THEN 'R' ELSE 'S' END || g, '测试' || p.idx, p.certno, '01', '390',
       CASE WHEN inpatient THEN '21' ELSE '11' END,
       CASE WHEN inpatient THEN 'inpatient' ELSE 'general_outpatient' END,
       d - CASE WHEN inpatient THEN (base %% 9)::int ELSE 0 END, d, %(year)s,
       d + time '10:00' + CASE WHEN rev THEN interval '1 day' ELSE interval '0' END,
       code, '测试医院' || code, p.region,
       sign * amt * 3, sign * amt * 2, 0, sign * round(amt * 1.2, 2), sign * round(amt * 0.2, 2),
       sign * round(amt * 0.3, 2),
       sign * (round(amt * 1.2, 2) + round(amt * 0.2, 2) + round(amt * 0.3, 2)),
       sign * (amt * 3 - round(amt * 1.2, 2) - round(amt * 0.2, 2) - round(amt * 0.3, 2)), 0,
       rev, CASE WHEN rev THEN 'S' || base ELSE '' END, NULL
FROM (
    SELECT g, rev, base, base %% 5 = 0 AS inpatient, CASE WHEN rev THEN -1 ELSE 1 END AS sign,
           date '2023-01-01' + ((base * 37) %% 364)::int AS d,
           (%(codes)s::text[])[1 + (base * 13) %% cardinality(%(codes)s::text[])] AS code,
           CASE WHEN (g %% %(persons)s) %% 200 = 0 THEN 12000.00
                ELSE ((base * 7919) %% 300000) / 100.0 END::numeric(14,2) AS amt
    FROM (
        SELECT g, rev, CASE WHEN rev THEN g - %(persons)s ELSE g END AS base
        FROM (
            SELECT g, (g >= %(persons)s AND g < 2 * %(persons)s::bigint AND g %% 20 = 7) AS rev
            FROM generate_series(0::bigint, %(last)s) AS g
        ) flagged
    ) based
) rows
JOIN bench_person p ON p.idx = g %% %(persons)s
"""
