"""The PostgreSQL fast path of the settlement import: the CSV is parsed by the server.

The file's bytes go to `COPY … (FORMAT csv)` unparsed, into a session-local table with one
column per file column (text, amounts too). One set-based query then finds every
row the plain, canonical form does not cover — a rule broken, or a value written in another
accepted form (`20230105`, a lower-case `x`, surrounding spaces …). Only those rows go through
the Python row checker (`checker.RowChecker.check`), which words their errors exactly as on
the streaming path, or writes their values back in canonical form. A view with the staging
table's columns and types is laid over the raw table, so the file-wide checks and the merge
are the same SQL on both paths.

Whenever the server cannot take the file as it is (a row with more or fewer cells, bytes
that are neither UTF-8 nor GB18030, an end-of-data marker line …), `load_csv` returns None and the caller runs the streaming path, which reports
those rows one by one. The fast path never decides a row differently from the checker: it only
admits rows whose values the checker would take unchanged.

A large file is checked and written at once (`import_overlapped`): a second connection runs
all of the above while this one COPYs the file again and inserts it as written, uncommitted.
The insert is committed only when the checks find the file pristine (every row new, in plain
form, without an error), where it is exactly what checking first would have written; any other
file ends as checking first ends it.
"""

from __future__ import annotations

import threading
from datetime import date
from types import SimpleNamespace

from django.db import DatabaseError, DataError, connection, connections, transaction

from core import idnumber

from .. import partitions
from . import staging
from .checker import ImportResult, RowChecker
from .spec import (
    ALL_STAGE,
    AMOUNT_LIMIT,
    AMOUNTS,
    HOSP,
    INSUTYPES,
    MAX_ERRORS,
    RESIDENT_ID_CERT_TYPE,
    STAGE,
    TARGET,
    TEXT_LIMITS,
    StageStatus,
    amount_rules_sql,
)
from .staging import FIX, RAW

NEW, IGNORED = StageStatus.NEW.value, StageStatus.IGNORED.value
SERVER_ENCODING = {"utf-8-sig": "UTF8", "gb18030": "GB18030"}  # Python's name → the server's
COPY_CHUNK = 1 << 20  # bytes per write to COPY
# What Python's str.strip() removes, so a value SQL admits is one the checker keeps as it is.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
# Free text (the codes are checked against their sets) and its column widths.
FREE_TEXT = ("setl_id", "psn_name", "med_type", "fixmedins_code", "fixmedins_name", "init_setl_id")
LIMIT = int(AMOUNT_LIMIT)  # numeric(14, 2)
# An amount in plain form (§9): ASCII digits, at most 12 before and 2 after the point.
PLAIN_AMOUNT = r"^-?[0-9]{1,12}(\.[0-9]{1,2})?$"
PLAIN_AMOUNT_FAST = r"-?[0-9]+(\.[0-9][0-9]?)?"  # the same, without the digit count
DATE_FIELDS = ("begndate", "enddate")
# Dates the fast path accepts as written; anything else is the checker's to judge.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2100, 12, 31)


