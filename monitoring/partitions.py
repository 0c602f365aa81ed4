"""Settlements partitioned by year on PostgreSQL (DOMAIN §7, §9.2; SQLite keeps one table).

`monitoring_settlement` is `PARTITION BY RANGE (year)`: one partition per year
(`monitoring_settlement_y2023` holds `year` 2023), and no DEFAULT partition, so a query of a
year (`year = Y`: the high-cost scan, the replay) reads that year's partition only, and one
bounded by a year (`year <= Y`: a clearing) the partitions up to it. The primary key is
`(id, year)` (a partitioned key must hold the partition column); `id` stays Django's primary
key, unique by its sequence; `setl_id` is unique through `monitoring.settlement_keys`.

Partitions are made on demand (`ensure_years`) by every writer before it writes: the import
(its merge, and the optimistic writer of the COPY path before it takes the import lock), the
ORM (`Settlement.save`, `SettlementQuerySet.bulk_create`) and the benchmark generators. Two
imports of a new year take an advisory lock and look again under it, so one creates the
partition and the other finds it. A raw INSERT of a year without a partition fails (no
partition for the row) rather than landing somewhere a year's query would not look. Should
an operator add a DEFAULT partition all the same, a year created later takes its rows out of
DEFAULT first (`_create`), as PostgreSQL requires.
"""

from __future__ import annotations

from django.db import connections, transaction

TABLE = "monitoring_settlement"
DEFAULT = f"{TABLE}_default"
# pg_advisory_xact_lock key: "partition" of monitoring_settlement (any fixed number).
LOCK_KEY = 7_316_002
FIRST_YEAR, LAST_YEAR = 1900, 2100  # the dates the import accepts (copypath.FIRST_DAY …)


def partition_name(year: int) -> str:
    return f"{TABLE}_y{int(year)}"


def is_partitioned(cursor) -> bool:
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [TABLE])
    row = cursor.fetchone()
    return row is not None and row[0] == "p"


def existing_years(cursor) -> set[int]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%s)",
        [TABLE],
    )
    prefix = f"{TABLE}_y"
    return {int(name[len(prefix) :]) for (name,) in cursor.fetchall() if name.startswith(prefix)}


def ensure_years(years, *, using: str = "default") -> list[int]:
    """Create the partitions of these years that do not exist yet (PostgreSQL; nothing on
    SQLite). Returns the years created. Runs in the caller's transaction, or its own."""
    connection = connections[using]
    wanted = {int(y) for y in years if y is not None and FIRST_YEAR <= int(y) <= LAST_YEAR}
    if connection.vendor != "postgresql" or not wanted:
        return []
    with connection.cursor() as cursor:
        if not is_partitioned(cursor):
            return []
        missing = wanted - existing_years(cursor)
        if not missing:
            return []
        with transaction.atomic(using=using):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            missing -= existing_years(cursor)  # another import may have made them meanwhile
            for year in sorted(missing):
                _create(cursor, year)
    return sorted(missing)


def _create(cursor, year: int) -> None:
    """A new year's partition: a table like the parent (filled with a DEFAULT partition's rows
    of that year, if there is one), then attached; its indexes come from the parent's."""
    name = partition_name(year)
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [DEFAULT])
    if cursor.fetchone()[0]:
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE year = %s RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved",
            [year],
        )
    cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_year CHECK (year = {int(year)})")
    cursor.execute(
        f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ({int(year)}) "
        f"TO ({int(year) + 1})"
    )
    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_year")


def convert(cursor) -> None:
    """Turn the plain settlement table into the partitioned one, rows and all (the
    migration). The ids and their sequence are kept; a partition per year found."""
    cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_plain")
    for index in ("settlement_year_certno_cover", "settlement_reversal_target"):
        cursor.execute(f"DROP INDEX IF EXISTS {index}")
    cursor.execute(f"ALTER TABLE {TABLE}_plain DROP CONSTRAINT IF EXISTS {TABLE}_pkey")
    cursor.execute(
        f"CREATE TABLE {TABLE} (LIKE {TABLE}_plain INCLUDING DEFAULTS INCLUDING IDENTITY) "
        "PARTITION BY RANGE (year)"
    )
    cursor.execute(f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id, year)")
    cursor.execute(
        f"CREATE INDEX settlement_year_certno_cover ON {TABLE} (year, certno) "
        "INCLUDE (psn_part_amt, enddate)"
    )
    cursor.execute(
        f"CREATE INDEX settlement_reversal_target ON {TABLE} (init_setl_id) WHERE refd_setl_flag"
    )
    cursor.execute(f"SELECT DISTINCT year FROM {TABLE}_plain")
    for (year,) in cursor.fetchall():
        name = partition_name(year)
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM ({year}) TO ({year + 1})"
        )
    cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_plain ORDER BY year, certno")
    cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {TABLE}")
    (start,) = cursor.fetchone()
    cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id RESTART WITH {start}")
    cursor.execute(f"DROP TABLE {TABLE}_plain")
