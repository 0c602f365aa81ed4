"""DOMAIN §9, "values in every exchanged file": the same odd values fed to each exchange — the
roster (§9.1), the settlement extract (§9.2) and the finance statement (§9.3) — get the
decision §9 prescribes, as a row error (never a traceback) or an unusable file (exit 2)."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from beneficiaries.roster import roster_preview
from core import idnumber
from core.models import Region
from funds.reconciliation import statement_parse
from monitoring.settlements import settlement_import
from tests.monitoring.monitoring_helpers import HEADER

pytestmark = pytest.mark.django_db

CERTNO = idnumber.make("150302", date(1970, 1, 1), 11)
ROSTER_HEADER = ["姓名", "公民身份号码", "救助对象类别", "认定日期", "终止日期", "行政区划代码"]
STATEMENT_HEADER = ["日期", "凭证号", "摘要", "收入", "支出"]
# The required §9.2 columns, in the order of the monitoring tests' header.
SETTLEMENT_HEADER = HEADER[: HEADER.index("psn_part_amt") + 1]
EXCEL_CELL = datetime(2023, 7, 1)  # a real date cell of an .xlsx file

# (value, a date of a roster or statement, a date of a settlement extract's date column)
DATES = [
    ("2023-07-01", True, True),
    ("2023/7/1", True, True),
    ("2023/07/01", True, True),
    ("20230701", True, True),
    (EXCEL_CELL, True, True),
    ("2023-07-01 08:30:00", False, True),  # a time part: settlement extracts only
    ("2023-07-01 08:30", False, True),
    ("2023.07.01", False, False),
    ("2023-W26-6", False, False),  # ISO week
    ("23-07-01", False, False),
    ("23/7/1", False, False),
    ("2023-7-1", False, False),
    ("２０２３-０７-０１", False, False),
    ("2023-07-01T08:30:00", False, False),
    ("2023-07-01 8:30", False, False),
]
# (value, accepted as an amount of 1234.50)
AMOUNTS = [
    ("1234.50", True),
    ("1,234.50", True),
    ("1234.5", True),
    ("１２３４.50", False),  # full-width digits
    ("¥1234.50", False),
    ("1234.50元", False),
    ("1 234.50", False),
    ("1234.505", False),
    ("+1234.50", False),
    ("1.2345e3", False),
    ("1,23,4.50", False),
]


def _bytes(header, rows, encoding="utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(header, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _file(tmp_path, header, rows, *, name=None, encoding="utf-8"):
    xlsx = any(isinstance(v, datetime) for row in rows for v in row)
    path = tmp_path / (name or ("f.xlsx" if xlsx else "f.csv"))
    path.write_bytes(_xlsx(header, rows) if xlsx else _bytes(header, rows, encoding))
    return path


# --- The three readers -------------------------------------------------------------------------


def roster_errors(tmp_path, start, *, encoding="utf-8", name=None) -> list[str]:
    path = _file(
        tmp_path,
        ROSTER_HEADER,
        [["王建国", CERTNO, "低保对象", start, "", "150302"]],
        name=name,
        encoding=encoding,
    )
    plan = roster_preview(
        name=path.name,
        data=path.read_bytes(),
        department="civil_affairs",
        region=Region.objects.get(code="150302"),
        as_of=date(2023, 8, 1),
    )
    return [e["field"] for e in plan.errors]


def settlement_row(date_value="2023-07-01", amount="1234.50", setl_time="2023-07-01 10:00:00"):
    # Every amount of AMOUNTS that is accepted is 1234.50: funds pay 600.00, the person 634.50.
    return [
        "S1",
        "测试人",
        CERTNO,
        "390",
        "21",
        date_value,
        date_value,
        setl_time,
        "H15030200001",
        "乌海市人民医院",
        "150302",
        amount,
        "600.00",
        "0",
        "500.00",
        "100.00",
        "0",
        "600.00",
        "634.50",
    ]


def settlement_errors(tmp_path, row, *, encoding="utf-8", name=None) -> list[str]:
    path = _file(tmp_path, SETTLEMENT_HEADER, [row], name=name, encoding=encoding)
    result = settlement_import(path=str(path), dry_run=True)
    assert result.rows == 1
    return [e.field for e in result.errors]


def statement_errors(tmp_path, day="2023-07-01", credit="1234.50", **kwargs) -> list[str]:
    path = _file(tmp_path, STATEMENT_HEADER, [[day, "CZ-1", "补助", credit, ""]], **kwargs)
    parsed = statement_parse(path, path.name, year=2023, month=7)
    return [e["field"] for e in parsed.errors]


# --- Dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "plain", "settlement"), DATES, ids=str)
def test_a_date_is_decided_as_section_9_says_in_every_exchange(tmp_path, value, plain, settlement):
    assert (roster_errors(tmp_path, value) == []) is plain
    assert (statement_errors(tmp_path, day=value) == []) is plain
    errors = settlement_errors(tmp_path, settlement_row(date_value=value))
    assert (errors == []) is settlement, errors
    if not settlement:
        assert errors == ["begndate", "enddate"]


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("2023-07-01 10:00:00", True),
        ("2023-07-01 10:00", True),
        ("2023-07-01", True),
        ("2023/7/1 10:00:00", True),
        ("20230701", True),
        (EXCEL_CELL, True),
        ("2023-07-01T10:00:00", False),
        ("20230701100000", False),
        ("2023-07-01 10:00:00+08:00", False),
        ("2023.07.01 10:00:00", False),
        ("2023-07-01 25:00", False),
    ],
    ids=str,
)
def test_setl_time_is_a_date_with_or_without_a_time_part(tmp_path, value, accepted):
    errors = settlement_errors(tmp_path, settlement_row(setl_time=value))
    assert errors == ([] if accepted else ["setl_time"])


# --- Amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "accepted"), AMOUNTS, ids=str)
def test_an_amount_is_decided_as_section_9_says(tmp_path, value, accepted):
    assert (statement_errors(tmp_path, credit=value) == []) is accepted
    errors = settlement_errors(tmp_path, settlement_row(amount=value))
    assert errors == ([] if accepted else ["medfee_sumamt"])


def test_a_thousands_comma_amount_is_stored_as_its_number(tmp_path):
    path = _file(tmp_path, SETTLEMENT_HEADER, [settlement_row(amount="1,234.50")])
    result = settlement_import(path=str(path))
    assert result.applied and result.imported == 1
    from monitoring.models import Settlement

    assert Settlement.objects.get().medfee_sumamt == Decimal("1234.50")
    parsed = statement_parse(
        _file(tmp_path, STATEMENT_HEADER, [["2023-07-01", "", "", "1,234.50", ""]]),
        "s.csv",
        year=2023,
        month=7,
    )
    assert parsed.lines[0].amount == Decimal("1234.50")


# --- Encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_utf8_with_or_without_bom_and_gb18030_read_alike_in_every_exchange(tmp_path, encoding):
    assert roster_errors(tmp_path, "2023-07-01", encoding=encoding) == []
    assert statement_errors(tmp_path, encoding=encoding) == []
    assert settlement_errors(tmp_path, settlement_row(), encoding=encoding) == []


def test_a_file_is_read_by_its_content_whatever_its_name(tmp_path):
    assert roster_errors(tmp_path, "2023-07-01", name="名单.txt") == []
    assert statement_errors(tmp_path, name="statement.dat") == []
    assert settlement_errors(tmp_path, settlement_row(), name="extract.txt") == []
    # an .xlsx named .csv is read as the workbook it is
    assert roster_errors(tmp_path, EXCEL_CELL, name="名单.csv") == []


def test_identifiers_of_a_settlement_are_stored_normalized(tmp_path):
    from monitoring.models import Settlement

    row = settlement_row()
    row[0] = "Ｓ\u200b1"
    row[2] = " ".join(CERTNO[:9]) + CERTNO[9:]
    path = _file(tmp_path, SETTLEMENT_HEADER, [row])
    assert settlement_import(path=str(path)).applied
    stored = Settlement.objects.get()
    assert (stored.setl_id, stored.certno) == ("S1", CERTNO)


def test_statement_references_are_compared_normalized(tmp_path):
    parsed = statement_parse(
        _file(tmp_path, STATEMENT_HEADER, [["2023-07-01", "ＣＺ-\u200b001 ", "", "1.00", ""]]),
        "s.csv",
        year=2023,
        month=7,
    )
    assert parsed.lines[0].reference == "CZ-001"


# --- Unusable files: exit 2, message on stderr, nothing on stdout --------------------------


def _run(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(*argv, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


def _commands(path):
    return [
        [
            "import_roster",
            str(path),
            "--department",
            "civil_affairs",
            "--region",
            "150302",
            "--as-of",
            "2023-07-01",
        ],
        ["import_settlements", str(path)],
        ["reconcile", str(path), "--area", "150300", "--period", "2023-07"],
    ]


UNUSABLE = {
    "a PDF": b"%PDF-1.4\n\x00\x01\x02binary\n",
    "an old .xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
    "a zip that is no workbook": b"PK\x03\x04" + b"\x00" * 64,
}


@pytest.mark.parametrize("content", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_a_file_that_is_neither_csv_nor_xlsx_exits_2(tmp_path, capsys, content, wuhai):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    for argv in _commands(path):
        code, out, err = _run(argv)
        captured = capsys.readouterr()
        assert (code, out, captured.out) == (2, "", ""), argv
        assert err or captured.err, argv


@pytest.mark.parametrize(
    ("header", "command"),
    [
        ([*ROSTER_HEADER, "姓名"], 0),
        ([*ROSTER_HEADER, "Name"], 0),  # the English header of the same column
        ([*SETTLEMENT_HEADER, "SETL_ID "], 1),
        ([*STATEMENT_HEADER, " 收入"], 2),
        ([*STATEMENT_HEADER, "CREDIT"], 2),
    ],
    ids=["roster", "roster-english", "settlement", "statement", "statement-english"],
)
def test_a_file_with_the_same_column_twice_exits_2(tmp_path, capsys, header, command, wuhai):
    path = tmp_path / "data.csv"
    path.write_bytes(_bytes(header, []))
    code, out, err = _run(_commands(path)[command])
    captured = capsys.readouterr()
    assert (code, out, captured.out) == (2, "", "")
    assert "两次" in err + captured.err


def test_a_roster_with_a_repeated_column_is_an_upload_error_in_the_preview(
    client, caseworker_haibowan
):
    from django.urls import reverse

    from beneficiaries.models import RosterBatch

    client.force_login(caseworker_haibowan)
    upload = io.BytesIO(_bytes([*ROSTER_HEADER, "name"], []))
    upload.name = "名单.csv"
    client.post(
        reverse("beneficiaries:roster_upload"),
        {"file": upload, "department": "civil_affairs", "region": "150302", "as_of": "2023-07-01"},
    )
    batch = RosterBatch.objects.get()
    preview = client.get(reverse("beneficiaries:roster_detail", args=[batch.pk]))
    assert "出现了两次" in preview.content.decode()
    assert not preview.context["can_apply"]


def test_a_binary_roster_upload_is_refused_by_the_form(client, caseworker_haibowan):
    from django.urls import reverse

    client.force_login(caseworker_haibowan)
    upload = io.BytesIO(UNUSABLE["a PDF"])
    upload.name = "名单.csv"
    response = client.post(
        reverse("beneficiaries:roster_upload"),
        {"file": upload, "department": "civil_affairs", "region": "150302", "as_of": "2023-07-01"},
    )
    assert response.status_code == 200
    assert "请上传 .xlsx 或 .csv 文件" in response.content.decode()