class _Unsupported(Exception):
    """The server cannot take this file as it is: use the streaming path."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Layout:
    """The raw table's columns for one file header, and SQL for each field."""

    def __init__(self, header: list[str], checker: RowChecker):
        self.width = len(header)
        self.index = checker.index
        self.medical_types = checker.medical_types
        # Amounts stay text as written: the plain-form query admits only plain decimals
        # (§9), and sends `1,234.50`, full-width digits, `1e3` … to the row checker.
        self.amount_columns = {self.index[name] for name in AMOUNTS if name in self.index}
        self.types = ["text"] * self.width
        self.columns = [f"c{i}" for i in range(self.width)]

    def col(self, name: str, default: str = "''") -> str:
        i = self.index.get(name)
        return default if i is None else f"c{i}"

    def amounts(self) -> dict[str, str]:
        """Each amount as SQL (of a row already settled: plain or canonical text); an empty
        or absent `hosp_part_amt` is 0 (§9.2)."""
        amounts = {name: f"{self.col(name, '0')}::numeric" for name in AMOUNTS if name != HOSP}
        amounts[HOSP] = f"COALESCE({self.col(HOSP, 'NULL')}::numeric, 0::numeric)"
        return amounts

    def plain_amounts_test(self) -> str:
        """True when every amount is written as a plain decimal (`-?digits[.d[d]]`; an empty
        `hosp_part_amt` is 0): one pattern over all of them, once per row (`amounts_plain`)."""
        cells = [
            f"COALESCE({self.col(name, 'NULL')}, '0')" if name == HOSP else self.col(name, "NULL")
            for name in AMOUNTS
        ]
        # Written out, without counted repetition: PostgreSQL's regex engine is then a DFA,
        # ten times faster on this hot path. (Bounds: LIMIT in `plain_rules`.)
        pattern = "^" + "\x01".join([PLAIN_AMOUNT_FAST] * len(cells)) + "$"
        return f"concat_ws(E'\\x01', {', '.join(cells)}) ~ '{pattern}'"

    def plain_amounts_select(self) -> str:
        """Each amount as a number when all are plain (`amounts_plain`), else NULL
        (`n_<field>`), so no cast ever meets `1,234.50` or full-width digits."""
        parts = []
        for name in AMOUNTS:
            column = self.col(name, "NULL")
            value = f"COALESCE({column}, '0')" if name == HOSP else column
            parts.append(f"CASE WHEN amounts_plain THEN {value}::numeric END AS n_{name}")
        return ", ".join(parts)

    def column_defs(self) -> str:
        return ", ".join(f"{n} {t}" for n, t in zip(self.columns, self.types, strict=True))

    def view_sql(self) -> str:
        """The staging table's columns, typed, over the raw table."""
        c = self.col
        end = c("enddate")
        stime = c("setl_time")
        fields = {
            "setl_id": c("setl_id"),
            "psn_name": c("psn_name"),
            "certno": c("certno"),
            "psn_cert_type": c("psn_cert_type"),
            "insutype": c("insutype"),
            "med_type": c("med_type"),
            # §9.2: the medical-type dictionary, as the row checker's lookup has it.
            "visit_type": self.medical_types.sql(c("med_type"), c("insu_admdvs")),
            "begndate": f"{c('begndate')}::date",
            "enddate": f"{end}::date",
            "year": f"left({end}, 4)::smallint",
            # The platform's times are China time (§9); a canonicalised value carries its offset.
            "setl_time": (
                f"(CASE WHEN length({stime}) = 19 THEN {stime} || '+08' ELSE {stime} END)"
                "::timestamptz"
            ),
            "fixmedins_code": c("fixmedins_code"),
            "fixmedins_name": c("fixmedins_name"),
            "insu_admdvs": c("insu_admdvs"),
            **self.amounts(),
            "refd_setl_flag": f"{c('refd_setl_flag')} = '1'",
            "init_setl_id": c("init_setl_id"),
        }
        select = ", ".join(f"{sql} AS {name}" for name, sql in fields.items())
        return f"CREATE TEMP VIEW {STAGE} AS SELECT rowno, status, {select} FROM {RAW}"

    def plain_sql(self, regions: set[str]) -> str:
        """True for a row in plain, canonical form that breaks no row rule."""
        return " AND ".join(f"({rule})" for rule in self.plain_rules(regions))

    def plain_rules(self, regions: set[str]) -> list[str]:
        """The plain-form conditions, each cheap: this runs over every row of the file."""
        c = self.col
        free = [n for n in FREE_TEXT if n in self.index]
        rules = [f"{c(name)} <> ''" for name in free if name != "init_setl_id"]
        # Within the column widths, and no whitespace at either end of free text (the checker
        # strips it): one expression and one pattern for all the columns.
        rules.append(
            "GREATEST(" + ", ".join(f"length({c(n)}) - {TEXT_LIMITS[n]}" for n in free) + ") <= 0"
        )
        # Identifiers in plain form (printable ASCII): others are normalized by the checker.
        ids = [c(n) for n in ("setl_id", "init_setl_id") if n in self.index]
        rules.append(f"concat({', '.join(ids)}) ~ '^[!-~]+$'")
        edge = f"[{WHITESPACE}]"
        rules.append(
            f"concat_ws(E'\\x01', {', '.join(c(n) for n in free)}) "
            f"!~ '(^|\x01){edge}|{edge}(\x01|$)'"
        )
        rules.append(f"{c('vali_flag')} IN ('', '1')")
        rules.append(f"{c('refd_setl_flag')} IN ('', '0', '1')")
        rules.append(f"{c('refd_setl_flag')} <> '1' OR {c('init_setl_id')} <> ''")
        rules.append(f"{c('psn_cert_type')} IN ('', '{RESIDENT_ID_CERT_TYPE}')")
        rules.append(f"{c('insutype')} IN ({', '.join(map(_literal, sorted(INSUTYPES)))})")
        rules.append(f"{c('insu_admdvs')} IN ({', '.join(map(_literal, sorted(regions)))})")

        # A resident ID number: 17 digits, a check character (upper-case X), a real birth date
        # not before the earliest allowed nor after today, and the right check character
        # (from the bytes, `certno_bytes`, which the query computes once per row).
        certno = c("certno")
        digits = " + ".join(
            f"(get_byte(certno_bytes, {i}) - 48) * {w}" for i, w in enumerate(idnumber.WEIGHTS)
        )
        rules += [
            f"length({certno}) = 18",
            f"left({certno}, 17) ~ '^[0-9]+$'",
            f"substr({certno}, 7, 8) IN (SELECT d FROM {RAW}_births)",
            f"CASE WHEN length({certno}) = 18 THEN "
            f"substr('{idnumber.CHECK_CHARS}', ({digits}) % 11 + 1, 1) = right({certno}, 1) END",
        ]

        begn, end, stime = c("begndate"), c("enddate"), c("setl_time")
        rules += [
            f"{begn} IN (SELECT d FROM {RAW}_days)",
            f"{end} IN (SELECT d FROM {RAW}_days)",
            f"{end} >= {begn}",
            f"length({stime}) = 19",
            f"left({stime}, 10) IN (SELECT d FROM {RAW}_days)",
            f"substr({stime}, 11, 1) = ' '",
            f"substr({stime}, 12) IN (SELECT t FROM {RAW}_times)",
        ]

        # Amounts: all given (`hosp_part_amt` may be empty: 0), at most two decimals as
        # written (the checker also takes `1.500`), within numeric(14,2) (NaN and infinities
        # fail the bounds), then the §9.2 rules of `spec`, the table the checker applies.
        amounts = {name: f"n_{name}" for name in AMOUNTS}
        listed = ", ".join(amounts.values())
        rules += [
            f"num_nulls({listed}) = 0",
            f"GREATEST({', '.join(f'scale({a})' for a in amounts.values())}) <= 2",
            f"GREATEST({listed}) < {LIMIT} AND LEAST({listed}) > -{LIMIT}",
        ]
        rules += amount_rules_sql(amounts.get, f"{c('refd_setl_flag')} = '1'", pg=True)
        return rules


