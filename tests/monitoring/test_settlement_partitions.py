"""Settlements partitioned by year on PostgreSQL, `setl_id` unique through the key table
(`monitoring.partitions`, `monitoring.settlement_keys`; DOMAIN §7, §9.2, §10)."""

import re
import threading
import time
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from monitoring_helpers import certno, srow

from core import idnumber
from core.models import Region
from funds.clearing import _eligible
from monitoring import partitions
from monitoring.checks import check_run
from monitoring.models import Settlement, SettlementKey
from monitoring.selectors import (
    settlement_by_setl_id,
    settlements_by_setl_ids,
    settlements_for,
    settlements_of,
)
from monitoring.settlements import settlement_import

pytestmark = pytest.mark.django_db
pg_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
PAID = {"maf_pay": "10.00", "fund_pay_sumamt": "610.00", "medfee_sumamt": "1010.00"}
CONFLICT = "该结算ID已导入，但数据与已导入的不一致"


def _three_years(import_rows):
    p = certno(1)
    import_rows(
        [
            srow("Y22", p, enddate="2022-05-01"),
            srow("Y23", p, enddate="2023-05-01", **PAID),
            srow("Y24", p, enddate="2024-05-01"),
        ]
    )
    return p


def _partitions_in(sql: str, params=None) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    return set(re.findall(r"monitoring_settlement_(y\d{4}|default)\b", plan))


def test_the_import_writes_each_settlements_key(import_rows):
    _three_years(import_rows)
    keys = {k.setl_id: (k.year, k.settlement_id) for k in SettlementKey.objects.all()}
    rows = {s.setl_id: (s.year, s.pk) for s in Settlement.objects.all()}
    assert keys == rows
    assert set(keys) == {"Y22", "Y23", "Y24"}


def test_a_resent_file_is_skipped_and_a_setl_id_reused_in_another_year_refused(
    import_rows, settlement_file
):
    p = _three_years(import_rows)
    again = settlement_import(path=settlement_file([srow("Y23", p, enddate="2023-05-01", **PAID)]))
    assert (again.imported, again.errors) == (0, [])
    moved = settlement_import(path=settlement_file([srow("Y23", p, enddate="2025-05-01")]))
    assert (moved.imported, [e.message for e in moved.errors]) == (0, [CONFLICT])
    assert Settlement.objects.filter(setl_id="Y23").count() == 1
    assert SettlementKey.objects.get(setl_id="Y23").year == 2023


def test_a_reversal_finds_its_target_through_the_key(import_rows, settlement_file):
    p = _three_years(import_rows)
    reversal = srow("R22", p, enddate="2023-01-05", reversal_of="Y22")
    result = settlement_import(path=settlement_file([reversal]))
    assert (result.imported, result.errors) == (1, [])
    orphan = srow("R99", p, enddate="2023-01-05", reversal_of="NOPE")
    refused = settlement_import(path=settlement_file([orphan]))
    assert [e.message for e in refused.errors] == ["原结算ID不存在（未导入且不在本文件中）"]


def test_orm_writes_keep_setl_id_unique_across_years(import_rows):
    p = _three_years(import_rows)
    row = Settlement.objects.get(setl_id="Y22")
    row.pk, row.year, row.enddate = None, 2025, date(2025, 1, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
    row.setl_id = "Y25"
    row.save()
    assert SettlementKey.objects.get(setl_id="Y25").settlement_id == row.pk
    assert settlement_by_setl_id(" Y25 ").pk == row.pk
    assert [s.setl_id for s in settlements_by_setl_ids(["Y25", "Y23", "none"])] == ["Y23", "Y25"]
    Settlement.objects.filter(setl_id="Y25").delete()
    assert not SettlementKey.objects.filter(setl_id="Y25").exists()
    assert settlement_by_setl_id("Y24").certno == p


@pg_only
def test_an_import_of_a_new_year_creates_its_partition(import_rows):
    with connection.cursor() as cursor:
        assert partitions.is_partitioned(cursor)
        assert 2022 not in partitions.existing_years(cursor)
    _three_years(import_rows)
    with connection.cursor() as cursor:
        assert {2022, 2023, 2024} <= partitions.existing_years(cursor)
        cursor.execute(
            "SELECT setl_id, tableoid::regclass::text FROM monitoring_settlement ORDER BY setl_id"
        )
        assert cursor.fetchall() == [
            ("Y22", "monitoring_settlement_y2022"),
            ("Y23", "monitoring_settlement_y2023"),
            ("Y24", "monitoring_settlement_y2024"),
        ]
    assert partitions.ensure_years([2023, 2024]) == []  # made once


@pg_only
def test_a_year_made_later_takes_its_rows_out_of_a_default_partition(import_rows):
    _three_years(import_rows)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {partitions.DEFAULT} PARTITION OF monitoring_settlement DEFAULT"
        )
        cursor.execute("CREATE TEMP TABLE late AS SELECT * FROM monitoring_settlement_y2024")
        cursor.execute("UPDATE late SET id = id + 1000, year = 2026")
        cursor.execute("INSERT INTO monitoring_settlement SELECT * FROM late")
        cursor.execute(f"SELECT COUNT(*) FROM {partitions.DEFAULT}")
        assert cursor.fetchone() == (1,)
    assert partitions.ensure_years([2026]) == [2026]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {partitions.DEFAULT}")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT COUNT(*) FROM monitoring_settlement_y2026")
        assert cursor.fetchone() == (1,)


