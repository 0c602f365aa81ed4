"""Demo data dated in the current year (used by `seed_demo` after the apps' own demos).

The apps' demos build 2023, the year of the worked examples (DOMAIN §4), and claims.demo dates
its applications relative to today. Without this module the dashboard's fund card, the chart
and the current-year reports and alert queue started empty. This adds, for the Shanghai year
of today: the fund's income and budget, one-stop settlements of demo persons dated between
1 January and today (three with assistance paid at the counter) (imported through the real service), and the checks run for the year, so
its alerts are there. Idempotent: ledger entries by key, settlements by settlement ID, checks
only when the import brought new rows. In 2023 itself there is nothing to add.
"""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from core.dates import shanghai_today

WORKED_EXAMPLE_YEAR = 2023
# (key, kind, month, account, counter, amount, memo): the year's first subsidies.
INCOME = [
    ("a", "income", 1, "fiscal", "400201", "2800000.00", "中央财政医疗救助补助资金（第一批）"),
    ("b", "income", 1, "fiscal", "400202", "1200000.00", "自治区财政医疗救助补助资金"),
    ("c", "transfer", 1, "expense", "fiscal", "1800000.00", "财政专户拨入支出户"),
]
# Demo person index (beneficiaries.demo.demo_people) -> burden this year, as in 2023's demo.
BURDENS = {3: "13900.00", 6: "26800.00", 12: "11200.00", 24: "30500.00", 1: "21000.00"}
# Demo person index -> (burden, assistance paid at the counter): one-stop assistance this year,
# so the dashboard and the regional comparison show it (persons 0–23 hold identities).
COUNTER = {0: ("1800.00", "1200.00"), 4: ("2400.00", "2000.00"), 8: ("3100.00", "900.00")}


def seed(*, users) -> dict[str, int]:
    day = shanghai_today()
    if day.year == WORKED_EXAMPLE_YEAR:
        return {}
    return {
        "present_fund_entries": _seed_ledger(day, users),
        "present_settlements": _seed_settlements(day),
    }


def _seed_ledger(day: date, users) -> int:
    from funds.demo import BUDGET_2023
    from funds.models import Fund, Subject, Transaction
    from funds.periods import budget_set
    from funds.services import entry_approve, entry_propose

    accounts = {"fiscal": Subject.FISCAL, "expense": Subject.EXPENSE_ACCOUNT}
    maker, checker = users["accountant"], users["supervisor"]
    fund = Fund.objects.get(area_id="150300")
    created = 0
    for key, kind, month, account, counter, amount, memo in INCOME:
        key = f"funds.demo:{day.year}-{key}"
        if Transaction.objects.filter(key=key).exists():
            continue
        voucher = entry_propose(
            fund=fund,
            kind=kind,
            booked_on=min(day, date(day.year, month, 2)),
            account=accounts[account],
            counter=accounts.get(counter, counter),
            amount=Decimal(amount),
            memo=memo,
            reference=f"CZ{day.year}{created + 1:05d}",
            by=maker,
            key=key,
        )
        entry_approve(voucher=voucher, by=checker)
        created += 1
    for subject, amount in BUDGET_2023.items():
        budget_set(fund=fund, year=day.year, subject=subject, amount=Decimal(amount), by=maker)
    return created


def settlement_rows(day: date) -> list[dict]:
    """Settlements of demo persons dated from 1 January to `day` (IDs DEMO<year>…)."""
    from beneficiaries.demo import demo_people
    from monitoring import demo

    rng = random.Random(day.year)
    people = list(demo_people())
    start = date(day.year, 1, 1)
    span = (day - start).days
    rows = []
    for seq, (index, burden) in enumerate(sorted(BURDENS.items()), start=1):
        name, certno, region, _residence = people[index]
        end = start + timedelta(days=span * seq // (len(BURDENS) + 1))
        row = demo._row(seq, name, certno, region, Decimal(burden), end, rng)
        row["setl_id"] = f"DEMO{day.year}{seq:05d}"
        row["setl_time"] = row["setl_time"].replace(str(demo.YEAR), str(day.year), 1)
        rows.append(row)
    first = len(BURDENS) + 1
    for seq, (index, (burden, maf)) in enumerate(sorted(COUNTER.items()), start=first):
        name, certno, region, _residence = people[index]
        end = start + timedelta(days=span * (seq - first + 1) // (len(COUNTER) + 1))
        row = demo._row(seq, name, certno, region, Decimal(burden), end, rng, maf=Decimal(maf))
        row["setl_id"] = f"DEMO{day.year}{seq:05d}"
        row["setl_time"] = row["setl_time"].replace(str(demo.YEAR), str(day.year), 1)
        rows.append(row)
    return rows


def _seed_settlements(day: date) -> int:
    from monitoring import demo
    from monitoring.checks import CheckAlreadyRunning, check_names, check_run
    from monitoring.models import Settlement
    from monitoring.settlements import settlement_import

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"settlements_wuhai_{day.year}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=demo.HEADER)
            writer.writeheader()
            writer.writerows(settlement_rows(day))
        result = settlement_import(path=str(path), by=None)
    if result.errors:
        raise RuntimeError(f"present-year demo settlements have row errors: {result.errors[:3]}")
    if result.imported:
        for name in check_names():
            try:
                check_run(name=name, period=str(day.year), by=None)
            except CheckAlreadyRunning:
                pass
    return Settlement.objects.filter(setl_id__startswith=f"DEMO{day.year}").count()