def _create_lookups(cursor, today: date) -> None:
    """Small sets the plain-form query probes by hash instead of parsing each value."""
    cursor.execute(
        f"CREATE TEMP TABLE {RAW}_days AS SELECT to_char(d, 'YYYY-MM-DD') AS d "
        "FROM generate_series(%s::date, %s::date, interval '1 day') AS d",
        [FIRST_DAY, LAST_DAY],
    )
    cursor.execute(
        f"CREATE TEMP TABLE {RAW}_births AS SELECT to_char(d, 'YYYYMMDD') AS d "
        "FROM generate_series(%s::date, %s::date, interval '1 day') AS d",
        [idnumber.EARLIEST_BIRTH, today],
    )
    cursor.execute(
        f"CREATE TEMP TABLE {RAW}_times AS SELECT to_char(t, 'HH24:MI:SS') AS t "
        "FROM generate_series(timestamp '2000-01-01', timestamp '2000-01-01 23:59:59', "
        "interval '1 second') AS t"
    )


def _header_line(table) -> bytes | None:
    """The header line's bytes (what COPY skips), or None when the header is anything but one
    plain line (quoted, or a bare carriage return inside)."""
    with open(table.path, "rb") as f:
        first = f.readline(1 << 16)
    if not first.endswith(b"\n") or b'"' in first or b"\r" in first[:-2]:
        return None
    return first