@pg_only
def test_the_scan_the_clearing_and_the_replay_of_a_year_read_its_partition_only(import_rows):
    p = _three_years(import_rows)
    with CaptureQueriesContext(connection) as captured:
        run = check_run(name="high_cost", period="2023")
    assert run.outcome == "success", run.error
    scan = [
        q["sql"]
        for q in captured
        if q["sql"].startswith(("SELECT", "WITH")) and "monitoring_settlement " in q["sql"] + " "
    ]
    # The watermark (the highest id of all, `high_cost._watermark`) is one descent of each
    # partition's primary key; every read of the year's rows touches 2023's partition only.
    watermark = "SELECT COALESCE(MAX(id), 0) FROM monitoring_settlement"
    assert watermark in scan and len(scan) > 1
    for sql in scan:
        if sql != watermark:
            assert _partitions_in(sql) == {"y2023"}, sql

    # The replay (§4, §11) and the 测算 (§12) read a person's year.
    for rows in (settlements_for(p, 2023), settlements_of(2023, [p], ["setl_id"])):
        sql, params = rows.query.sql_with_params()
        assert _partitions_in(sql, params) == {"y2023"}
    # A clearing of a 2023 month takes every uncleared row settled by then: none of 2024.
    eligible = _eligible(Region.objects.get(code="150300"), 2023, 12)
    assert [s.setl_id for s in eligible] == ["Y23"]
    sql, params = eligible.query.sql_with_params()
    assert _partitions_in(sql, params) == {"y2022", "y2023"}


@pg_only
@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_existing_rows_into_partitions():
    executor = MigrationExecutor(connection)
    executor.migrate([("monitoring", "0009_alert_reassessment")])
    with connection.cursor() as cursor:
        assert not partitions.is_partitioned(cursor)
        for n, day in enumerate([date(2022, 3, 1), date(2023, 3, 1), date(2023, 9, 1)]):
            cursor.execute(
                "INSERT INTO monitoring_settlement (setl_id, psn_name, certno, psn_cert_type, "
                "insutype, med_type, visit_type, begndate, enddate, year, setl_time, "
                "fixmedins_code, fixmedins_name, insu_admdvs, medfee_sumamt, inscp_scp_amt, "
                "fulamt_ownpay_amt, hifp_pay, hifmi_pay, maf_pay, fund_pay_sumamt, "
                "psn_part_amt, hosp_part_amt, refd_setl_flag, init_setl_id) VALUES (%s, 'x', "
                "%s, '01', '390', '11', 'general_outpatient', %s, %s, %s, %s, 'H', 'h', "
                "'150302', 1, 1, 0, 0, 0, 0, 0, 1, 0, false, '')",
                [
                    f"OLD{n}",
                    certno(n),
                    day,
                    day,
                    day.year,
                    datetime(day.year, day.month, day.day, tzinfo=idnumber.CHINA_TZ),
                ],
            )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        assert partitions.is_partitioned(cursor)
        assert partitions.existing_years(cursor) == {2022, 2023}
    keys = {k.setl_id: k.year for k in SettlementKey.objects.all()}
    assert keys == {"OLD0": 2022, "OLD1": 2023, "OLD2": 2023}
    old = list(Settlement.objects.order_by("id").values_list("id", "setl_id"))
    assert [s for _, s in old] == ["OLD0", "OLD1", "OLD2"]
    fresh = Settlement.objects.get(setl_id="OLD0")
    fresh.pk, fresh.setl_id, fresh.maf_pay = None, "NEW", Decimal("0.00")
    fresh.save()
    assert fresh.pk > old[-1][0]  # the id sequence carries on


@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_imports_making_the_same_year_make_it_once():
    """The second waits on the advisory lock, then finds the first's partition."""
    made, started = {}, threading.Event()
    release = threading.Event()

    def first():
        with transaction.atomic():
            made["first"] = partitions.ensure_years([2031])
            started.set()
            release.wait(10)
        connections.close_all()

    def second():
        started.wait(10)
        made["second"] = partitions.ensure_years([2031])
        connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    started.wait(10)
    time.sleep(0.5)  # the second is waiting on the lock by now
    assert "second" not in made
    release.set()
    for thread in threads:
        thread.join(20)
    try:
        assert made == {"first": [2031], "second": []}
        with connection.cursor() as cursor:
            assert 2031 in partitions.existing_years(cursor)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS monitoring_settlement_y2031")
