"""`python manage.py bench_funds` — fund ledger figures on PostgreSQL.

Run against a dedicated database (it fills the ledger with synthetic vouchers):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medaid_bench_funds \\
        SECRET_KEY=x python manage.py bench_funds

1. Generates 1,000,000 vouchers (2,000,000 legs) for the Wuhai fund over 2019–2023 with
   server-side SQL (generate_series), unless they are there already.
2. Times the monthly report (2023-07) cold — no period snapshots, so the opening balances
   sum every earlier leg — and with every earlier month closed (snapshots), against a
   baseline measured in the same run: a bare SQL SUM … GROUP BY over the same rows.
3. Reconciles a 50,000-line statement against 50,000 fiscal-account vouchers of 2025-01
   (parse + match + write), against a baseline of reading the file and loading the legs.

Targets: monthly report ≤ 1 s; reconciliation ≤ 10 s.
"""

import csv
import os
import statistics
import tempfile
import time
from datetime import date, timedelta

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from core.tabular import read_table
from funds.matching import free_ledger, match_window
from funds.models import Fund, Leg, Period, PeriodBalance, Reconciliation, Transaction
from funds.periods import period_snapshot
from funds.reconciliation import _clear, statement_reconcile
from funds.selectors import month_report

AREA = "150300"
START = date(2019, 1, 1)
DAYS = (date(2023, 12, 31) - START).days + 1
RECON_YEAR, RECON_MONTH = 2025, 1

# kind, debit subject, credit subject (by voucher number modulo 10)
MIX_SQL = """
CASE i %% 10
  WHEN 0 THEN 'income' WHEN 1 THEN 'income' WHEN 2 THEN 'transfer'
  ELSE 'benefit' END
"""
DEBIT_SQL = """
CASE i %% 10
  WHEN 0 THEN '1003' WHEN 1 THEN '1003' WHEN 2 THEN '1004'
  WHEN 3 THEN '500102' WHEN 4 THEN '500103' ELSE '500101' END
"""
CREDIT_SQL = """
CASE i %% 10
  WHEN 0 THEN (ARRAY['400201','400202','400203','400204'])[1 + (i / 10) %% 4]
  WHEN 1 THEN (ARRAY['400301','400302','4004','4005'])[1 + (i / 10) %% 4]
  WHEN 2 THEN '1003' ELSE '1004' END
"""


def _timed(fn, repeat=5):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


