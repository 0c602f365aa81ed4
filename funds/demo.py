"""Demo books of the Wuhai fund (used by `seed_demo`; idempotent by voucher key).

July 2023 is the demo month: central, regional, city and county subsidies arrive in the
fiscal special account, money is transferred to the expense account, the expense account
earns interest and sweeps it back (P §24). Benefit postings come from the claims demo (it pays
applications through `benefit_post`). `demo_data/statement_2023-07.csv` is the finance
department's statement of the month: uploaded on the reconciliation page it matches most lines
and leaves a few to resolve by hand (a split payment, bank interest not yet booked, a county
subsidy finance has not booked).
"""

from datetime import date
from decimal import Decimal
from pathlib import Path

from funds.models import Fund, Subject, Transaction
from funds.periods import budget_set
from funds.services import entry_approve, entry_propose

STATEMENT = Path(__file__).parent / "demo_data" / "statement_2023-07.csv"

F, E = Subject.FISCAL, Subject.EXPENSE_ACCOUNT
# key, kind, day, account, counter, amount, reference, memo, approve
ENTRIES = [
    (
        "2023-06-a",
        "income",
        date(2023, 6, 8),
        F,
        "400201",
        "2500000.00",
        "CZ202306001",
        "中央财政医疗救助补助资金（第一批）",
        True,
    ),
    (
        "2023-06-b",
        "transfer",
        date(2023, 6, 12),
        E,
        F,
        "1500000.00",
        "CZ202306002",
        "财政专户拨入支出户",
        True,
    ),
    (
        "2023-07-a",
        "income",
        date(2023, 7, 3),
        F,
        "400201",
        "3000000.00",
        "CZ202307001",
        "中央财政医疗救助补助资金（第二批）",
        True,
    ),
    (
        "2023-07-b",
        "income",
        date(2023, 7, 5),
        F,
        "400202",
        "1200000.00",
        "CZ202307002",
        "自治区财政医疗救助补助资金",
        True,
    ),
    (
        "2023-07-c",
        "income",
        date(2023, 7, 6),
        F,
        "400203",
        "800000.00",
        "CZ202307003",
        "市级财政医疗救助资金",
        True,
    ),
    (
        "2023-07-d",
        "income",
        date(2023, 7, 10),
        F,
        "400302",
        "200000.00",
        "CZ202307004",
        "自治区专项福彩公益金",
        True,
    ),
    (
        "2023-07-e",
        "transfer",
        date(2023, 7, 12),
        E,
        F,
        "2000000.00",
        "CZ202307005",
        "财政专户拨入支出户",
        True,
    ),
    (
        "2023-07-f",
        "income",
        date(2023, 7, 20),
        F,
        "400203",
        "300000.00",
        "CZ202307007",
        "市级配套资金",
        True,
    ),
    (
        "2023-07-g",
        "interest",
        date(2023, 7, 21),
        E,
        "4004",
        "1234.56",
        "",
        "支出户第二季度结息",
        True,
    ),
    (
        "2023-07-h",
        "sweep",
        date(2023, 7, 25),
        F,
        E,
        "1234.56",
        "CZ202307006",
        "支出户利息缴存财政专户",
        True,
    ),
    (
        "2023-07-i",
        "income",
        date(2023, 7, 28),
        F,
        "400204",
        "100000.00",
        "CZ202307008",
        "海勃湾区县级配套资金",
        True,
    ),
    (
        "2023-07-j",
        "expense",
        date(2023, 7, 31),
        F,
        "5002",
        "50000.00",
        "CZ202307009",
        "上解自治区调剂金",
        False,
    ),
]

BUDGET_2023 = {
    "400201": "6000000",
    "400202": "2400000",
    "400203": "1800000",
    "400204": "300000",
    "400302": "400000",
    "4004": "5000",
    "500101": "6500000",
    "500102": "1500000",
    "500103": "2000000",
    "5002": "100000",
}


def seed(*, users) -> dict[str, int]:
    maker, checker = users["accountant"], users["supervisor"]
    fund = Fund.objects.get(area_id="150300")
    created = 0
    for key, kind, day, account, counter, amount, reference, memo, approve in ENTRIES:
        key = f"funds.demo:{key}"
        if Transaction.objects.filter(key=key).exists():
            continue
        voucher = entry_propose(
            fund=fund,
            kind=kind,
            booked_on=day,
            account=account,
            counter=counter,
            amount=Decimal(amount),
            memo=memo,
            reference=reference,
            by=maker,
            key=key,
        )
        if approve:
            entry_approve(voucher=voucher, by=checker)
        created += 1
    for subject, amount in BUDGET_2023.items():
        budget_set(fund=fund, year=2023, subject=subject, amount=Decimal(amount), by=maker)
    return {"fund_entries": created}
