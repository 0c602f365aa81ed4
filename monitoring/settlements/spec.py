"""The settlement extract of DOMAIN §9.2 as data: its columns (a `core.tabular` column spec),
the staging layout, and the row rules on amounts as one table that yields both the Python
check of a row (`RowChecker`) and the SQL of the set-based paths (the streaming path's
recheck and the COPY path's plain-form query), so a §9.2 rule changes in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.tabular import Column
from monitoring.models import StageStatus

# The table the import writes (one name for the merge, the checks and the COPY path).
TARGET = "monitoring_settlement"
# The session-local staging table (a view of that name over the raw table on the COPY path).
STAGE = "monitoring_settlement_stage"
CHUNK = 20_000
MAX_ERRORS = 10_000  # a file with more bad rows reports the first 10,000

# The platform's field codes; the aliases are the 5203 extract's names (§9.2).
COLUMNS: list[Column] = [
    Column("setl_id", ("setl_id",)),
    Column("psn_name", ("psn_name",)),
    Column("certno", ("certno",)),
    Column("insutype", ("insutype",)),
    Column("med_type", ("med_type",)),
    Column("begndate", ("begndate",)),
    Column("enddate", ("enddate",)),
    Column("setl_time", ("setl_time",)),
    Column("fixmedins_code", ("fixmedins_code",)),
    Column("fixmedins_name", ("fixmedins_name",)),
    Column("insu_admdvs", ("insu_admdvs", "insu_optins")),  # 5203: 参保机构医保区划
    Column("medfee_sumamt", ("medfee_sumamt",)),
    Column("inscp_scp_amt", ("inscp_scp_amt", "inscp_amt")),
    Column("fulamt_ownpay_amt", ("fulamt_ownpay_amt",)),
    Column("hifp_pay", ("hifp_pay",)),
    Column("hifmi_pay", ("hifmi_pay",)),
    Column("maf_pay", ("maf_pay",)),
    Column("fund_pay_sumamt", ("fund_pay_sumamt",)),
    Column("psn_part_amt", ("psn_part_amt", "psn_pay")),
    # Not `ownpay_hosp_part` (自费中医院负担部分): another quantity, ignored like any column.
    Column("hosp_part_amt", ("hosp_part_amt",), required=False),
    Column("refd_setl_flag", ("refd_setl_flag",), required=False),
    Column("init_setl_id", ("init_setl_id",), required=False),
    Column("vali_flag", ("vali_flag",), required=False),
    Column("psn_cert_type", ("psn_cert_type",), required=False),
]
FIELD_ORDER = {column.field: i for i, column in enumerate(COLUMNS)}
AMOUNTS = [
    "medfee_sumamt",
    "inscp_scp_amt",
    "fulamt_ownpay_amt",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "hosp_part_amt",
]
HOSP = "hosp_part_amt"  # optional: empty or absent is 0
INSUTYPES = frozenset({"310", "390", "320", "330", "340", "392", "510"})
RESIDENT_ID_CERT_TYPE = "01"
# The widths of the free-text columns (the staging table's and the model's).
TEXT_LIMITS = {
    "setl_id": 40,
    "psn_name": 50,
    "med_type": 10,
    "fixmedins_code": 30,
    "fixmedins_name": 200,
    "init_setl_id": 40,
}
AMOUNT_LIMIT = Decimal("1000000000000")  # numeric(14, 2)

# Staging and target columns, in this order (rowno and status are staging-only).
STAGE_COLUMNS = [
    "setl_id",
    "psn_name",
    "certno",
    "psn_cert_type",
    "insutype",
    "med_type",
    "visit_type",
    "begndate",
    "enddate",
    "year",
    "setl_time",
    "fixmedins_code",
    "fixmedins_name",
    "insu_admdvs",
    *AMOUNTS,
    "refd_setl_flag",
    "init_setl_id",
]
ALL_STAGE = ["rowno", "status", *STAGE_COLUMNS]
INVALID_STAGE = ["rowno", "status", "setl_id", "init_setl_id", "refd_setl_flag"]
COPY_TABS = len(ALL_STAGE) - 1  # separators of a well-formed COPY text line
# Compared to tell an identical re-import (skipped) from a conflicting one (row error).
COMPARED = [c for c in STAGE_COLUMNS if c not in ("setl_id", "visit_type", "year")]

__all__ = ["StageStatus"]  # re-exported: the statuses of the staging table

# --- The amount rules of §9.2 --------------------------------------------------------------


@dataclass(frozen=True)
class AmountRule:
    """`left op right` over the amounts of a row (a reversal's, all ≤ 0, over their absolute
    values); each side a sum of terms, a term `-name` subtracted. Broken, it is a row error on
    `field` with `message`. In SQL the rules are written over absolute values with the sign
    rule beside them: together they hold exactly when the Python checks pass."""

    field: str
    message: object  # lazy: worded in the language of the import
    left: tuple[str, ...]
    op: str  # "<=" or "="
    right: tuple[str, ...]

    def holds(self, amounts: dict[str, Decimal]) -> bool:
        left, right = _total(self.left, amounts), _total(self.right, amounts)
        return left <= right if self.op == "<=" else left == right

    def sql(self, term: Callable[[str], str], *, exact: bool = True) -> str:
        """The rule as a SQL condition (true when it holds); `term(name)` is the SQL of an
        absolute amount. `exact=False` (SQLite, whose numbers are floats): `=` to 0.001."""
        left, right = _sum_sql(self.left, term), _sum_sql(self.right, term)
        if self.op == "=" and not exact:
            return f"abs(({left}) - ({right})) < 0.001"
        return f"{left} {self.op} {right}"


def _total(terms: tuple[str, ...], amounts: dict[str, Decimal]) -> Decimal:
    return sum((-amounts[t[1:]] if t.startswith("-") else amounts[t] for t in terms), Decimal(0))


def _sum_sql(terms: tuple[str, ...], term: Callable[[str], str]) -> str:
    sql = ""
    for t in terms:
        name, sign = (t[1:], " - ") if t.startswith("-") else (t, " + ")
        sql = term(name) if not sql else f"{sql}{sign}{term(name)}"
    return sql


AMOUNT_RULES = [
    AmountRule(
        "inscp_scp_amt",
        gettext_lazy("符合政策范围金额大于医疗费总额"),
        ("inscp_scp_amt",),
        "<=",
        ("medfee_sumamt",),
    ),
    AmountRule(
        "hifp_pay",
        gettext_lazy("统筹基金与大病保险支出之和大于符合政策范围金额"),
        ("hifp_pay", "hifmi_pay"),
        "<=",
        ("inscp_scp_amt",),
    ),
    AmountRule(
        "psn_part_amt",
        gettext_lazy("个人负担总金额应等于医疗费总额减基金支付总额减医院负担金额"),
        ("psn_part_amt",),
        "=",
        ("medfee_sumamt", "-fund_pay_sumamt", "-hosp_part_amt"),
    ),
]


def sign_errors(amounts: dict[str, Decimal], reversal: bool) -> list[tuple[str, str]]:
    """The sign rule of §9.2 in Python: every amount ≥ 0, or ≤ 0 on a reversal."""
    if reversal:
        return [(n, _("退费结算的金额应小于或等于0")) for n in AMOUNTS if amounts[n] > 0]
    return [(n, _("金额不能为负数")) for n in AMOUNTS if amounts[n] < 0]


def sign_rule_sql(term: Callable[[str], str], reversal: str, *, pg: bool) -> str:
    """The sign rule in SQL (true when it holds); `term(name)` is the SQL of a signed amount,
    `reversal` the SQL of the reversal flag."""
    greatest, least = ("GREATEST", "LEAST") if pg else ("MAX", "MIN")
    listed = ", ".join(term(n) for n in AMOUNTS)
    return f"(CASE WHEN {reversal} THEN {greatest}({listed}) <= 0 ELSE {least}({listed}) >= 0 END)"


def amount_rules_sql(
    term: Callable[[str], str], reversal: str, *, pg: bool, absolute=None
) -> list[str]:
    """Every amount rule of §9.2 as SQL conditions (each true when it holds): the sign rule
    over `term`, then the table over absolute values (`absolute(name)`, default abs(term))."""
    absolute = absolute or (lambda name: f"abs({term(name)})")
    rules = [rule.sql(absolute, exact=pg) for rule in AMOUNT_RULES]
    return [sign_rule_sql(term, reversal, pg=pg), *rules]
