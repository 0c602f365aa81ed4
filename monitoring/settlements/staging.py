"""The staging table of the settlement import and the set-based steps over it (DOMAIN §9.2).

Rows are staged in a session-local table (PostgreSQL COPY; executemany on SQLite), or, on
the COPY path, in a raw table with a view of the same name. The checks that need the whole
file or the database — a `setl_id` repeated in the file, a `setl_id` already imported with
other values, a reversal naming an unknown settlement, a row outside the user's region —
are SQL over it; only a file without errors is merged into the target, in one statement.
"""

from __future__ import annotations

import os
from datetime import date, datetime

from django.db import connection
from django.utils.translation import gettext as _

from core import idnumber
from core.money import money

from .. import partitions
from ..medical_types import medical_type_lookup, unknown_codes
from ..settlement_keys import KEY_TABLE as KEYS
from .checker import ImportResult, RowChecker, RowError
from .spec import (
    ALL_STAGE,
    AMOUNTS,
    CHUNK,
    COMPARED,
    INVALID_STAGE,
    MAX_ERRORS,
    RESIDENT_ID_CERT_TYPE,
    STAGE,
    STAGE_COLUMNS,
    TARGET,
    StageStatus,
    amount_rules_sql,
)

NEW, INVALID, REPEATED = (
    StageStatus.NEW.value,
    StageStatus.INVALID.value,
    StageStatus.REPEATED.value,
)
CONFLICT, SAME, NO_TARGET = (
    StageStatus.CONFLICT.value,
    StageStatus.SAME.value,
    StageStatus.NO_TARGET.value,
)
# The COPY path's raw table (one column per file column) and its helpers, dropped with the stage.
RAW = f"{STAGE}_raw"
FIX = f"{STAGE}_fix"
RAW_TABLES = (RAW, FIX, f"{RAW}_days", f"{RAW}_births", f"{RAW}_times")


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def drop_raw(cursor) -> None:
    for table in RAW_TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table} CASCADE")


def _stage_name() -> str:
    return f"pg_temp.{STAGE}" if is_postgresql() else f"temp.{STAGE}"


def create_stage(cursor) -> None:
    numeric = "numeric(14,2)" if is_postgresql() else "NUMERIC"
    stamp = "timestamptz" if is_postgresql() else "TEXT"
    boolean = "boolean" if is_postgresql() else "INTEGER"
    cursor.execute(f"DROP TABLE IF EXISTS {_stage_name()}")
    amounts = ", ".join(f"{name} {numeric}" for name in AMOUNTS)
    cursor.execute(
        f"CREATE TEMP TABLE {STAGE} ("
        "rowno integer NOT NULL, status smallint NOT NULL, setl_id varchar(40), "
        "psn_name varchar(50), certno varchar(30), psn_cert_type varchar(6), "
        "insutype varchar(6), med_type varchar(10), visit_type varchar(20), "
        f"begndate date, enddate date, year smallint, setl_time {stamp}, "
        "fixmedins_code varchar(30), fixmedins_name varchar(200), insu_admdvs varchar(6), "
        f"{amounts}, refd_setl_flag {boolean}, init_setl_id varchar(40))"
    )


def drop_stage() -> None:
    try:
        with connection.cursor() as cursor:
            if is_postgresql():
                drop_raw(cursor)  # the raw table, with the view named like the stage
            cursor.execute(f"DROP TABLE IF EXISTS {_stage_name()}")
    except Exception:  # the connection may be in an aborted transaction
        pass


