"""`python manage.py bench_upload_memory` — peak memory of reading the largest allowed uploads.

For each kind of exchanged file it writes the largest one the limits allow (UPLOAD_MAX_BYTES,
IMPORT_MAX_ROWS) and reads it in a fresh child process the way the worker does — a roster
read and planned (the upload preview), a settlement extract checked (dry run), a finance
statement read — plus a 1.5 MB zip bomb, and prints each child's peak RSS growth
(`resource.getrusage` max RSS, after Django is set up). The target: no upload up to the limit
takes a worker past 256 MB. Needs a migrated database (the roster plan and the settlement
checks query it); it writes nothing to it.
"""

import csv
import io
import itertools
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from core import idnumber

ROSTER_HEADER = ["姓名", "公民身份号码", "救助对象类别", "认定日期", "终止日期", "行政区划代码"]
TARGET_MB = 256


def _maxrss_mb() -> float:
    """This process's peak RSS in MB: VmHWM (Linux; unlike ru_maxrss it does not carry the
    parent's peak across fork and exec), else getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _roster_rows(count: int):
    rng = random.Random(7)
    for i in range(count):
        born = date(1940 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28))
        yield [
            f"测试{i}",
            idnumber.make("150302", born, i % 1000),
            "低保对象",
            "2023-01-01",
            "",
            "150302",
        ]


def _settlement_rows(count: int):
    from monitoring.settlements.spec import COLUMNS

    header = [column.field for column in COLUMNS]
    rng = random.Random(8)
    yield header
    for i in range(count):
        born = date(1940 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28))
        burden = rng.randrange(100, 90000)
        values = {
            "setl_id": f"S{i:012d}",
            "psn_name": f"测试{i}",
            "certno": idnumber.make("150302", born, i % 1000),
            "insutype": "390",
            "med_type": "21",
            "begndate": "2023-03-01",
            "enddate": "2023-03-10",
            "setl_time": "2023-03-10 10:00:00",
            "fixmedins_code": "H15030001",
            "fixmedins_name": "乌海市人民医院",
            "insu_admdvs": "150302",
            "medfee_sumamt": f"{burden + 600}.00",
            "inscp_scp_amt": "600.00",
            "fulamt_ownpay_amt": "0.00",
            "hifp_pay": "500.00",
            "hifmi_pay": "100.00",
            "maf_pay": "0.00",
            "fund_pay_sumamt": "600.00",
            "psn_part_amt": f"{burden}.00",
            "hosp_part_amt": "0.00",
            "refd_setl_flag": "0",
            "init_setl_id": "",
            "vali_flag": "1",
            "psn_cert_type": "01",
        }
        yield [values[h] for h in header]


def _write_xlsx(path: Path, rows) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for values in rows:
        sheet.append(values)
    book.save(path)


def _write_csv(path: Path, rows, limit: int, max_rows: int = 10**9) -> int:
    """Rows until the file would pass `limit` bytes or `max_rows` data rows; returns the data
    rows written."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for values in rows:
            writer.writerow(values)
            count += 1
            if handle.tell() > limit - 300 or count > max_rows:
                break
    return count - 1


def _largest_xlsx(path: Path, header, make_rows, limit_bytes: int, max_rows: int) -> int:
    """The most rows (up to max_rows) whose workbook stays within limit_bytes."""
    rows = max_rows
    while True:
        _write_xlsx(path, itertools.chain([header], make_rows(rows)) if header else make_rows(rows))
        size = path.stat().st_size
        if size <= limit_bytes:
            return rows
        rows = int(rows * limit_bytes / size * 0.97)


def _zip_bomb(path: Path) -> None:
    """A valid roster workbook whose sheet unpacks to ~1.5 GB of whitespace (1.5 MB zipped)."""
    out = io.BytesIO()
    _write_xlsx(path, [ROSTER_HEADER, *list(_roster_rows(1))])
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for member in source.infolist():
            data = source.read(member)
            if member.filename.startswith("xl/worksheets/sheet"):
                head, tail = data.split(b"</sheetData>")
                with z.open(member.filename, "w", force_zip64=True) as target:
                    target.write(head)
                    chunk = b" " * (1 << 20)
                    for _ in range(1500):
                        target.write(chunk)
                    target.write(b"</sheetData>" + tail)
            else:
                z.writestr(member, data)
    path.write_bytes(out.getvalue())


