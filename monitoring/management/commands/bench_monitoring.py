"""`python manage.py bench_monitoring` — settlement import and high-cost scan at scale.

On PostgreSQL only, against a dedicated database (its name must contain "bench", or pass
--force): it empties the monitoring tables first. In one run it

1. generates `--rows` settlements (default 10,000,000) for `--persons` persons (2,000,000) of
   one year, server-side from a generator (all but the last `--import-rows`);
2. imports the last `--import-rows` (default 1,000,000) from a CSV file through the real
   importer (streaming read, row checks, COPY into staging, set-based checks, merge) and prints
   its throughput (target ≥ 50,000 rows/s);
3. times a bare `SELECT certno, SUM(psn_part_amt) … GROUP BY certno` over the year and the full
   high-cost scan over the same rows, first run (creating the alerts) and a re-run (target:
   scan ≤ 1.5 × bare);
4. imports `--incremental` (100,000) new rows and times the incremental scan (target ≤ 5 s).

Figures are printed as JSON at the end. The machine's load is reported: runs on a shared
machine are contended.
"""

import json
import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core import idnumber
from monitoring import partitions, settlement_keys
from monitoring.checks import check_run
from monitoring.settlements import settlement_import

YEAR = 2023
REGIONS = ["150302", "150303", "150304"]
HEADER = (
    "setl_id,psn_name,certno,insutype,med_type,begndate,enddate,setl_time,fixmedins_code,"
    "fixmedins_name,insu_admdvs,medfee_sumamt,inscp_scp_amt,fulamt_ownpay_amt,hifp_pay,"
    "hifmi_pay,maf_pay,fund_pay_sumamt,psn_part_amt,hosp_part_amt,refd_setl_flag,init_setl_id"
)