def _copy_input(table):
    """(header line bytes, server encoding) when the COPY path may read this file, else None:
    a CSV on disk on PostgreSQL with a plain header line."""
    if connection.vendor != "postgresql" or table.is_xlsx or table.path is None:
        return None
    first = _header_line(table)
    return None if first is None else (first, SERVER_ENCODING[table.encoding])


def _copy(cursor, path: str, skip: int, layout: _Layout, encoding: str, source, progress):
    columns = ", ".join(layout.columns)
    cursor.execute(
        f"CREATE TEMP TABLE {RAW} (rowno integer GENERATED ALWAYS AS IDENTITY (START 2), "
        f"status smallint NOT NULL DEFAULT {NEW}, " + layout.column_defs() + ")"
    )
    # Empty amounts stay NULL (an empty `hosp_part_amt` is 0, any other is a row error).
    text = ", ".join(n for i, n in enumerate(layout.columns) if i not in layout.amount_columns)
    sql = (
        f"COPY {RAW} ({columns}) FROM STDIN WITH (FORMAT csv, ENCODING '{encoding}'"
        + (f", FORCE_NOT_NULL ({text})" if text else "")
        + ")"
    )
    source.total = source.size or 1
    previous = b""
    marker = False
    # No progress reports in between: they write to the database, which is busy with COPY
    # (a million rows take about two seconds).
    with open(path, "rb") as f, cursor.copy(sql) as copy:
        f.seek(skip)
        while chunk := f.read(COPY_CHUNK):
            # A line `\.` ends COPY's data early; such a file takes the streaming path.
            if b"\\." in previous[-1:] + chunk:
                marker = True
                break
            copy.write(chunk)
            previous = chunk
    if marker:
        raise _Unsupported
    source.position = source.total
    if progress:
        progress("reading", source.position, source.total)


def _stage_raw(source, first: bytes, layout: _Layout, encoding: str, progress) -> bool:
    """COPY the file into the raw table; False when the server refuses it."""
    import psycopg

    for server_encoding in dict.fromkeys([encoding, "GB18030"]):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                staging.drop_raw(cursor)
                _copy(cursor, source.path, len(first), layout, server_encoding, source, progress)
            return True
        except (DataError, psycopg.errors.DataError) as exc:
            # (COPY's errors arrive as psycopg's own.) Bytes that are not this encoding: try
            # GB18030; any other refusal: the streaming path.
            code = getattr(exc, "sqlstate", None) or getattr(exc.__cause__, "sqlstate", None)
            if code not in ("22021", "22P05"):
                return False
        except _Unsupported:
            return False
    return False


def load_csv(source, regions: set[str], progress, batch_id) -> ImportResult | None:
    """Stage a CSV extract (an open `core.tabular.Table`) through COPY (PostgreSQL). None: use
    the streaming path."""
    found = _copy_input(source)
    if found is None:
        return None
    first, encoding = found
    checker = RowChecker(source.columns, regions)
    layout = _Layout(source.header, checker)
    if not _stage_raw(source, first, layout, encoding, progress):
        return None

    result = ImportResult(batch_id=batch_id)
    with connection.cursor() as cursor:
        _create_lookups(cursor, checker.today)
        cursor.execute(f"SELECT count(*) FROM {RAW}")
        result.rows = cursor.fetchone()[0]
        _settle_irregular(cursor, checker, layout, regions, result)
        cursor.execute(f"CREATE INDEX ON {RAW} ({layout.col('setl_id')})")
        cursor.execute(f"ANALYZE {RAW}")
        cursor.execute(layout.view_sql())
    result.checker = checker
    return result


