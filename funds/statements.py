"""Reading a finance department statement (财政专户对账单, DOMAIN §9.3): its columns and the rules
of each line. The matching and the writes are `funds.reconciliation`'s."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from core.dates import month_end
from core.identifiers import normalize_identifier
from core.tabular import Column, TableError, cell_text, open_table, parse_amount, parse_date
from funds.models import StatementLine

# The columns of §9.3 (a `core.tabular` column spec): Chinese header, English header. One of
# 收入 and 支出 is required besides the date.
COLUMNS = [
    Column("date", ("日期", "date")),
    Column("reference", ("凭证号", "reference"), required=False),
    Column("memo", ("摘要", "memo"), required=False),
    Column("credit", ("收入", "credit"), required=False),
    Column("debit", ("支出", "debit"), required=False),
]


class StatementError(Exception):
    """The file or the arguments are unusable (exit status 2 of the command)."""


@dataclass
class ParsedLine:
    row: int
    date: date
    reference: str
    memo: str
    direction: str
    amount: Decimal

    @property
    def signed(self) -> Decimal:
        return self.amount if self.direction == StatementLine.Direction.CREDIT else -self.amount


@dataclass
class ParsedStatement:
    rows: int = 0
    lines: list[ParsedLine] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def statement_parse(file_or_path, filename: str, *, year: int, month: int) -> ParsedStatement:
    """Read a statement through the one reader (`core.tabular`, column spec `COLUMNS`); each
    bad field is a row error. Raises StatementError when the file is unusable. The format is
    decided by the content, not by `filename`."""
    try:
        table = open_table(file_or_path, COLUMNS)
    except TableError as exc:
        raise StatementError(str(exc)) from exc
    columns = table.columns
    if "credit" not in columns and "debit" not in columns:
        raise StatementError(_("缺少必需的列：%(columns)s") % {"columns": "收入/支出"})
    first, last = date(year, month, 1), month_end(year, month)
    result = ParsedStatement()
    try:
        for number, values in table.rows():
            result.rows += 1
            _parse_row(number, values, columns, first, last, result)
    except TableError as exc:
        raise StatementError(str(exc)) from exc
    return result


def _parse_row(number, values, columns, first, last, result: ParsedStatement) -> None:
    def bad(name, message):
        result.errors.append({"row": number, "field": columns.header(name), "message": message})

    errors_before = len(result.errors)
    day = None
    try:
        day = parse_date(columns.cell(values, "date"))
        if day is None:
            bad("date", _("缺少日期"))
        elif not first <= day <= last:
            bad("date", _("日期不在对账期间内"))
    except ValueError:
        bad("date", _("日期格式错误，应为 YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD 或 Excel 日期"))
    amounts = {}
    for name in ("credit", "debit"):
        if name not in columns:
            continue
        try:
            value = parse_amount(columns.cell(values, name))
        except ValueError:
            bad(name, _("金额格式错误（元，最多两位小数）"))
            continue
        if value is not None and value != 0:
            if value < 0:
                bad(name, _("金额应大于零"))
                continue
            amounts[name] = value
    present = [n for n in ("credit", "debit") if n in columns]
    if len(result.errors) == errors_before and len(amounts) != 1:
        bad(present[0], _("收入和支出应填且只填一项"))
    if len(result.errors) > errors_before:
        return
    direction, amount = next(iter(amounts.items()))
    result.lines.append(
        ParsedLine(
            row=number,
            date=day,
            # §9: references are compared normalized (NFKC, no whitespace or zero-width).
            reference=normalize_identifier(cell_text(columns.cell(values, "reference")))[:40],
            memo=cell_text(columns.cell(values, "memo"))[:200],
            direction=direction,
            amount=amount,
        )
    )
