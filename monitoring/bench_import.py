"""The import's ratio to its floor, measured in one run (`bench_region --import-rows N`).

A file of N settlements of new persons and new ids (the §9.2 CSV the importer reads) is
written once. Then, interleaved and repeated:

- the floor: COPY of that file into a session table of typed columns, plus one plain
  `INSERT … SELECT` of the same rows into an unindexed, unpartitioned table of the settlement
  table's shape (committed, then dropped);
- the full import: `settlement_import` (the service of `import_settlements`, every check
  included) into the partitioned table; its rows and keys are deleted afterwards and the
  tables vacuumed (not timed), so every repeat meets a table of the same size.

Both start after a CHECKPOINT. The figures: each time, the medians, the ratio of the medians
(full / floor) and the import's rows/s.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta

from django.db import connection, transaction

from core import idnumber

YEAR = 2023
PREFIX = "IMP"  # setl_ids of the benchmark's file ('IMP' ≤ id < 'IMQ')
HEADER = (
    "setl_id,psn_name,certno,insutype,med_type,begndate,enddate,setl_time,fixmedins_code,"
    "fixmedins_name,insu_admdvs,medfee_sumamt,inscp_scp_amt,fulamt_ownpay_amt,hifp_pay,"
    "hifmi_pay,maf_pay,fund_pay_sumamt,psn_part_amt,hosp_part_amt,refd_setl_flag,init_setl_id"
)
# The floor's COPY target: the file's columns, typed.
FLOOR_STAGE = (
    "setl_id varchar(40), psn_name varchar(50), certno varchar(30), insutype varchar(6), "
    "med_type varchar(10), begndate date, enddate date, setl_time timestamptz, "
    "fixmedins_code varchar(30), fixmedins_name varchar(200), insu_admdvs varchar(6), "
    "medfee_sumamt numeric(14,2), inscp_scp_amt numeric(14,2), fulamt_ownpay_amt numeric(14,2), "
    "hifp_pay numeric(14,2), hifmi_pay numeric(14,2), maf_pay numeric(14,2), "
    "fund_pay_sumamt numeric(14,2), psn_part_amt numeric(14,2), hosp_part_amt numeric(14,2), "
    "refd_setl_flag text, init_setl_id varchar(40)"
)
FLOOR_INSERT = (
    "INSERT INTO bench_floor_target (setl_id, psn_name, certno, psn_cert_type, insutype, "
    "med_type, visit_type, begndate, enddate, year, setl_time, fixmedins_code, fixmedins_name, "
    "insu_admdvs, medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, hifp_pay, hifmi_pay, "
    "maf_pay, fund_pay_sumamt, psn_part_amt, hosp_part_amt, refd_setl_flag, init_setl_id, "
    "batch_id) "
    "SELECT setl_id, psn_name, certno, '', insutype, med_type, "
    "CASE WHEN med_type = '21' THEN 'inpatient' ELSE 'general_outpatient' END, begndate, "
    "enddate, extract(year FROM enddate)::smallint, setl_time, fixmedins_code, fixmedins_name, "
    "insu_admdvs, medfee_sumamt, inscp_scp_amt, fulamt_ownpay_amt, hifp_pay, hifmi_pay, "
    "maf_pay, fund_pay_sumamt, psn_part_amt, hosp_part_amt, refd_setl_flag = '1', "
    "COALESCE(init_setl_id, ''), NULL FROM bench_floor_stage"
)


def write_file(path: str, rows: int, certno: Callable[[int], str], region: Callable[[int], str]):
    """`rows` settlements of persons `certno(0 … rows/3)`, ids IMP0000000 …, in id order."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(HEADER + "\n")
        lines = []
        for n in range(rows):
            person = n // 3
            burden = (n * 7919) % 150000  # cents
            fund, medfee = _yuan(burden * 2), _yuan(burden * 3)
            day = date(YEAR, 1, 1) + timedelta(days=n % 365)
            lines.append(
                f"{PREFIX}{n:010d},测试{person},{certno(person)},390,"
                f"{'21' if n % 5 == 0 else '11'},{day},{day},{day} 10:00:00,H{n % 50},"
                f"医院{n % 50},{region(person)},{medfee},{fund},0.00,{fund},"
                f"0.00,0.00,{fund},{_yuan(burden)},0.00,0,\n"
            )
            if len(lines) >= 10_000:
                f.writelines(lines)
                lines.clear()
        f.writelines(lines)


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _checkpoint():
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def floor(path: str) -> float:
    """COPY of the file + a plain INSERT … SELECT into an unindexed table (seconds)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_target")
        cursor.execute(
            "CREATE TABLE bench_floor_target (LIKE monitoring_settlement INCLUDING DEFAULTS "
            "INCLUDING IDENTITY)"
        )
    _checkpoint()
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bench_floor_stage ({FLOOR_STAGE}) ON COMMIT DROP")
        with (
            open(path, "rb") as f,
            cursor.copy("COPY bench_floor_stage FROM STDIN WITH (FORMAT csv, HEADER true)") as copy,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        cursor.execute(FLOOR_INSERT)
    seconds = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor_target")
    return seconds


def full(path: str, rows: int) -> float:
    """The full import of the file (seconds); its rows are removed afterwards."""
    from monitoring.settlements import settlement_import

    _checkpoint()
    started = time.monotonic()
    result = settlement_import(path=path)
    seconds = time.monotonic() - started
    if not result.applied or result.imported != rows:
        raise RuntimeError(f"the benchmark import did not apply: {result.errors[:3]}")
    undo(result.batch_id)
    return seconds


def undo(batch_id: int | None) -> None:
    """Remove the benchmark file's rows and keys, and vacuum (not timed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM monitoring_settlement WHERE year = %s AND batch_id = %s", [YEAR, batch_id]
        )
        cursor.execute(
            "DELETE FROM monitoring_settlement_key WHERE setl_id >= %s AND setl_id < %s",
            [PREFIX, PREFIX[:-1] + chr(ord(PREFIX[-1]) + 1)],
        )
        cursor.execute("VACUUM ANALYZE monitoring_settlement")
        cursor.execute("VACUUM ANALYZE monitoring_settlement_key")


