"""The high-cost scan's burden query (DOMAIN §9): each person's out-of-pocket burden of the year
— settlements' psn_part_amt and manual bills — in one set-based SQL aggregate, returning only
the persons who may alert, and the rows it read.

Used by the check (monitoring.checks.high_cost) and by each chunk of a chunked scan
(monitoring.scan_chunks), which limits it to a certno range; neither imports the other for it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection, transaction

from claims.interface import manual_burden_sql
from core.choices import Category
from core.coverage import covering_day_sql
from core.money import money

POVERTY_RETURN = {Category.POVERTY_RISK, Category.NEAR_SUBSISTENCE}
# The ID numbers with a high-cost alert still open for the year (one parameter: the year).
OPEN_ALERTS = (
    "SELECT certno FROM monitoring_alert WHERE kind = 'high_cost' AND year = %s "
    "AND status IN ('open', 'in_progress')"
)


def watched_sql(reference: date) -> tuple[str, list]:
    """SELECT of the ID numbers holding a poverty-return category on `reference` (the
    poverty-return watch): coverage is core.coverage's rule in its SQL form."""
    covering, params = covering_day_sql("i", reference)
    categories = ", ".join(f"'{category}'" for category in sorted(POVERTY_RETURN))
    sql = (
        "SELECT p.id_number FROM beneficiaries_person p JOIN beneficiaries_identity i "
        f"ON i.person_id = p.id WHERE i.category IN ({categories}) AND {covering}"
    )
    return sql, params


def watched_exists_sql(reference: date, certno: str) -> tuple[str, list]:
    """`certno` (an SQL expression) is on the poverty-return watch on `reference`: the
    condition of `watched_sql` as a correlated scalar subquery, probed by index for each
    person that reaches it — the scans test it only for the few above the lowest
    poverty-return line, where `IN (watched_sql)` hashed every watched person, reading the
    whole person table (1 s per query, per chunk, at 4,000,000 persons). Not EXISTS: the
    planner turns that back into the same hash."""
    covering, params = covering_day_sql("i", reference)
    categories = ", ".join(f"'{category}'" for category in sorted(POVERTY_RETURN))
    sql = (
        "COALESCE((SELECT true FROM beneficiaries_person p JOIN beneficiaries_identity i "
        f"ON i.person_id = p.id WHERE p.id_number = {certno} "
        f"AND i.category IN ({categories}) AND {covering} LIMIT 1), false)"
    )
    return sql, params


def _touched(year, touched_after, touched_certnos) -> tuple[str, list]:
    """SQL condition on `certno` for an incremental run: persons with settlements after the
    watermark, or otherwise touched; ("", []) for a full run."""
    if touched_after is None:
        return "", []
    parts = ["certno IN (SELECT certno FROM monitoring_settlement WHERE id > %s AND year = %s)"]
    params: list = [touched_after, year]
    if touched_certnos:
        parts.append(f"certno IN ({', '.join(['%s'] * len(touched_certnos))})")
        params += sorted(touched_certnos)
    return "(" + " OR ".join(parts) + ")", params


def _burden_sql(
    ctx,
    *,
    year,
    period_end,
    floor,
    pr_floor,
    reference,
    touched_after,
    touched_certnos,
    certno_range=(None, None),
):
    """SQLite: SQL returning (certno, burden, rows, 0) for persons who may alert, and the
    query of the row total (PostgreSQL: `_full_sql_pg`, `_incremental_sql_pg`).

    Only persons above the lowest impoverishment line, holders of a poverty-return category
    above the lowest poverty-return line, and persons with an alert still open come back: the
    aggregate costs what the bare GROUP BY costs, and Python sees only the few who matter.
    """
    where = ["year = %s", "enddate <= %s"]
    params: list = [year, period_end]
    touched_clause, touched_params = _touched(year, touched_after, touched_certnos)
    # A chunk of a chunked scan (monitoring.scan_chunks): the persons of [lo, hi) only.
    range_clause, range_params = certno_range_sql(*certno_range)
    if range_clause:
        touched_clause = " AND ".join(filter(None, [touched_clause, range_clause]))
        touched_params = [*touched_params, *range_params]
    if touched_clause:
        where.append(touched_clause)
        params += touched_params
    rows = (
        "SELECT certno, psn_part_amt AS amount FROM monitoring_settlement "
        f"WHERE {' AND '.join(where)}"
    )
    bills, bill_params = manual_burden_sql(year, period_end)
    bill_rows = f"SELECT certno, amount FROM ({bills}) AS bills"
    if touched_clause:
        bill_rows += f" WHERE {touched_clause}"
    rows += f" UNION ALL {bill_rows}"
    params += [*bill_params, *touched_params]
    watched, watched_params = watched_sql(reference)
    having_params = [*watched_params, year]
    sql = (
        f"SELECT certno, SUM(amount), COUNT(*), 0 FROM ({rows}) AS r GROUP BY certno "
        f"HAVING SUM(amount) > %s OR (SUM(amount) > %s AND certno IN ({watched})) "
        f"OR certno IN ({OPEN_ALERTS})"
    )
    total = (f"SELECT NULL, NULL, COUNT(*), 1 FROM ({rows}) AS t", list(params))
    # SQLite sums NUMERIC as floats: compare with float floors; the exact test is in Python.
    return sql, [*params, float(floor), float(pr_floor), *having_params], total


