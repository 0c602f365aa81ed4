"""The high-cost scan split by person range over the workers (core.chunked, queue `checks`).

A full scan of a large year is cut into `HIGH_COST_SCAN_CHUNKS` certno ranges of about equal
settlement rows (quantiles of the year's ID numbers); each chunk runs the same set-based
burden query (`scan_burdens`) limited to its range and returns its candidates and rows read.
The check run waits for the chunks, working on them itself, and merges: the candidates of
disjoint ranges are simply united, the rows read added up, and the check goes on as before
(`sync_findings`, then the watermark) — so the result is the one of a single query.

Small years (fewer than `HIGH_COST_SCAN_CHUNK_MIN_ROWS` settlements) and incremental scans
(whose cost follows the persons touched) stay one query in the check's own process.
A scan interrupted half-way resumes its done chunks when run again, as long as nothing it
read has changed since (same watermark, identities and applications, same lines).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.db.models import Max

from core import chunked
from monitoring.checks.burden import scan_burdens

KIND = "high_cost_scan"
SAMPLE_ROWS = 200_000  # rows sampled for the quantiles on PostgreSQL


def _settings() -> tuple[int, int]:
    chunks = int(getattr(settings, "HIGH_COST_SCAN_CHUNKS", 8))
    min_rows = int(getattr(settings, "HIGH_COST_SCAN_CHUNK_MIN_ROWS", 1_000_000))
    return chunks, min_rows


def _table_rows() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class "
                "WHERE oid = 'monitoring_settlement'::regclass"
            )
        else:
            cursor.execute("SELECT COUNT(*) FROM monitoring_settlement")
        return int(cursor.fetchone()[0])


def certno_boundaries(year: int, chunks: int, table_rows: int) -> list[str]:
    """Cuts of the year's ID numbers into `chunks` ranges of about equal settlement rows.

    On a large PostgreSQL table, from the planner's statistics when they have enough buckets
    (the equal-row histogram of `certno` that ANALYZE keeps: free, where sampling 200,000
    rows costs 0.15 s before any chunk can start), else from a block sample of about
    SAMPLE_ROWS rows; on a small table, from all the year's rows."""
    if connection.vendor == "postgresql" and table_rows > SAMPLE_ROWS:
        cuts = _histogram_boundaries(chunks)
        if cuts is not None:
            return cuts
        percent = max(0.01, min(100.0, 100.0 * SAMPLE_ROWS / table_rows))
        sql = (
            f"SELECT certno FROM monitoring_settlement TABLESAMPLE SYSTEM ({percent:.4f}) "
            "WHERE year = %s"
        )
    else:
        sql = "SELECT certno FROM monitoring_settlement WHERE year = %s"
    return chunked.quantile_boundaries(sql, [year], chunks)


def _histogram_boundaries(chunks: int) -> list[str] | None:
    """`chunks` - 1 cuts from the `certno` histogram of pg_stats (None: no usable one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT histogram_bounds::text::text[] FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = 'monitoring_settlement' "
            "AND attname = 'certno'"
        )
        row = cursor.fetchone()
    bounds = row[0] if row else None
    if not bounds or len(bounds) <= 2 * chunks:
        return None
    buckets = len(bounds) - 1
    return sorted({bounds[round(i * buckets / chunks)] for i in range(1, chunks)})


def _stamp() -> list:
    """What a resumed scan must not have missed: the newest identity and application
    changes (their history ids)."""
    from beneficiaries.models import Identity

    stamp = [Identity.history.aggregate(m=Max("history_id"))["m"]]
    try:
        application = apps.get_model("claims", "Application")
    except LookupError:
        return stamp
    if hasattr(application, "history"):
        stamp.append(application.history.aggregate(m=Max("history_id"))["m"])
    return stamp


def chunked_scan_burdens(ctx, *, watermark: int, **kwargs):
    """`scan_burdens`, split over the workers when the scan is full and the table large."""
    chunks, min_rows = _settings()
    rows = _table_rows()
    if kwargs.get("touched_after") is not None or chunks <= 1 or rows < min_rows:
        return scan_burdens(ctx, **kwargs)
    year = kwargs["year"]
    params = {
        "year": year,
        "period_end": kwargs["period_end"].isoformat(),
        "floor": str(kwargs["floor"]),
        "pr_floor": str(kwargs["pr_floor"]),
        "reference": kwargs["reference"].isoformat(),
        "watermark": watermark,
        "stamp": _stamp(),
    }
    run = chunked.start(
        KIND,
        key=f"{year}:{ctx.area}",
        params=params,
        ranges=chunked.ranges_of(certno_boundaries(year, chunks, rows)),
    )
    chunked.dispatch(run)
    candidates: dict[str, tuple[Decimal, int]] = {}
    scanned = 0
    for result in chunked.wait(run):
        scanned += result["scanned"]
        for certno, (burden, count) in result["candidates"].items():
            candidates[certno] = (Decimal(burden), count)
    chunked.complete(run)
    return candidates, scanned


def scan_chunk(params: dict, lo: str | None, hi: str | None) -> dict:
    """One person range of the scan: its candidates {certno: [burden, rows]} and rows read."""
    candidates, scanned = scan_burdens(
        None,
        year=params["year"],
        period_end=date.fromisoformat(params["period_end"]),
        floor=Decimal(params["floor"]),
        pr_floor=Decimal(params["pr_floor"]),
        reference=date.fromisoformat(params["reference"]),
        touched_after=None,
        touched_certnos=set(),
        certno_range=(lo, hi),
    )
    return {
        "candidates": {c: [str(burden), n] for c, (burden, n) in candidates.items()},
        "scanned": scanned,
    }


chunked.register(chunked.Job(kind=KIND, queue="checks", work=scan_chunk))
