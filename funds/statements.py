"""Reading a finance department statement (财政专户对账单, DOMAIN §9.3): its columns and the rules
of each line. The matching and the writes are `funds.reconciliation`'s."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from core.identifiers import normalize_identifier
from core.tabular import TableError, parse_amount, parse_date, read_table
from funds.models import StatementLine
from funds.selectors import month_end

# canonical name → accepted headers (Chinese first; English compared case-insensitively)
COLUMNS = {
    "date": ("日期", "date"),
    "reference": ("凭证号", "reference"),
    "memo": ("摘要", "memo"),
    "credit": ("收入", "credit"),
    "debit": ("支出", "debit"),
}


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


def _map_headers(headers: list[str]) -> dict[str, str]:
    found = {}
    for header in headers:
        for name, accepted in COLUMNS.items():
            if header == accepted[0] or header.lower() == accepted[1]:
                if name in found:  # 收入 and credit: one column twice (§9)
                    raise StatementError(
                        _("表头中“%(column)s”列出现了两次。") % {"column": accepted[0]}
                    )
                found[name] = header
    return found


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def statement_parse(file_or_path, filename: str, *, year: int, month: int) -> ParsedStatement:
    """Read a statement; each bad field is a row error. Raises StatementError when unusable."""
    try:
        headers, rows = read_table(file_or_path, filename)
    except TableError as exc:
        raise StatementError(str(exc)) from exc
    columns = _map_headers(headers)
    missing = [COLUMNS[n][0] for n in ("date",) if n not in columns]
    if "credit" not in columns and "debit" not in columns:
        missing.append("收入/支出")
    if missing:
        raise StatementError(_("缺少必需的列：%(cols)s") % {"cols": "、".join(missing)})
    first, last = date(year, month, 1), month_end(year, month)
    result = ParsedStatement()
    try:
        for number, values in rows:
            result.rows += 1
            _parse_row(number, values, columns, first, last, result)
    except TableError as exc:
        raise StatementError(str(exc)) from exc
    return result


def _parse_row(number, values, columns, first, last, result: ParsedStatement) -> None:
    def bad(name, message):
        result.errors.append({"row": number, "field": columns[name], "message": message})

    errors_before = len(result.errors)
    day = None
    try:
        day = parse_date(values.get(columns["date"]))
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
            value = parse_amount(values.get(columns[name]))
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
            reference=normalize_identifier(_text(values.get(columns.get("reference", ""), "")))[
                :40
            ],
            memo=_text(values.get(columns.get("memo", ""), ""))[:200],
            direction=direction,
            amount=amount,
        )
    )