class Command(BaseCommand):
    help = "Benchmark the fund ledger: monthly report over 1M vouchers, 50k-line reconciliation."

    def add_arguments(self, parser):
        parser.add_argument("--vouchers", type=int, default=1_000_000)
        parser.add_argument("--lines", type=int, default=50_000)
        parser.add_argument("--regenerate", action="store_true")

    def handle(self, *args, vouchers, lines, regenerate, **options):
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_funds runs on PostgreSQL: DATABASE_URL=postgres://…/medaid_bench_funds"
            )
        call_command("migrate", verbosity=0)
        fund = Fund.objects.get(area_id=AREA)
        out = self.stdout.write
        out(f"database: {connection.settings_dict['NAME']} (2 shared cores, under contention)")

        existing = Transaction.objects.filter(fund=fund, booked_on__lt=date(2024, 1, 1)).count()
        if regenerate or existing < vouchers:
            self._generate(fund, vouchers)
        legs_total = Leg.objects.filter(fund=fund).count()
        out(f"ledger: {vouchers:,} vouchers 2019–2023, {legs_total:,} legs in the fund")

        self._bench_report(fund)
        self._bench_reconciliation(fund, lines)

    # --- data ---------------------------------------------------------------------------

    def _generate(self, fund, vouchers):
        self.stdout.write(f"generating {vouchers:,} vouchers …")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            PeriodBalance.objects.filter(fund=fund).delete()
            Period.objects.filter(fund=fund).delete()
            cursor.execute("ALTER TABLE funds_leg DISABLE TRIGGER USER")
            # A dedicated benchmark database: start the fund's books from nothing.
            cursor.execute(
                "TRUNCATE funds_matchedleg, funds_match, funds_statementline,"
                " funds_reconciliation, funds_leg, funds_transaction,"
                " funds_historicaltransaction CASCADE"
            )
            cursor.execute(
                f"""
                INSERT INTO funds_transaction (fund_id, booked_on, kind, status, reference, memo,
                    key, category, visit_type, draft, created_at, reject_reason)
                SELECT %s, %s::date + (i %% %s), {MIX_SQL}, 'posted', 'B' || i, 'bench',
                       NULL,
                       CASE WHEN i %% 10 >= 3 THEN (ARRAY['destitute','subsistence',
                           'poverty_risk','near_subsistence'])[1 + i %% 4] ELSE '' END,
                       CASE WHEN i %% 10 >= 5 THEN 'inpatient'
                            WHEN i %% 10 = 3 THEN 'general_outpatient' ELSE '' END,
                       '[]'::jsonb, now(), ''
                FROM generate_series(1, %s) AS i
                """,
                [AREA, START, DAYS, vouchers],
            )
            cursor.execute(
                f"""
                INSERT INTO funds_leg (transaction_id, fund_id, booked_on, subject_id, amount)
                SELECT t.id, t.fund_id, t.booked_on,
                       CASE WHEN side = 1 THEN {DEBIT_SQL} ELSE {CREDIT_SQL} END,
                       side * (1 + (i * 7919 %% 500000) / 100.0)
                FROM (SELECT id, fund_id, booked_on, substr(reference, 2)::bigint AS i
                      FROM funds_transaction WHERE fund_id = %s AND memo = 'bench') t
                CROSS JOIN (VALUES (1), (-1)) AS s(side)
                """,
                [AREA],
            )
        with connection.cursor() as cursor:
            # after commit: the foreign-key checks (deferred) must have run first
            cursor.execute("ALTER TABLE funds_leg ENABLE TRIGGER USER")
            cursor.execute("VACUUM ANALYZE funds_leg")
            cursor.execute("VACUUM ANALYZE funds_transaction")
        self.stdout.write(f"  generated in {time.perf_counter() - started:.1f} s")

    # --- monthly report -----------------------------------------------------------------

    def _bench_report(self, fund):
        out = self.stdout.write
        month_rows = Leg.objects.filter(
            fund=fund, booked_on__gte=date(2023, 7, 1), booked_on__lte=date(2023, 7, 31)
        ).count()

        def baseline():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT subject_id, SUM(amount) FROM funds_leg WHERE fund_id = %s"
                    " AND booked_on BETWEEN %s AND %s GROUP BY subject_id",
                    [AREA, date(2023, 7, 1), date(2023, 7, 31)],
                )
                month = cursor.fetchall()
                cursor.execute(
                    "SELECT subject_id, SUM(amount) FROM funds_leg WHERE fund_id = %s"
                    " AND booked_on < %s GROUP BY subject_id",
                    [AREA, date(2023, 7, 1)],
                )
                return month, cursor.fetchall()

        PeriodBalance.objects.filter(fund=fund).delete()
        month_report(fund, 2023, 7)  # warm the cache
        base_t, _r = _timed(baseline)
        cold_t, report = _timed(lambda: month_report(fund, 2023, 7))
        out("monthly report 2023-07 (income/expense by subject and level, balances, budget,")
        out(f"  benefits by category × visit type); {month_rows:,} legs in the month")
        out(f"  baseline bare SQL SUM (month + all earlier legs): {base_t * 1000:8.1f} ms")
        out(
            f"  report, no snapshots (sums all earlier legs):     {cold_t * 1000:8.1f} ms"
            f"  ratio {cold_t / base_t:.2f}×  target ≤ 1000 ms: {'OK' if cold_t <= 1 else 'MISSED'}"
        )
        # Close every earlier month: snapshots make the opening balance one row per subject.
        snap_started = time.perf_counter()
        with transaction.atomic():
            day = START
            while day < date(2023, 7, 1):
                period_snapshot(fund, day.year, day.month)
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        snap_time = time.perf_counter() - snap_started
        only_month_t, _r = _timed(
            lambda: baseline_month(fund),
        )
        warm_t, report2 = _timed(lambda: month_report(fund, 2023, 7))
        assert report2.closing_total == report.closing_total
        out(f"  (snapshots for 54 closed months written in {snap_time:.1f} s)")
        out(f"  baseline bare SQL SUM (month only):               {only_month_t * 1000:8.1f} ms")
        out(
            f"  report, earlier months closed (snapshots):        {warm_t * 1000:8.1f} ms"
            f"  ratio {warm_t / only_month_t:.2f}×  target ≤ 1000 ms: "
            f"{'OK' if warm_t <= 1 else 'MISSED'}"
        )
        PeriodBalance.objects.filter(fund=fund).delete()

    # --- reconciliation -----------------------------------------------------------------

    def _drop_reconciliation(self, fund):
        recon = Reconciliation.objects.filter(fund=fund, year=RECON_YEAR, month=RECON_MONTH).first()
        if recon is not None:
            with transaction.atomic():
                _clear(recon)
                recon.delete()

    def _bench_reconciliation(self, fund, lines):
        out = self.stdout.write
        first = date(RECON_YEAR, RECON_MONTH, 1)
        self._drop_reconciliation(fund)
        _fill_recon_ledger(fund, first, lines)
        path = _write_statement(first, lines)

        def baseline():
            _headers, rows = read_table(path, "statement.csv")
            parsed = sum(1 for _ in rows)
            a, b = match_window(RECON_YEAR, RECON_MONTH)
            return parsed, len(free_ledger(fund, a, b))

        base_t, _r = _timed(baseline, repeat=3)
        times = []
        result = None
        for _ in range(3):
            self._drop_reconciliation(fund)
            start = time.perf_counter()
            result = statement_reconcile(
                fund=fund,
                year=RECON_YEAR,
                month=RECON_MONTH,
                file_or_path=path,
                filename="statement.csv",
                by=None,
            )
            times.append(time.perf_counter() - start)
        recon_t = statistics.median(times)
        out(
            f"reconciliation {RECON_YEAR}-{RECON_MONTH:02d}: {lines:,} statement lines vs {lines:,} entries"
        )
        out(f"  baseline (read the file + load the free legs):    {base_t * 1000:8.1f} ms")
        out(
            f"  reconcile (parse, match, write lines/matches):    {recon_t * 1000:8.1f} ms"
            f"  ratio {recon_t / base_t:.2f}×  target ≤ 10000 ms: "
            f"{'OK' if recon_t <= 10 else 'MISSED'}"
        )
        summary = {k: v for k, v in result.items() if k != "errors"}
        out(f"  result: {summary}")