def _settle_irregular(cursor, checker, layout: _Layout, regions, result) -> None:
    """Run the row checker over the rows not in plain form; write back its verdict."""
    columns = ", ".join(layout.columns)
    with transaction.atomic():
        for table in ("days", "births", "times"):
            cursor.execute(f"ANALYZE {RAW}_{table}")
        # Room for the lookups' hash tables, so each probe is a hash lookup.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(
            f"CREATE TEMP TABLE {FIX} (rowno integer, status smallint, "
            + layout.column_defs()
            + ")"
        )
        fixed = 0
        with connection.chunked_cursor() as rows:
            rows.execute(
                f"SELECT rowno, {columns} FROM (SELECT *, {layout.plain_amounts_select()} FROM "
                f"(SELECT *, convert_to({layout.col('certno')}, 'UTF8') AS certno_bytes, "
                f"{layout.plain_amounts_test()} AS amounts_plain FROM {RAW} OFFSET 0) r0 "
                "OFFSET 0) r "
                f"WHERE ({layout.plain_sql(regions)}) IS NOT TRUE"
            )
            while batch := rows.fetchmany(5000):
                fixes = [_verdict(checker, layout, record, result) for record in batch]
                with cursor.copy(f"COPY {FIX} (rowno, status, {columns}) FROM STDIN") as copy:
                    for fix in fixes:
                        copy.write_row(fix)
                fixed += len(fixes)
        if fixed:
            result.irregular = fixed
            assignments = ", ".join(f"{n} = f.{n}" for n in ["status", *layout.columns])
            cursor.execute(f"UPDATE {RAW} r SET {assignments} FROM {FIX} f WHERE r.rowno = f.rowno")


def _verdict(checker, layout: _Layout, record, result) -> tuple:
    """The checker's verdict on one raw row, as the row to write back over it."""
    rowno = record[0]
    row, errors = checker.check(["" if v is None else str(v) for v in record[1:]], rowno)
    if row is None:
        result.ignored += 1
        return (rowno, IGNORED, *[None] * layout.width)
    if errors:
        if len(result.errors) < MAX_ERRORS:
            result.errors.extend(errors)
        # Kept to find repeats and reversal targets; nothing else is read of an invalid row.
        _rowno, status, setl_id, init_setl_id, reversal = row
        cells = dict.fromkeys(range(layout.width))
        staged = {"setl_id": setl_id, "init_setl_id": init_setl_id}
        staged["refd_setl_flag"] = "1" if reversal else "0"
    else:
        status = NEW
        staged = dict(zip(ALL_STAGE, row, strict=True))
        staged["refd_setl_flag"] = "1" if staged["refd_setl_flag"] else "0"
        staged["vali_flag"] = "1"
        staged["setl_time"] += "+00:00"  # the checker gives UTC
        cells = dict(enumerate(record[1:]))
    for name, i in checker.index.items():
        if name in staged:
            value = staged[name]
            cells[i] = value.isoformat() if isinstance(value, date) else value
    return (rowno, status, *(cells[i] for i in range(layout.width)))


# --- Checking and writing at once ----------------------------------------------------------

# Below this size a file is checked, then written, on one connection: the second connection
# and the second COPY are not worth it.
OVERLAP_MIN_BYTES = 8 << 20


class _Rollback(Exception):
    """The optimistic write is not the file's import: undo it."""


class _Checks(threading.Thread):
    """The checks of a file on a connection of their own (Django's connections are per thread),
    while the calling thread writes the file optimistically.

    The protocol, by events: the writer takes the import lock (`locked`); the file-wide checks
    here start only then, so they see the table the writer sees. The verdict (`checked`) says
    whether the file is *pristine*: every row new, in plain form, without an error — then the
    optimistic write is exactly what checking first and writing after would have written, and
    the writer commits it. Otherwise the writer rolls back (`decided`), and the result here is
    the import's: its errors when it has any, else its own merge of the rows it canonicalised
    or set apart, under the lock taken again and with the database checks run again.
    """

    def __init__(self, source, regions, *, path, by, batch_id, progress):
        super().__init__(name="settlement-import-checks", daemon=True)
        self.source, self.regions = source, regions
        self.path, self.by, self.batch_id, self.progress = path, by, batch_id, progress
        self.locked = threading.Event()
        self.checked = threading.Event()
        self.decided = threading.Event()
        self.committed = False
        self.abandoned = False
        self.result: ImportResult | None = None
        self.pristine = False
        self.error: BaseException | None = None

    def run(self):
        try:
            self._check()
        except BaseException as exc:  # handed to the writer, which raises it
            self.error = exc
        finally:
            self.checked.set()
            staging.drop_stage()
            connections.close_all()  # this thread's connections only

    def _check(self):
        source = self.source
        result = load_csv(source, self.regions, self.progress, self.batch_id)
        if result is None:  # the server refuses the file: the streaming path decides
            return
        self.locked.wait()
        if self.progress:
            self.progress("checking", source.total, source.total)
        with transaction.atomic(), connection.cursor() as cursor:
            counts = staging.check_file(cursor, result, recheck=False, lock=False, by=self.by)
        self.result = result
        self.pristine = (
            not result.errors
            and not result.irregular
            and not result.ignored
            and set(counts) <= {NEW}
        )
        self.checked.set()
        self.decided.wait()
        if self.committed or self.abandoned or result.errors:
            return
        # Not pristine, and the writer rolled back: apply the file as checked here. The lock
        # was released in between, so the database checks run again under it.
        result.errors.clear()
        with transaction.atomic(), connection.cursor() as cursor:
            staging.check_file(cursor, result, recheck=False, by=self.by)
            if not result.errors:
                staging.apply_file(
                    cursor,
                    result,
                    path=self.path,
                    by=self.by,
                    progress=self.progress,
                    total=source.total,
                )