def _cases(folder: Path, limit: int, max_rows: int) -> list[tuple[str, Path, int]]:
    """The files to read, each the largest an upload may be: (kind, path, data rows)."""
    cases = []

    path = folder / "roster.xlsx"
    rows = _largest_xlsx(path, ROSTER_HEADER, _roster_rows, limit, max_rows)
    cases.append(("roster_preview", path, rows))
    path = folder / "roster.csv"
    rows = _write_csv(path, itertools.chain([ROSTER_HEADER], _roster_rows(10**7)), limit, max_rows)
    cases.append(("roster_preview", path, rows))
    path = folder / "settlements.xlsx"
    rows = _largest_xlsx(path, None, lambda n: _settlement_rows(n), limit, max_rows)
    cases.append(("settlement_check", path, rows))
    path = folder / "settlements.csv"
    rows = _write_csv(path, _settlement_rows(10**7), limit)
    cases.append(("settlement_check", path, rows))
    path = folder / "statement.xlsx"
    header = ["日期", "凭证号", "摘要", "收入", "支出"]
    rows = _largest_xlsx(
        path,
        header,
        lambda n: ([f"2023-07-{1 + i % 28:02d}", f"P{i}", "拨付", "1200.00", ""] for i in range(n)),
        limit,
        max_rows,
    )
    cases.append(("statement_read", path, rows))
    path = folder / "statement.csv"
    rows = _write_csv(
        path,
        itertools.chain(
            [header],
            ([f"2023-07-{1 + i % 28:02d}", f"P{i}", "拨付", "1200.00", ""] for i in range(10**7)),
        ),
        limit,
    )
    cases.append(("statement_read", path, rows))
    path = folder / "bomb.xlsx"
    _zip_bomb(path)
    cases.append(("roster_preview", path, 0))
    return cases


class Command(BaseCommand):
    help = "Peak RSS of reading the largest allowed upload of each kind (and of a zip bomb)."

    def add_arguments(self, parser):
        parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse_hidden())
        parser.add_argument("--keep", action="store_true", help="keep the generated files")
        parser.add_argument("--only", default="", help="only the files whose name contains this")

    def handle(self, *args, child=None, keep=False, only="", **options):
        if child:
            return self._child(*child)
        limit = settings.UPLOAD_MAX_BYTES
        max_rows = settings.IMPORT_MAX_ROWS
        folder = Path(tempfile.mkdtemp(prefix="bench-upload-"))
        cases = _cases(folder, limit, max_rows)

        self.stdout.write(
            f"UPLOAD_MAX_BYTES={limit:,}  IMPORT_MAX_ROWS={max_rows:,}  "
            f"IMPORT_MAX_UNCOMPRESSED_BYTES={settings.IMPORT_MAX_UNCOMPRESSED_BYTES:,}"
        )
        worst = 0.0
        for kind, path, rows in cases:
            if only not in path.name:
                continue
            result = subprocess.run(
                [sys.executable, "manage.py", "bench_upload_memory", "--child", kind, str(path)],
                cwd=settings.BASE_DIR,
                capture_output=True,
                text=True,
                env={**os.environ, "MEDIA_ROOT": str(folder / "media")},
            )
            if result.returncode != 0:
                self.stderr.write(result.stderr)
                continue
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            worst = max(worst, figures["peak_mb"])
            self.stdout.write(
                f"{kind:17} {path.name:17} {path.stat().st_size / 2**20:6.2f} MiB "
                f"{rows:>8,} rows: +{figures['growth_mb']:6.1f} MB RSS "
                f"(peak {figures['peak_mb']:6.1f} MB) {figures['seconds']:6.2f} s  "
                f"{figures['outcome']}"
            )
        self.stdout.write(
            f"worst peak {worst:.1f} MB — target {TARGET_MB} MB: "
            + ("met" if worst <= TARGET_MB else "NOT met")
        )
        if not keep:
            shutil.rmtree(folder)

    def _child(self, kind: str, path: str):
        from core.models import Region

        Region.objects.filter(code="150302").first()  # warm up the ORM before the baseline
        before = _maxrss_mb()
        started = time.monotonic()
        outcome = "ok"
        try:
            if kind == "roster_preview":
                from django.db import transaction

                from beneficiaries.roster_services import roster_batch_create

                data = Path(path).read_bytes()  # the upload view reads the file like this
                # The upload as the view does it: stored, read, planned, preview stored; then
                # rolled back (the file lands in a temporary MEDIA_ROOT).
                with transaction.atomic():
                    batch = roster_batch_create(
                        name=Path(path).name,
                        data=data,
                        department="civil_affairs",
                        region=Region.objects.get(code="150302"),
                        as_of=date(2023, 7, 1),
                    )
                    preview = batch.preview
                    if preview.get("file_error"):
                        outcome = f"refused: {preview['file_error']}"
                    else:
                        outcome = (
                            f"preview of {preview['counts']['rows']:,} rows stored, "
                            f"{preview['error_count']} errors"
                        )
                    transaction.set_rollback(True)
            elif kind == "settlement_check":
                from monitoring.settlements import ImportFileError, settlement_import

                try:
                    result = settlement_import(path=path, dry_run=True)
                    outcome = f"checked {result.rows:,} rows, {result.error_count} errors"
                except ImportFileError as exc:
                    outcome = f"refused: {exc}"
            elif kind == "statement_read":
                from core.tabular import TableError, read_table

                try:
                    _headers, rows = read_table(path, Path(path).name)
                    outcome = f"read {sum(1 for _ in rows):,} rows"
                except TableError as exc:
                    outcome = f"refused: {exc}"
        finally:
            peak = _maxrss_mb()
        self.stdout.write(
            json.dumps(
                {
                    "growth_mb": round(peak - before, 1),
                    "peak_mb": round(peak, 1),
                    "seconds": round(time.monotonic() - started, 2),
                    "outcome": outcome[:90],
                },
                ensure_ascii=False,
            )
        )


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS
