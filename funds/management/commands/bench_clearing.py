"""`python manage.py bench_clearing` — the clearing computation and payment at scale (§10).

On PostgreSQL only, against a dedicated database (its name must contain "bench", or pass
--force). In one run it

1. generates `--settlements` rows (default 10,000,000) for `--persons` persons (2,000,000)
   with bench_monitoring's server-side generator, or reuses them when the table already holds
   that many; the generator spreads a year over 365 days and leaves `maf_pay` at zero, so the
   rows of `--period` (one month, ~1/12 of the table) are given an assistance amount;
2. times, interleaved, the bare `SELECT fixmedins_code, SUM(maf_pay) … GROUP BY
   fixmedins_code` under the computation's own filter (area subtree, up to the month's end,
   `maf_pay ≠ 0`) and `clearing_compute` of that month as a dry run (computed exactly as for
   real, then rolled back): medians of 3, and their ratio (target ≤ 2×);
3. builds an approved clearing of `--lines` (500) institutions and times `clearing_pay`
   (a posting per payee and visit type; target ≤ 2 s).

Figures are printed as JSON at the end, with the machine's load (runs here are contended).
"""

import json
import os
import statistics
import time
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core.dates import shanghai_today
from core.models import Region
from core.roles import Role, grant_role
from funds.clearing import (
    _month_end_moment,
    clearing_compute,
    clearing_pay,
    coordination_area,
    parse_period,
)
from funds.models import Clearing, ClearingLine
from funds.services import fund_for_area
from monitoring.management.commands.bench_monitoring import Command as MonitoringBench
from monitoring.models import Settlement

AREA = "150300"  # bench_monitoring's regions 150302/150303/150304 are Wuhai's districts


