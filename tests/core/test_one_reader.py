"""Issue #14: one reader for every exchanged file. The *same* odd file — one table holding the
columns of all three exchanges, each row writing one date form in every date column — is fed
to the roster (§9.1), the settlement extract (§9.2) and the statement (§9.3), as UTF-8 with a
BOM, as GB18030 and as an .xlsx with a real date cell. Each exchange ignores the others'
columns, and each accepts or rejects a row's date exactly where DOMAIN §9 says: the same for
all three, except the time part, which only a settlement extract's date columns accept."""

import codecs
import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from beneficiaries.roster import read_roster, roster_preview
from core import idnumber, tabular
from core.models import Region
from funds.statements import statement_parse
from monitoring.settlements import settlement_import

pytestmark = pytest.mark.django_db

# (date as written, accepted by every exchange, accepted by a settlement extract)
FORMS = [
    ("2023-07-01", True, True),
    ("2023/7/1", True, True),
    ("20230701", True, True),
    ("2023-07-01 08:30:00", False, True),  # a time part: settlement date columns only
    ("2023.07.01", False, False),
    ("2023-W27", False, False),  # ISO week
    ("2023-W26-6", False, False),  # ISO week date (2023-07-01)
]
EXCEL_CELL = (datetime(2023, 7, 1), True, True)  # a real date cell: .xlsx only

ROSTER = ["姓名", "公民身份号码", "救助对象类别", "认定日期", "终止日期", "行政区划代码"]
STATEMENT = ["日期", "凭证号", "摘要", "收入", "支出"]
SETTLEMENT = [
    "setl_id", "psn_name", "certno", "insutype", "med_type", "begndate", "enddate",
    "setl_time", "fixmedins_code", "fixmedins_name", "insu_admdvs", "medfee_sumamt",
    "inscp_scp_amt", "fulamt_ownpay_amt", "hifp_pay", "hifmi_pay", "maf_pay",
    "fund_pay_sumamt", "psn_part_amt",
]  # fmt: skip
HEADER = ROSTER + STATEMENT + SETTLEMENT


def _row(n: int, day) -> list:
    person = idnumber.make("150302", date(1970, 1, n), 11)
    roster = ["王建国", person, "低保对象", day, "", "150302"]
    statement = [day, f"CZ-{n}", "补助", "1234.50", ""]
    settlement = [
        f"S{n}", "王建国", person, "390", "21", day, day, day, "H15030200001", "乌海市人民医院",
        "150302", "1234.50", "600.00", "0", "500.00", "100.00", "0", "600.00", "634.50",
    ]  # fmt: skip
    return roster + statement + settlement


def _forms(kind: str) -> list:
    return FORMS + [EXCEL_CELL] if kind == "xlsx" else FORMS


def odd_file(tmp_path, kind: str):
    rows = [_row(n, day) for n, (day, _all, _settlement) in enumerate(_forms(kind), start=1)]
    if kind == "xlsx":
        book = Workbook()
        for row in [HEADER, *rows]:
            book.active.append(row)
        path = tmp_path / "odd.xlsx"
        book.save(path)
        return path
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    data = out.getvalue()
    raw = codecs.BOM_UTF8 + data.encode() if kind == "bom" else data.encode("gb18030")
    path = tmp_path / "odd.csv"
    path.write_bytes(raw)
    return path


def rejected_rows(errors, fields) -> set[int]:
    return {e["row"] for e in errors if e["field"] in fields}