def bench_certno(index: int) -> str:
    """The ID number of benchmark person `index` (deterministic, valid)."""
    region = REGIONS[index % 3]
    born = date(1940, 1, 1) + timedelta(days=(index // 1000) % 25000)
    return idnumber.make(region, born, index % 1000)


class Command(BaseCommand):
    help = "Benchmark the settlement import and the high-cost scan (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000_000)
        parser.add_argument("--persons", type=int, default=2_000_000)
        parser.add_argument("--import-rows", type=int, default=1_000_000)
        parser.add_argument("--incremental", type=int, default=100_000)
        parser.add_argument("--work-mem", default="256MB", help="session work_mem for both")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, rows, persons, import_rows, incremental, work_mem, force, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_monitoring runs on PostgreSQL only")
        name = connection.settings_dict["NAME"]
        if "bench" not in name and not force:
            raise CommandError(f"refusing to empty the monitoring tables of {name!r} (use --force)")
        import_rows = min(import_rows, rows)
        figures = {
            "database": name,
            "rows": rows,
            "persons": persons,
            "load_average_at_start": os.getloadavg(),
        }
        with connection.cursor() as cursor:
            cursor.execute(f"SET work_mem = '{work_mem}'")
        figures["work_mem"] = work_mem
        self._reset()
        started = time.monotonic()
        self._generate(rows - import_rows, persons)
        figures["generate_seconds"] = round(time.monotonic() - started, 1)
        self._log(f"generated {rows - import_rows:,} rows in {figures['generate_seconds']} s")

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "extract.csv")
            self._write_csv(path, import_rows, persons, start=rows - import_rows, seed=1)
            # The import starts from a settled table, as a monthly import would, not in the
            # middle of the generator's checkpoints and autovacuum.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE monitoring_settlement")
                cursor.execute("CHECKPOINT")
            result = settlement_import(path=path)
            if result.errors:
                raise CommandError(f"import had errors: {result.errors[:3]}")
            figures["import_rows"] = import_rows
            figures["import_seconds"] = round(result.seconds, 2)
            figures["import_rows_per_second"] = round(import_rows / result.seconds)
            self._log(
                f"imported {import_rows:,} rows: {figures['import_rows_per_second']:,} rows/s"
            )
            os.unlink(path)

            self._full_scans(figures)

            path = os.path.join(tmp, "new.csv")
            self._write_csv(path, incremental, persons, start=rows, seed=2)
            result = settlement_import(path=path)
            figures["incremental_import_rows_per_second"] = round(incremental / result.seconds)
            inc = self._scan(full=False)
            figures["incremental_rows"] = incremental
            figures["incremental_scan_seconds"] = round(inc.seconds, 2)
            figures["incremental_mode"] = inc.mode
            figures["incremental_rows_scanned"] = inc.rows_scanned
            figures["incremental_alerts"] = [
                inc.alerts_created,
                inc.alerts_updated,
                inc.alerts_closed,
            ]
            self._log(
                f"incremental scan after {incremental:,} rows: {inc.seconds:.2f} s ({inc.mode})"
            )
        figures["load_average_at_end"] = os.getloadavg()
        figures["targets_met"] = {
            "import_rows_per_second>=50000": figures["import_rows_per_second"] >= 50_000,
            "full_scan<=1.5x_bare (first run)": figures["full_scan_first_ratio"] <= 1.5,
            "full_scan<=1.5x_bare (re-scan)": figures["full_rescan_ratio"] <= 1.5,
            "incremental_scan<=5s": figures["incremental_scan_seconds"] <= 5,
        }
        self.stdout.write(json.dumps(figures, ensure_ascii=False, indent=2))

    def _full_scans(self, figures: dict) -> None:
        """The first full scan and two re-scans, each beside a bare GROUP BY of the same run."""
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE monitoring_settlement")
        # Interleaved, so both see the same (shared, contended) machine: the first scan
        # creates the alerts; the re-scans find nothing to change.
        bare, rescans = [self._bare()], []
        first = self._scan(full=True)
        for _ in range(2):
            bare.append(self._bare())
            rescans.append(self._scan(full=True).seconds)
        bare.append(self._bare())
        bare_median = statistics.median(bare)
        rescan_median = statistics.median(rescans)
        figures["bare_group_by_seconds_median"] = round(bare_median, 2)
        figures["bare_group_by_all_runs"] = [round(b, 2) for b in bare]
        figures["full_scan_first_seconds"] = round(first.seconds, 2)
        figures["full_scan_rows_scanned"] = first.rows_scanned
        figures["full_scan_alerts_created"] = first.alerts_created
        figures["full_rescan_all_runs"] = [round(r, 2) for r in rescans]
        figures["full_scan_first_ratio"] = round(first.seconds / bare_median, 2)
        figures["full_rescan_ratio"] = round(rescan_median / bare_median, 2)
        self._log(
            f"bare GROUP BY median {bare_median:.2f} s {figures['bare_group_by_all_runs']}; "
            f"first full scan {first.seconds:.2f} s (ratio {figures['full_scan_first_ratio']}), "
            f"re-scans {figures['full_rescan_all_runs']} (ratio {figures['full_rescan_ratio']})"
        )

    def _log(self, message):
        self.stderr.write(message)

    def _reset(self):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE monitoring_alertnote, monitoring_alert, monitoring_historicalalert, "
                "monitoring_checkrun, monitoring_highcostscanstate, monitoring_settlement, "
                "monitoring_settlement_key, "
                "monitoring_settlementimport, monitoring_historicalsettlementimport CASCADE"
            )

    def _generate(self, count: int, persons: int):
        """Rows straight into the table from a server-side generator (not what is measured)."""
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_person")
            cursor.execute("CREATE TEMP TABLE bench_person (idx integer PRIMARY KEY, certno text)")
            with cursor.copy("COPY bench_person (idx, certno) FROM STDIN") as copy:
                for index in range(persons):
                    copy.write_row((index, bench_certno(index)))
            if count <= 0:
                return
            partitions.ensure_years([YEAR])
            # Every 200th person has heavy bills (about 0.5% alert); the rest stay low.
            cursor.execute(
                """
                INSERT INTO monitoring_settlement (
                    setl_id, psn_name, certno, psn_cert_type, insutype, med_type, visit_type,
                    begndate, enddate, year, setl_time, fixmedins_code, fixmedins_name,
                    insu_admdvs, medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, hifp_pay,
                    hifmi_pay, maf_pay, fund_pay_sumamt, psn_part_amt, hosp_part_amt,
                    refd_setl_flag, init_setl_id, batch_id)
                SELECT 'B' || g, '测试' || (g %% %(persons)s), p.certno, '01', '390',
                       CASE WHEN g %% 5 = 0 THEN '21' ELSE '11' END,
                       CASE WHEN g %% 5 = 0 THEN 'inpatient' ELSE 'general_outpatient' END,
                       d, d, %(year)s, d + time '10:00', 'H' || (g %% 50), '医院' || (g %% 50),
                       CASE (g %% %(persons)s) %% 3 WHEN 0 THEN '150302' WHEN 1 THEN '150303'
                            ELSE '150304' END,
                       amt * 3, amt * 2, 0, amt * 2, 0, 0, amt * 2, amt, 0, false, '', NULL
                FROM (
                    SELECT g, date %(start)s + (g %% 365)::int AS d,
                           CASE WHEN (g %% %(persons)s) %% 200 = 0 THEN 6000.00
                                ELSE ((g * 7919) %% 150000) / 100.0 END::numeric(14,2) AS amt
                    FROM generate_series(0::bigint, %(last)s) AS g
                ) rows
                JOIN bench_person p ON p.idx = g %% %(persons)s
                """,
                {
                    "persons": persons,
                    "year": YEAR,
                    "start": date(YEAR, 1, 1),
                    "last": count - 1,
                },
            )
            settlement_keys.fill_from_settlements(cursor)

    def _write_csv(self, path: str, count: int, persons: int, *, start: int, seed: int):
        rng = random.Random(seed)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(HEADER + "\n")
            lines = []
            for n in range(start, start + count):
                index = rng.randrange(persons)
                certno = bench_certno(index)
                burden = Decimal(rng.randrange(100, 300000)) / 100
                fund = burden * 2
                day = date(YEAR, 1, 1) + timedelta(days=n % 365)
                lines.append(
                    f"I{n},测试{index},{certno},390,{'21' if n % 5 == 0 else '11'},{day},{day},"
                    f"{day} 10:00:00,H{n % 50},医院{n % 50},{REGIONS[index % 3]},"
                    f"{burden + fund},{fund},0.00,{fund},0.00,0.00,{fund},{burden},0.00,0,\n"
                )
                if len(lines) >= 10_000:
                    f.writelines(lines)
                    lines.clear()
            f.writelines(lines)

    def _bare(self) -> float:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), SUM(s) FROM (SELECT certno, SUM(psn_part_amt) AS s "
                "FROM monitoring_settlement WHERE year = %s GROUP BY certno) t",
                [YEAR],
            )
            cursor.fetchone()
        return time.monotonic() - started

    def _scan(self, *, full: bool):
        run = check_run(name="high_cost", period=str(YEAR), options={"full": full})
        if run.outcome != "success":
            raise CommandError(run.error)
        return run