class Command(BaseCommand):
    help = "Benchmark the clearing computation against a bare GROUP BY, and a payment (PG)."

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, default=2_000_000)
        parser.add_argument("--settlements", type=int, default=10_000_000)
        parser.add_argument("--period", default="2023-06", help="the month cleared (YYYY-MM)")
        parser.add_argument("--lines", type=int, default=500, help="institutions of the payment")
        parser.add_argument("--runs", type=int, default=3)
        parser.add_argument("--work-mem", default="256MB")
        parser.add_argument("--force", action="store_true")

    def handle(self, *args, persons, settlements, period, lines, runs, work_mem, force, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_clearing runs on PostgreSQL only")
        name = connection.settings_dict["NAME"]
        if "bench" not in name and not force:
            raise CommandError(f"refusing to fill the settlements of {name!r} (use --force)")
        year, month = parse_period(period)
        area = coordination_area(AREA)
        figures = {
            "database": name,
            "settlements": settlements,
            "persons": persons,
            "period": period,
            "load_average_at_start": os.getloadavg(),
            "work_mem": work_mem,
        }
        with connection.cursor() as cursor:
            cursor.execute(f"SET work_mem = '{work_mem}'")
        figures["generated"] = self._ensure_rows(settlements, persons, year, month)
        figures["month_rows"] = self._month_rows(year, month)

        # Interleaved, so both see the same (shared, contended) machine.
        bare, compute, result = [], [], None
        for _ in range(runs):
            # A dry run's holds are rolled back: vacuum their dead rows (untimed), or every run
            # would scan and index into the previous runs' leftovers, which production never has.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM funds_clearedsettlement")
            bare.append(self._bare(area, year, month))
            started = time.monotonic()
            result = clearing_compute(area_code=area.code, period=period, dry_run=True)
            compute.append(time.monotonic() - started)
        bare_median, compute_median = statistics.median(bare), statistics.median(compute)
        figures["eligible_settlements"] = result.settlements
        figures["compute_institutions"] = len(result.lines)
        figures["bare_group_by_seconds_median"] = round(bare_median, 2)
        figures["bare_group_by_all_runs"] = [round(b, 2) for b in bare]
        figures["compute_seconds_median"] = round(compute_median, 2)
        figures["compute_all_runs"] = [round(c, 2) for c in compute]
        figures["compute_ratio"] = round(compute_median / bare_median, 2)
        self._log(
            f"bare GROUP BY {figures['bare_group_by_all_runs']} s, clearing_compute "
            f"{figures['compute_all_runs']} s over {result.settlements:,} settlements: "
            f"ratio {figures['compute_ratio']}"
        )

        clearing, payer = self._approved_clearing(lines)
        started = time.monotonic()
        clearing_pay(clearing=clearing, by=payer, paid_on=shanghai_today(), reference="BENCH")
        figures["pay_lines"] = lines
        figures["pay_postings"] = clearing.lines.count() * 2
        figures["pay_seconds"] = round(time.monotonic() - started, 2)
        self._log(f"clearing_pay of {lines} lines: {figures['pay_seconds']} s")

        figures["load_average_at_end"] = os.getloadavg()
        figures["targets_met"] = {
            "compute<=2x_bare": figures["compute_ratio"] <= 2,
            "pay_500_lines<=2s": figures["pay_seconds"] <= 2,
        }
        self.stdout.write(json.dumps(figures, ensure_ascii=False, indent=2))

    def _log(self, message):
        self.stderr.write(message)

    def _ensure_rows(self, settlements: int, persons: int, year: int, month: int) -> bool:
        """Reuse the table when it holds `settlements` rows; else regenerate it."""
        generated = False
        if Settlement.objects.count() != settlements:
            if Clearing.objects.exclude(computed_by__username="bench_maker").exists():
                raise CommandError("this database holds clearings: use a dedicated bench database")
            with connection.cursor() as cursor:
                cursor.execute("TRUNCATE funds_clearedsettlement, monitoring_settlement CASCADE")
            started = time.monotonic()
            MonitoringBench()._generate(settlements, persons)
            self._log(f"generated {settlements:,} rows in {time.monotonic() - started:.1f} s")
            generated = True
        # The generator's rows carry no assistance: the month's rows get some (half the
        # fund's share), inpatient and outpatient alike.
        start = _month_end_moment(year, month - 1) if month > 1 else None
        end = _month_end_moment(year, month)
        rows = Settlement.objects.filter(setl_time__lt=end, maf_pay=0)
        if start is not None:
            rows = rows.filter(setl_time__gte=start)
        with connection.cursor() as cursor:
            sql, params = rows.values("pk").query.sql_with_params()
            cursor.execute(
                "UPDATE monitoring_settlement SET maf_pay = hifp_pay / 4, "
                "fund_pay_sumamt = hifp_pay + hifp_pay / 4 "
                f"WHERE id IN ({sql}) AND hifp_pay >= 0.04",
                params,
            )
            changed = cursor.rowcount
            if changed or generated:
                cursor.execute("VACUUM ANALYZE monitoring_settlement")
        self._log(f"{changed:,} rows of the month given an assistance amount")
        return generated

    def _month_rows(self, year: int, month: int) -> int:
        return Settlement.objects.filter(
            setl_time__lt=_month_end_moment(year, month), maf_pay__gt=0
        ).count()

    def _bare(self, area: Region, year: int, month: int) -> float:
        """The GROUP BY the computation needs, under its own filter, and nothing else."""
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*), SUM(s) FROM (SELECT fixmedins_code, SUM(maf_pay) AS s "
                "FROM monitoring_settlement WHERE insu_admdvs = ANY(%s) AND setl_time < %s "
                "AND maf_pay <> 0 GROUP BY fixmedins_code) t",
                [list(area.subtree_codes()), _month_end_moment(year, month)],
            )
            cursor.fetchone()
        return time.monotonic() - started

    def _users(self):
        User = get_user_model()
        region = Region.objects.get(code=AREA)
        users = []
        for username, role in (
            ("bench_maker", Role.ACCOUNTANT),
            ("bench_checker", Role.SUPERVISOR),
            ("bench_payer", Role.ACCOUNTANT),
        ):
            user, created = User.objects.get_or_create(
                username=username, defaults={"region": region, "name": username}
            )
            if created:
                user.set_unusable_password()
                user.save()
                grant_role(user, role)
            users.append(User.objects.get(pk=user.pk))  # fresh permission cache
        return users

    def _approved_clearing(self, count: int):
        """An approved clearing of `count` institutions in a month no bench clearing used yet
        (each run posts afresh: postings are once per key)."""
        maker, checker, payer = self._users()
        fund = fund_for_area(AREA)
        used = set(Clearing.objects.filter(fund=fund).values_list("year", "month"))
        year, month = next(
            (y, m) for y in range(2001, 2100) for m in range(1, 13) if (y, m) not in used
        )
        clearing = Clearing.objects.create(
            fund=fund,
            year=year,
            month=month,
            status=Clearing.Status.APPROVED,
            computed_by=maker,
            approved_by=checker,
        )
        amount = Decimal("1234.56")
        ClearingLine.objects.bulk_create(
            ClearingLine(
                clearing=clearing,
                institution_code=f"H150302{n:05d}",
                institution_name=f"医院{n}",
                payee=f"H150302{n:05d}",
                settlements=10,
                medfee_sumamt=amount * 3,
                inpatient=amount,
                outpatient=-amount / 2 if n % 7 == 0 else amount / 2,
                net=amount + (-amount / 2 if n % 7 == 0 else amount / 2),
            )
            for n in range(count)
        )
        return clearing, payer