KINDS = ["bom", "gb18030", "xlsx"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_same_odd_file_gets_the_same_date_decisions_in_every_exchange(tmp_path, kind):
    path = odd_file(tmp_path, kind)
    forms = _forms(kind)
    expected_plain = {n for n, (_d, ok, _s) in enumerate(forms, start=2) if not ok}
    expected_settlement = {n for n, (_d, _ok, ok) in enumerate(forms, start=2) if not ok}

    plan = roster_preview(
        name=path.name,
        data=path.read_bytes(),
        department="civil_affairs",
        region=Region.objects.get(code="150302"),
        as_of=date(2023, 8, 1),
    )
    roster = rejected_rows(plan.errors, {"认定日期"})
    assert {e["field"] for e in plan.errors} <= {"认定日期"}, plan.errors

    parsed = statement_parse(path, path.name, year=2023, month=7)
    statement = rejected_rows(parsed.errors, {"日期"})
    assert {e["field"] for e in parsed.errors} <= {"日期"}, parsed.errors

    result = settlement_import(path=str(path), dry_run=True)
    errors = [e.as_dict() for e in result.errors]
    settlement = rejected_rows(errors, {"begndate", "enddate", "setl_time"})
    assert {e["field"] for e in errors} <= {"begndate", "enddate", "setl_time"}, errors

    assert roster == statement == expected_plain
    assert settlement == expected_settlement
    assert (plan.rows, parsed.rows, result.rows) == (len(forms),) * 3
    # What §9 accepts in both readers, both accept: the only difference is the time part.
    with_time = {n for n, (d, _o, _s) in enumerate(forms, 2) if isinstance(d, str) and " " in d}
    assert roster - settlement == with_time and settlement <= roster


@pytest.mark.parametrize("kind", KINDS)
def test_the_reader_gives_every_exchange_the_same_rows_and_numbers(tmp_path, kind):
    path = odd_file(tmp_path, kind)
    table = tabular.open_table(str(path))
    numbers = [n for n, _v in table.rows()]
    assert numbers == list(range(2, len(_forms(kind)) + 2))
    assert table.header[0] == "姓名"  # the BOM is not part of the first header
    roster = read_roster(path.name, path.read_bytes())
    assert [n for n, _c in roster.rows] == numbers
    assert roster.headers["start"] == "认定日期"


def test_a_column_twice_is_unusable_for_every_exchange(tmp_path):
    """§9: the same column twice after header normalization (a setl_id written twice) is exit 2
    in every reader; rosters and statements also refuse a header beside its other accepted
    name (姓名 and name). A settlement field beside its alias is read from the first written
    (tests/monitoring/test_settlement_aliases.py)."""
    from beneficiaries.roster import RosterFileError
    from funds.statements import StatementError
    from monitoring.settlements import ImportFileError

    def twice(extra: str):
        path = tmp_path / f"twice-{extra}.csv"
        path.write_text(",".join([*HEADER, extra]) + "\n", encoding="utf-8")
        return path

    path = twice("name")  # 姓名 and its English name
    with pytest.raises(RosterFileError, match="姓名"):
        read_roster(path.name, path.read_bytes())
    path = twice("Date")  # 日期 and its English name
    with pytest.raises(StatementError, match="日期"):
        statement_parse(path, path.name, year=2023, month=7)
    with pytest.raises(ImportFileError, match="出现了两次"):  # one header twice
        settlement_import(path=str(twice("SETL_ID")), dry_run=True)


# --- The column spec -----------------------------------------------------------------------

SPEC = [
    tabular.Column("name", ("姓名", "name")),
    tabular.Column("code", ("代码", "code", "alias_code")),
    tabular.Column("note", ("备注", "note"), required=False),
]


def test_a_column_map_finds_fields_by_any_accepted_header_as_normalized():
    columns = tabular.map_columns(["\ufeff ＮＡＭＥ ", "other", "Alias_Code"], SPEC)
    assert columns.index == {"name": 0, "code": 2}
    assert columns.header("code") == "Alias_Code"  # row errors name the header as written
    assert columns.cell(["王", "x"], "code") == ""  # a short row, or a column the file lacks
    assert "note" not in columns


def test_a_column_map_refuses_a_missing_or_repeated_column():
    with pytest.raises(tabular.MissingColumns) as missing:
        tabular.map_columns(["备注"], SPEC)
    assert str(missing.value) == "缺少必需的列：姓名、代码"
    with pytest.raises(tabular.RepeatedColumn, match="代码"):
        tabular.map_columns(["姓名", "代码", "code"], SPEC)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_a_csv_on_disk_is_streamed_in_its_detected_encoding(tmp_path, encoding):
    path = tmp_path / "s.csv"
    path.write_bytes("姓名,代码\n王建国,1\n\n李四,2\n".encode(encoding))
    table = tabular.open_table(str(path), SPEC)
    assert table.encoding == ("gb18030" if encoding == "gb18030" else "utf-8-sig")
    assert list(table.rows()) == [(2, ["王建国", "1"]), (4, ["李四", "2"])]
    assert table.position == table.total == path.stat().st_size


def test_bytes_that_are_neither_encoding_are_unusable(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes("姓名,代码\n".encode() + b"\xff\xfe\xfa\xfb\n")
    with pytest.raises(tabular.TableError, match="编码"):
        tabular.open_table(str(path), SPEC)