def _fill_recon_ledger(fund, first: date, lines: int) -> None:
    """`lines` income entries of the benchmark month (inserted once, by SQL)."""
    have = Transaction.objects.filter(fund=fund, booked_on__gte=first, memo="bench-recon").count()
    if have != lines:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("ALTER TABLE funds_leg DISABLE TRIGGER USER")
            cursor.execute(
                "INSERT INTO funds_transaction (fund_id, booked_on, kind, status, reference,"
                " memo, key, category, visit_type, draft, created_at, reject_reason)"
                " SELECT %s, %s::date + (i %% 28), 'income', 'posted', 'R' || i,"
                " 'bench-recon', NULL, '', '', '[]'::jsonb, now(), ''"
                " FROM generate_series(0, %s - 1) AS i",
                [AREA, first, lines],
            )
            cursor.execute(
                "INSERT INTO funds_leg (transaction_id, fund_id, booked_on, subject_id, amount)"
                " SELECT t.id, t.fund_id, t.booked_on, s.subject,"
                "   s.side * (1000 + substr(t.reference, 2)::int / 100.0)"
                " FROM funds_transaction t CROSS JOIN"
                "   (VALUES (1, '1003'), (-1, '400201')) AS s(side, subject)"
                " WHERE t.fund_id = %s AND t.memo = 'bench-recon'",
                [AREA],
            )
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE funds_leg ENABLE TRIGGER USER")
            cursor.execute("ANALYZE funds_leg")


def _write_statement(first: date, lines: int) -> str:
    """The benchmark statement file of `lines` lines; returns its path."""
    # The statement: 60% same reference (date up to 9 days off), 35% no reference but
    # within 3 days, 3% amounts that differ (stay unmatched), 2% pairs of lines that
    # both claim one entry (left for a person).
    path = os.path.join(tempfile.mkdtemp(), "statement.csv")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["日期", "凭证号", "摘要", "收入", "支出"])
        for i in range(lines):
            day = first + timedelta(days=i % 28)
            amount = 1000 + i / 100
            bucket = i % 100
            if bucket < 60:
                ref, day = f"R{i}", first + timedelta(days=min(27, i % 28 + i % 10))
            elif bucket < 95:
                ref, day = "", first + timedelta(days=max(0, i % 28 - i % 4))
            elif bucket < 98:
                ref, amount = "", amount + 0.5
            else:
                ref = ""
                if bucket == 99:  # same amount as the previous line's entry
                    amount = 1000 + (i - 1) / 100
            writer.writerow([day.isoformat(), ref, "拨付", f"{amount:.2f}", ""])
    return path


def baseline_month(fund):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT subject_id, SUM(amount) FROM funds_leg WHERE fund_id = %s"
            " AND booked_on BETWEEN %s AND %s GROUP BY subject_id",
            [fund.area_id, date(2023, 7, 1), date(2023, 7, 31)],
        )
        return cursor.fetchall()