def run(rows: int, repeat: int, certno, region, log) -> dict:
    """The interleaved floor / full-import runs and their ratio."""
    handle, path = tempfile.mkstemp(suffix=".csv", prefix="bench_import_")
    os.close(handle)
    try:
        started = time.monotonic()
        write_file(path, rows, certno, region)
        log(
            f"import file: {rows:,} rows, {os.path.getsize(path) >> 20} MB in "
            f"{time.monotonic() - started:.1f} s"
        )
        floors, fulls = [], []
        for _ in range(repeat):
            floors.append(floor(path))
            fulls.append(full(path, rows))
            log(f"import floor {floors[-1]:.2f} s, full import {fulls[-1]:.2f} s")
    finally:
        os.unlink(path)
    floor_median, full_median = statistics.median(floors), statistics.median(fulls)
    return {
        "import_rows": rows,
        "import_floor_seconds": [round(s, 2) for s in floors],
        "import_full_seconds": [round(s, 2) for s in fulls],
        "import_ratio_to_floor": round(full_median / floor_median, 2),
        "import_rows_per_second": round(rows / full_median),
        "import_floor_rows_per_second": round(rows / floor_median),
        "load_average_after_import": os.getloadavg(),
    }


def person_certno(offset: int, regions: list[str]) -> Callable[[int], str]:
    """New persons' ID numbers (after the generated ones), in the regions' turns."""

    def make(person: int) -> str:
        index = offset + person
        born = date(1940, 1, 1) + timedelta(days=(index // 1000) % 25000)
        return idnumber.make(regions[index % len(regions)], born, index % 1000)

    return make