def _full_sql_pg(*, year, period_end, floor, pr_floor, reference, certno_range=(None, None)):
    """PostgreSQL, full scan (or one person range of it): rows (certno, burden, rows,
    is_total) of the persons who may alert, and one total row per source.

    The settlements are summed per person first, alone: a sorted `GROUP BY ROLLUP (certno)`
    over an index-only read of the covering `(year, certno)` index — the bare aggregate, plus
    the grand total of rows read — whose HAVING keeps only the few persons above the lowest
    line, with manual bills or with an alert open (one comparison per person; testing every
    person after a join cost 3 µs each, more than the aggregate, with one row per person).
    The manual bills (few) are summed per person on their own and joined to those (full
    join: a person may have bills only); only then is each tested against the floors, the
    watch and the open alerts.
    """
    range_clause, range_params = certno_range_sql(*certno_range)
    bills, bill_params = manual_burden_sql(year, period_end)
    billed = (
        "SELECT certno, SUM(amount) AS amount, COUNT(*) AS n, GROUPING(certno) AS total "
        f"FROM ({bills}) AS b {'WHERE ' + range_clause if range_clause else ''} "
        "GROUP BY ROLLUP (certno)"
    )
    params = [*bill_params, *range_params]
    where = ["year = %s"]
    params.append(year)
    if period_end < date(year, 12, 31):  # `year` is the year of `enddate`: else always true
        where.append("enddate <= %s")
        params.append(period_end)
    if range_clause:
        where.append(range_clause)
        params += range_params
    settled = (
        "SELECT certno, SUM(psn_part_amt) AS amount, COUNT(*) AS n, GROUPING(certno) AS total "
        f"FROM monitoring_settlement WHERE {' AND '.join(where)} GROUP BY ROLLUP (certno) "
        "HAVING GROUPING(certno) = 1 OR SUM(psn_part_amt) > %s "
        f"OR certno IN (SELECT certno FROM billed) OR certno IN ({OPEN_ALERTS})"
    )
    params += [min(floor, pr_floor), year]
    watched, watched_params = watched_exists_sql(reference, "x.certno")
    sql = (
        f"WITH billed AS MATERIALIZED ({billed}), settled AS ({settled}) "
        "SELECT certno, burden, n, total FROM ("
        "SELECT COALESCE(s.certno, b.certno) AS certno, "
        "COALESCE(s.amount, 0) + COALESCE(b.amount, 0) AS burden, "
        "COALESCE(s.n, 0) + COALESCE(b.n, 0) AS n, COALESCE(s.total, b.total) AS total "
        "FROM settled AS s FULL JOIN billed AS b ON b.certno = s.certno) AS x WHERE total = 1 "
        f"OR burden > %s OR (burden > %s AND {watched}) "
        f"OR certno IN ({OPEN_ALERTS})"
    )
    return sql, [*params, floor, pr_floor, *watched_params, year]


def certno_range_sql(lo: str | None, hi: str | None) -> tuple[str, list]:
    """SQL condition on `certno` for the half-open range [lo, hi) (None: open-ended)."""
    parts, params = [], []
    if lo is not None:
        parts.append("certno >= %s")
        params.append(lo)
    if hi is not None:
        parts.append("certno < %s")
        params.append(hi)
    return " AND ".join(parts), params