def import_overlapped(source, regions, *, path, by, batch_id, progress):
    """Import a large CSV on PostgreSQL with the checks and the write overlapped: a second
    connection checks the file (`_Checks`) while this one COPYs it and inserts it, optimistically
    and uncommitted, then commits only what the checks find pristine. None: not for this file
    (xlsx, small, a header the server cannot take, inside a caller's transaction, or a file the
    server refuses) — the one-connection path imports it."""
    if connection.in_atomic_block or source.size < OVERLAP_MIN_BYTES:
        return None
    found = _copy_input(source)
    if found is None:
        return None
    first, encoding = found
    layout = _Layout(source.header, RowChecker(source.columns, regions))
    checks = _Checks(source, regions, path=path, by=by, batch_id=batch_id, progress=progress)
    checks.start()
    try:
        copied = SimpleNamespace(path=source.path, size=source.size, total=1, position=0)
        # COPY, and the partitions of the file's years, before the lock: making a partition
        # inside it could wait on the checking connection, which waits on this one.
        staged = _stage_raw(copied, first, layout, encoding, None)
        if staged:
            with connection.cursor() as cursor:
                _make_partitions(cursor, layout)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {TARGET} IN SHARE ROW EXCLUSIVE MODE")
                checks.locked.set()
                batch = (
                    batch_id
                    if batch_id is not None
                    else staging.command_batch(path, by, ImportResult())
                )
                written = _write(cursor, layout, batch) if staged else None
                if written is not None:
                    staging.refile_if_changed(cursor, layout.medical_types)
            checks.checked.wait()
            result = checks.result
            if checks.error or result is None or not checks.pristine or written != result.imported:
                raise _Rollback
            result.applied = True
            result.batch_id = batch
            if batch_id is None:
                from ..models import SettlementImport

                SettlementImport.objects.filter(pk=batch).update(
                    rows=result.rows,
                    imported=result.imported,
                    skipped=result.skipped,
                    unknown_med_types=result.unknown_med_types,
                )
        checks.committed = True
    except _Rollback:
        pass
    except BaseException:
        checks.abandoned = True
        raise
    finally:
        checks.locked.set()  # it never waits on a writer that has failed
        checks.decided.set()
        checks.join()
        staging.drop_stage()
    if checks.error:
        raise checks.error
    return checks.result


def _make_partitions(cursor, layout: _Layout) -> None:
    """The partitions of the years the file's end dates begin with (`monitoring.partitions`)."""
    cursor.execute(f"SELECT DISTINCT left({layout.col('enddate')}, 4) FROM {RAW}")
    years = [y for (y,) in cursor.fetchall() if y and y.isascii() and y.isdigit()]
    partitions.ensure_years(int(year) for year in years)


def _write(cursor, layout: _Layout, batch_id) -> int | None:
    """Insert every row of the raw table as it is written (a savepoint; the caller's
    transaction decides). None: the server refused a value, or a row is already there — the
    checks will say which."""
    try:
        with transaction.atomic():
            cursor.execute(layout.view_sql())
            return staging.merge(cursor, batch_id, make_partitions=False)
    except DatabaseError:
        return None