class StageWriter:
    """Buffers staged rows and writes them in chunks (COPY on PostgreSQL)."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.valid: list[tuple] = []
        self.invalid: list[tuple] = []
        self.lines: list[str] = []
        self.pg = is_postgresql()

    def add(self, row: tuple) -> None:
        (self.valid if row[1] == NEW else self.invalid).append(row)
        if len(self.valid) >= CHUNK:
            self.flush()

    def add_line(self, line: str) -> None:
        """A valid row already formatted as a COPY text line (the fast path)."""
        self.lines.append(line)
        if len(self.lines) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            sql = f"COPY {STAGE} ({', '.join(ALL_STAGE)}) FROM STDIN"
            with self.cursor.copy(sql) as copy:
                copy.write("".join(self.lines))
            self.lines.clear()
        for rows, columns in ((self.valid, ALL_STAGE), (self.invalid, INVALID_STAGE)):
            if not rows:
                continue
            if self.pg:
                sql = f"COPY {STAGE} ({', '.join(columns)}) FROM STDIN"
                with self.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                self.cursor.executemany(
                    f"INSERT INTO {STAGE} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            rows.clear()


# --- Set-based checks and merge -----------------------------------------------------------


def _differs(outer: str) -> str:
    """A stored row differs from a staged one (compared as numbers and dates, not text). A
    missing or empty `psn_cert_type` means a resident ID (`01`), so the two are equal."""

    def compare(c: str) -> str:
        if c == "psn_cert_type":
            cert = f"'{RESIDENT_ID_CERT_TYPE}'"
            stored, staged = (f"COALESCE(NULLIF({t}.{c}, ''), {cert})" for t in ("t", outer))
            return f"{stored} <> {staged}"
        return f"t.{c} <> {outer}.{c}"

    return " OR ".join(compare(c) for c in COMPARED)


def recheck_sql() -> str:
    """Rows the fast path admitted that may break an amount rule (`spec.amount_rules_sql`,
    the table the row checker applies) or the ID check digit."""
    pg = is_postgresql()
    holds = amount_rules_sql(lambda name: name, "refd_setl_flag", pg=pg)
    weights = " + ".join(
        f"CAST(substr(certno, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(idnumber.WEIGHTS)
    )
    broken = " OR ".join(f"NOT ({rule})" for rule in holds)
    return (
        f"SELECT rowno, {', '.join(STAGE_COLUMNS)} FROM {STAGE} WHERE status = {NEW} AND ("
        f"{broken} "
        f"OR (psn_cert_type IN ('', '{RESIDENT_ID_CERT_TYPE}') AND "
        f"substr('{idnumber.CHECK_CHARS}', (({weights}) % 11) + 1, 1) <> substr(certno, 18, 1)))"
    )


def _recheck(cursor, checker: RowChecker, errors: list[RowError]) -> None:
    """Word the errors of the rows `recheck_sql` finds with the row checker itself, so they
    read exactly as when a row is checked in Python, and mark those rows invalid."""
    cursor.execute(recheck_sql())
    bad: list[int] = []
    position = checker.index
    width = max(position.values()) + 1
    while batch := cursor.fetchmany(5000):
        for record in batch:
            rowno, staged = record[0], dict(zip(STAGE_COLUMNS, record[1:], strict=True))
            values = [""] * width
            for name, i in position.items():
                value = staged.get(name, "")
                if name == "refd_setl_flag":
                    value = "1" if value else "0"
                elif name == "vali_flag":
                    value = "1"
                elif name in AMOUNTS:
                    value = str(money(str(value)))
                elif isinstance(value, datetime):
                    values[i] = value  # setl_time: the checker takes the moment as it is
                    continue
                elif isinstance(value, date):
                    value = value.isoformat()
                values[i] = "" if value is None else str(value)
            _row, row_errors = checker.check(values, rowno)
            if row_errors:
                bad.append(rowno)
                if len(errors) < MAX_ERRORS:
                    errors.extend(row_errors)
    for start in range(0, len(bad), 5000):
        chunk = bad[start : start + 5000]
        cursor.execute(
            f"UPDATE {STAGE} SET status = {INVALID} WHERE rowno IN "
            f"({', '.join(['%s'] * len(chunk))})",
            chunk,
        )


def _sql_checks(cursor, checker: RowChecker, errors: list[RowError], *, recheck: bool) -> None:
    """Mark and report the rows whose error needs the whole file or the database. `recheck`:
    the rows were staged by the streaming path (whose fast path leaves some rules to SQL)."""
    stage = STAGE
    if recheck:
        _recheck(cursor, checker, errors)
        cursor.execute(f"CREATE INDEX {STAGE}_setl ON {stage} (setl_id)")
    if is_postgresql():
        # The file's rows meet tens of millions of keys by the key table's primary key: probe
        # it row by row instead of hashing the whole table (a monthly extract is mostly new).
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")

    # A setl_id repeated in the file: its later rows are errors.
    repeated = (
        f"SELECT rowno FROM (SELECT rowno, ROW_NUMBER() OVER "
        f"(PARTITION BY setl_id ORDER BY rowno) AS rn FROM {stage} WHERE setl_id <> '') d "
        "WHERE rn > 1"
    )
    cursor.execute(f"{repeated} ORDER BY rowno LIMIT {MAX_ERRORS}")
    message = _("结算ID在文件中重复")
    found = [RowError(r, checker.header("setl_id"), message) for (r,) in cursor.fetchall()]
    errors.extend(found)
    if found:  # the window again only when there is something to mark
        cursor.execute(f"UPDATE {stage} SET status = {REPEATED} WHERE rowno IN ({repeated})")

    # Already imported (its key exists): identical values are skipped, other values — a year
    # of its own included — are an error. The stored row is found by its key's (id, year).
    target = TARGET
    cursor.execute(
        f"UPDATE {stage} SET status = {SAME} WHERE status = {NEW} AND EXISTS "
        f"(SELECT 1 FROM {KEYS} k WHERE k.setl_id = {stage}.setl_id)"
    )
    cursor.execute(
        f"UPDATE {stage} SET status = {CONFLICT} WHERE status = {SAME} AND EXISTS "
        f"(SELECT 1 FROM {KEYS} k JOIN {target} t ON t.id = k.settlement_id AND t.year = k.year "
        f"WHERE k.setl_id = {stage}.setl_id AND ({_differs(stage)}))"
    )
    cursor.execute(
        f"SELECT rowno FROM {stage} WHERE status = {CONFLICT} ORDER BY rowno LIMIT {MAX_ERRORS}"
    )
    message = _("该结算ID已导入，但数据与已导入的不一致")
    errors.extend(RowError(r, checker.header("setl_id"), message) for (r,) in cursor.fetchall())

    # A reversal names a settlement already imported or in the same file (any order).
    no_target = (
        f"SELECT s.rowno FROM {stage} s WHERE s.status = {NEW} AND s.refd_setl_flag "
        f"AND NOT EXISTS (SELECT 1 FROM {stage} x WHERE x.setl_id = s.init_setl_id) "
        f"AND NOT EXISTS (SELECT 1 FROM {KEYS} k WHERE k.setl_id = s.init_setl_id)"
    )
    cursor.execute(f"{no_target} ORDER BY s.rowno LIMIT {MAX_ERRORS}")
    message = _("原结算ID不存在（未导入且不在本文件中）")
    errors.extend(
        RowError(r, checker.header("init_setl_id"), message) for (r,) in cursor.fetchall()
    )
    cursor.execute(f"UPDATE {STAGE} SET status = {NO_TARGET} WHERE rowno IN ({no_target})")


def _scope_checks(cursor, checker: RowChecker, errors: list[RowError], by) -> None:
    """DOMAIN §8: a user imports only rows of their writable region subtree. A row's region
    is its person's registered region (certno → person), else the row's `insu_admdvs`; a row
    outside is a row error, so nothing of the file is written."""
    from beneficiaries.models import Person
    from core.scoping import writable_codes

    codes = writable_codes(by)
    if codes is None:
        return
    person = Person._meta.db_table
    outside = (
        f"COALESCE(p.region_id, s.insu_admdvs) NOT IN ({', '.join(['%s'] * len(codes))})"
        if codes
        else "1 = 1"
    )
    found = (
        f"SELECT s.rowno, p.region_id FROM {STAGE} s "
        f"LEFT JOIN {person} p ON p.id_number = s.certno "
        f"WHERE s.status <> {INVALID} AND {outside}"
    )
    cursor.execute(f"{found} ORDER BY s.rowno LIMIT {MAX_ERRORS}", codes)
    rows = cursor.fetchall()
    for rowno, registered in rows:
        if registered is not None:
            errors.append(
                RowError(rowno, checker.header("certno"), _("该人员不属于您的辖区，不能导入。"))
            )
        else:
            errors.append(
                RowError(
                    rowno, checker.header("insu_admdvs"), _("医保区划不在您的辖区内，不能导入。")
                )
            )
    if rows:
        cursor.execute(
            f"UPDATE {STAGE} SET status = {INVALID} WHERE rowno IN "
            f"(SELECT s.rowno FROM {STAGE} s LEFT JOIN {person} p ON p.id_number = s.certno "
            f"WHERE s.status <> {INVALID} AND {outside})",
            codes,
        )


def merge(cursor, batch_id: int | None, *, make_partitions: bool = True) -> int | None:
    """Insert the new rows in file order (sorting them by `(year, certno)` for the covering
    index cost more than it saved: README, session 7), and their keys in `setl_id` order
    (`settlement_keys`: platform ids grow, so new keys append), in one statement. No check of
    the target here: the table lock taken before the checks keeps every other import out
    until this transaction ends, and the checks already set the known rows apart; a key that
    exists all the same (the optimistic writer of `copypath`, which checks nothing) returns
    None, for the caller to roll back. Makes the partitions of new years first
    (`make_partitions`; without, a year lacking its partition fails the insert)."""
    columns = ", ".join(STAGE_COLUMNS)
    if make_partitions:
        cursor.execute(f"SELECT DISTINCT year FROM {STAGE} WHERE status = {NEW}")
        partitions.ensure_years([year for (year,) in cursor.fetchall()])
    new = f"SELECT {columns}, %s FROM {STAGE} WHERE status = {NEW}"
    if is_postgresql():
        # Room to sort the returned keys in memory.
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(
            f"WITH written AS (INSERT INTO {TARGET} ({columns}, batch_id) {new} "
            "RETURNING id, setl_id, year) "
            f"INSERT INTO {KEYS} (setl_id, year, settlement_id) "
            "SELECT setl_id, year, id FROM written ORDER BY setl_id ON CONFLICT DO NOTHING",
            [batch_id],
        )
        keys = cursor.rowcount
        cursor.execute(f"SELECT COUNT(*) FROM {STAGE} WHERE status = {NEW}")
        return keys if keys == cursor.fetchone()[0] else None
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TARGET}")
    (last,) = cursor.fetchone()
    cursor.execute(f"INSERT INTO {TARGET} ({columns}, batch_id) {new}", [batch_id])
    written = cursor.rowcount
    # SQLite gives new rows ids above the largest (the import holds the write lock).
    cursor.execute(
        f"INSERT INTO {KEYS} (setl_id, year, settlement_id) "
        f"SELECT setl_id, year, id FROM {TARGET} WHERE id > %s ORDER BY setl_id",
        [last],
    )
    return written


def check_file(cursor, result: ImportResult, *, recheck: bool, lock: bool = True, by=None) -> dict:
    """The file-wide checks of the staged rows, under the import lock; `result` gets the counts
    and the errors, in file order. Returns the staged rows counted by status. `by`: the user
    of a web import, whose rows must lie in their writable subtree (None: the system/cron)."""
    if lock and is_postgresql():
        # One import at a time decides what is new; readers are not blocked.
        cursor.execute(f"LOCK TABLE {TARGET} IN SHARE ROW EXCLUSIVE MODE")
    _sql_checks(cursor, result.checker, result.errors, recheck=recheck)
    if by is not None:
        _scope_checks(cursor, result.checker, result.errors, by)
    # §9.2: codes the dictionary lacks, over the rows that are (or would be) settlements.
    result.unknown_med_types = unknown_codes(
        cursor, STAGE, result.checker.medical_types, (NEW, SAME)
    )
    cursor.execute(f"SELECT status, COUNT(*) FROM {STAGE} GROUP BY status")
    counts = dict(cursor.fetchall())
    cursor.execute(f"SELECT DISTINCT year FROM {STAGE} WHERE status = {NEW}")
    result.years = sorted(year for (year,) in cursor.fetchall())
    result.imported = counts.get(NEW, 0)
    result.skipped = result.ignored + counts.get(SAME, 0)
    result.sort_errors()
    result.error_count = len(result.errors)
    del result.errors[MAX_ERRORS:]
    return counts


def apply_file(cursor, result: ImportResult, *, path, by, progress, total: int) -> None:
    """Merge the checked new rows (in the transaction of `check_file`)."""
    if progress:
        progress("writing", total, total)
    if result.batch_id is None and result.imported:
        result.batch_id = command_batch(path, by, result)
    imported = merge(cursor, result.batch_id)
    if imported is None:  # the lock and the checks make this impossible
        raise RuntimeError("settlement keys already present after the checks")
    result.imported = imported
    refile_if_changed(cursor, result.checker.medical_types)
    result.applied = True


def refile_if_changed(cursor, lookup) -> None:
    """Under the import lock, after the merge: when an admin changed the medical-type
    dictionary after this import loaded it (`monitoring.services.medical_type_save` waits for
    the same lock), the rows just written take the visit types of the dictionary as it is now."""
    current = medical_type_lookup()
    if current == lookup:
        return
    visit = current.sql("med_type", "insu_admdvs")
    cursor.execute(
        f"UPDATE {TARGET} SET visit_type = {visit} "
        f"WHERE id IN (SELECT k.settlement_id FROM {KEYS} k JOIN {STAGE} s "
        f"ON s.setl_id = k.setl_id WHERE s.status = {NEW})"
    )


def command_batch(path, by, result: ImportResult) -> int:
    """A batch row for an import from the shell (the web upload creates its own)."""
    from django.utils import timezone

    from ..models import SettlementImport

    batch = SettlementImport.objects.create(
        file_name=os.path.basename(str(path))[:200],
        status=SettlementImport.Status.APPLIED,
        created_by=by,
        rows=result.rows,
        imported=result.imported,
        skipped=result.skipped,
        applied_at=timezone.now(),
        phase="done",
        unknown_med_types=result.unknown_med_types,
    )
    return batch.pk
