"""The settlement extract import (DOMAIN §9.2), a service: one streaming pass, checks in SQL,
all-or-nothing.

The file is read row by row (`core.tabular.open_table`) and never held in memory. Each row
is checked on its own in Python (`checker`) and streamed into the staging table (`staging`);
the checks that need the whole file or the database are set-based SQL over it; only when no
row has an error are the new rows merged, in one statement, so "exit 1 = nothing was
written" holds. A CSV on PostgreSQL takes the COPY path (`copypath`) instead of the stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection, transaction

from claims.institutions import register_from_settlements
from core import tabular
from core.models import Region
from monitoring.models import Settlement

from . import copypath, staging
from .checker import ImportFileError, ImportResult, RowChecker
from .spec import CHUNK, COLUMNS, MAX_ERRORS

Progress = Callable[[str, int, int], None]


def open_extract(path) -> tabular.Table:
    """The extract opened and its header mapped (`spec.COLUMNS`); ImportFileError when the
    file is unusable (not .csv/.xlsx, an unknown encoding, a column missing or twice)."""
    try:
        return tabular.open_table(str(path), COLUMNS, separator=", ", alias_twice="first")
    except tabular.TableError as exc:
        raise ImportFileError(str(exc)) from exc


def settlement_import(
    *,
    path: str,
    by=None,
    dry_run: bool = False,
    batch_id: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a settlement extract (§9.2). Writes nothing unless every row is valid.

    Idempotent by `setl_id`: rows already imported with the same values are skipped. The new
    rows carry `batch_id` (the import batch), the watermark of incremental high-cost scans.
    """
    started = time.monotonic()
    table = open_extract(path)
    regions = set(Region.objects.values_list("code", flat=True))
    result = None
    if not dry_run:
        # A large CSV on PostgreSQL: checked on a second connection while this one writes.
        result = copypath.import_overlapped(
            table, regions, path=path, by=by, batch_id=batch_id, progress=progress
        )
    if result is None:
        result = _import(
            table, regions, path=path, by=by, dry_run=dry_run, batch_id=batch_id, progress=progress
        )
    if result.applied:  # §8; the batch's rows, in the partitions of their years only
        batch = Settlement.objects.filter(batch_id=result.batch_id, year__in=result.years)
        register_from_settlements(batch, by=by)
    result.seconds = time.monotonic() - started
    return result


def _import(table, regions, *, path, by, dry_run, batch_id, progress) -> ImportResult:
    """Stage, check, then (unless dry_run or any row has an error) merge, in that order."""
    try:
        copied = copypath.load_csv(table, regions, progress, batch_id)
        result = copied if copied is not None else _stream(table, regions, progress, batch_id)
        if progress:
            progress("checking", table.total, table.total)
        with transaction.atomic(), connection.cursor() as cursor:
            staging.check_file(cursor, result, recheck=copied is None, by=by)
            if not result.errors and not dry_run:
                staging.apply_file(
                    cursor, result, path=path, by=by, progress=progress, total=table.total
                )
    finally:
        staging.drop_stage()
    return result


def _stream(table: tabular.Table, regions, progress, batch_id) -> ImportResult:
    """Check every row in Python and stage it (the streaming path)."""
    result = ImportResult(batch_id=batch_id)
    with connection.cursor() as cursor:
        staging.create_stage(cursor)
        checker = RowChecker(table.columns, regions)
        writer = staging.StageWriter(cursor)
        checker.prepare_fast(writer.pg)
        fast = checker.fast
        errors = result.errors
        try:
            for rowno, values in table.rows():
                result.rows += 1
                if progress and result.rows % CHUNK == 0:
                    progress("reading", table.position, table.total)
                staged = fast(values, rowno)
                if staged is not None:
                    writer.add_line(staged) if writer.pg else writer.add(staged)
                    continue
                row, row_errors = checker.check(values, rowno)
                if row is None:
                    result.ignored += 1  # vali_flag 0: counted as skipped, changes nothing
                    continue
                if row_errors and len(errors) < MAX_ERRORS:
                    errors.extend(row_errors)
                writer.add(row)
        except tabular.TableError as exc:
            raise ImportFileError(str(exc)) from exc
        writer.flush()
    result.checker = checker
    return result


__all__ = ["ImportFileError", "ImportResult", "settlement_import"]