def _incremental_sql_pg(
    *, year, period_end, floor, pr_floor, reference, touched_after, touched_certnos
):
    """PostgreSQL, incremental: the burden of each touched person by index probes on
    (year, certno) — the cost follows the persons touched, not the size of the table.

    Rows: (certno, burden, rows, total rows read, is_candidate); the first row always comes
    back so the total is known even when nobody may alert.
    """
    touched = "SELECT certno FROM monitoring_settlement WHERE id > %s AND year = %s"
    params: list = [touched_after, year]
    if touched_certnos:
        touched += " UNION SELECT unnest(%s::varchar[])"
        params.append(sorted(touched_certnos))
    settled = (
        "SELECT COALESCE(SUM(psn_part_amt), 0) AS amount, COUNT(*) AS n "
        "FROM monitoring_settlement s WHERE s.year = %s AND s.certno = t.certno "
        "AND s.enddate <= %s"
    )
    lateral_params: list = [year, period_end]
    bills, bill_params = manual_burden_sql(year, period_end)
    billed = (
        "SELECT COALESCE(SUM(amount), 0) AS amount, COUNT(*) AS n "
        f"FROM ({bills}) AS b WHERE b.certno = t.certno"
    )
    watched, watched_params = watched_exists_sql(reference, "x.certno")
    sql = (
        "SELECT certno, burden, n, total, candidate FROM ("
        "SELECT certno, burden, n, SUM(n) OVER () AS total, ROW_NUMBER() OVER () AS rn, "
        f"(burden > %s OR (burden > %s AND {watched}) "
        f"OR certno IN ({OPEN_ALERTS})) AS candidate FROM ("
        "SELECT t.certno, s.amount + b.amount AS burden, s.n + b.n AS n "
        f"FROM ({touched}) AS t CROSS JOIN LATERAL ({settled}) AS s "
        f"CROSS JOIN LATERAL ({billed}) AS b) AS x) AS y WHERE rn = 1 OR candidate"
    )
    outer = [floor, pr_floor, *watched_params, year]
    return sql, [*outer, *params, *lateral_params, *bill_params]


def rows_read(year: int, period_end: date) -> int:
    """The settlement rows and bills of the year up to `period_end` (a scan's rows)."""
    sql = "SELECT COUNT(*) FROM monitoring_settlement WHERE year = %s AND enddate <= %s"
    params: list = [year, period_end]
    bills, bill_params = manual_burden_sql(year, period_end)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total = cursor.fetchone()[0]
        cursor.execute(f"SELECT COUNT(*) FROM ({bills}) AS bills", bill_params)
        total += cursor.fetchone()[0]
    return int(total)


def area_rows_read(
    prefix: str, year: int, period_end: date, *, touched_after=None, touched_certnos=()
) -> int:
    """The rows a run limited to an area reads for its persons (§9.4 `--area`): the
    settlements and bills, up to `period_end`, of the persons whose region is in the subtree
    `prefix` — the registered region, else the settlements' `insu_admdvs` (§7). An incremental
    run counts only the persons it re-read."""
    touched, touched_params = _touched(year, touched_after, touched_certnos)
    where = ["year = %s", "enddate <= %s", *([touched] if touched else [])]
    rows = (
        "SELECT certno, insu_admdvs AS admdvs FROM monitoring_settlement "
        f"WHERE {' AND '.join(where)}"
    )
    params: list = [year, period_end, *touched_params]
    bills, bill_params = manual_burden_sql(year, period_end)
    rows += f" UNION ALL SELECT certno, NULL FROM ({bills}) AS b"
    rows += f" WHERE {touched}" if touched else ""
    params += [*bill_params, *touched_params]
    sql = (
        "SELECT COALESCE(SUM(r.n), 0) FROM (SELECT certno, COUNT(*) AS n, MAX(admdvs) AS admdvs "
        f"FROM ({rows}) AS x GROUP BY certno) AS r "
        "LEFT JOIN beneficiaries_person p ON p.id_number = r.certno "
        "WHERE COALESCE(p.region_id, r.admdvs) LIKE %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, f"{prefix}%"])
        return int(cursor.fetchone()[0])


def scan_burdens(ctx, **kwargs) -> tuple[dict[str, tuple[Decimal, int]], int]:
    """{certno: (burden, rows)} of the candidates, and the number of rows read."""
    candidates: dict[str, tuple[Decimal, int]] = {}
    scanned = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Hashes of the candidates and of the incremental probe: memory, not disk.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            if kwargs.get("touched_after") is not None:
                cursor.execute(*_incremental_sql_pg(**kwargs))
                for certno, burden, rows, total, candidate in cursor.fetchall():
                    scanned = int(total or 0)
                    if candidate:
                        candidates[certno] = (money(str(burden)), rows)
                return candidates, scanned
            kwargs.pop("touched_after", None)
            kwargs.pop("touched_certnos", None)
            built = _full_sql_pg(**kwargs)
        else:
            built = _burden_sql(ctx, **kwargs)
        cursor.execute(built[0], built[1])
        for certno, burden, rows, is_total in cursor.fetchall():
            if is_total:
                scanned += rows  # PostgreSQL: settlements and bills, one total row each
            else:
                candidates[certno] = (money(str(burden)), rows)
        if len(built) == 3:
            cursor.execute(*built[2])
            scanned = cursor.fetchone()[2]
    return candidates, scanned
