"""core.tabular's guard of every .xlsx reader: zip bombs and over-long sheets are refused
before openpyxl parses them (rosters, settlement extracts, statements), with exit 2."""

import io
import zipfile

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from core.tabular import TableError, check_xlsx, read_table, xlsx_rows

ROSTER_HEADER = ["姓名", "公民身份号码", "救助对象类别", "认定日期", "终止日期", "行政区划代码"]


def xlsx(rows, header=ROSTER_HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite_sheet(data: bytes, change) -> bytes:
    """The workbook with its first sheet's XML passed through `change`."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            content = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(member, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def bomb(data: bytes, padding: int) -> bytes:
    """Whitespace inside <sheetData>: valid XML, unpacks to `padding` bytes more."""
    return rewrite_sheet(
        data, lambda xml: xml.replace(b"</sheetData>", b" " * padding + b"</sheetData>")
    )


def without_dimension(data: bytes) -> bytes:
    import re

    return rewrite_sheet(data, lambda xml: re.sub(rb"<dimension[^>]*/>", b"", xml))


ROWS = [["王建国", "150302197001010011", "低保对象", "2023-01-01", "", "150302"]]


def test_a_normal_workbook_passes(settings):
    data = xlsx(ROWS * 3)
    check_xlsx(io.BytesIO(data))
    assert len(list(xlsx_rows(io.BytesIO(data)))) == 4


def test_a_zip_bomb_is_refused_by_its_declared_size(settings):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 4 * 1024 * 1024
    settings.IMPORT_MAX_COMPRESSION_RATIO = 10_000
    data = bomb(xlsx(ROWS), 5 * 1024 * 1024)
    assert len(data) < 100_000
    with pytest.raises(TableError, match="解压后过大"):
        check_xlsx(io.BytesIO(data))
    with pytest.raises(TableError, match="解压后过大"):
        read_table(io.BytesIO(data), "roster.xlsx")


def test_a_zip_bomb_is_refused_by_its_compression_ratio(settings):
    data = bomb(xlsx(ROWS), 3 * 1024 * 1024)  # 3 MiB of spaces pack ~1000:1
    with pytest.raises(TableError, match="压缩比异常"):
        check_xlsx(io.BytesIO(data))


def test_a_sheet_declaring_too_many_rows_is_refused(settings):
    settings.IMPORT_MAX_ROWS = 5
    with pytest.raises(TableError, match="行数过多"):
        check_xlsx(io.BytesIO(xlsx(ROWS * 6)))
    check_xlsx(io.BytesIO(xlsx(ROWS * 5)))  # header + 5 rows is allowed


def test_rows_are_counted_while_streaming_when_the_dimension_is_missing(settings):
    settings.IMPORT_MAX_ROWS = 5
    data = without_dimension(xlsx(ROWS * 6))
    check_xlsx(io.BytesIO(data))  # nothing declared
    with pytest.raises(TableError, match="行数过多"):
        list(xlsx_rows(io.BytesIO(data)))
    assert len(list(xlsx_rows(io.BytesIO(without_dimension(xlsx(ROWS * 5)))))) == 6


def test_not_a_zip_is_unusable():
    with pytest.raises(TableError, match="无法读取 Excel"):
        check_xlsx(io.BytesIO(b"not a zip"))


def _call(*args):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # CommandError
        code = getattr(exc, "returncode", 1)
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_import_roster_refuses_a_zip_bomb_with_exit_2(tmp_path, settings):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(bomb(xlsx(ROWS), 3 * 1024 * 1024))
    code, out, err = _call(
        "import_roster",
        str(path),
        "--department",
        "civil_affairs",
        "--region",
        "150302",
        "--as-of",
        "2023-07-01",
    )
    assert (code, out) == (2, "")
    assert "压缩炸弹" in err


@pytest.mark.django_db
def test_import_settlements_refuses_an_over_long_sheet_with_exit_2(tmp_path, settings):
    from monitoring.models import Settlement
    from monitoring.settlements.spec import COLUMNS

    settings.IMPORT_MAX_ROWS = 2
    header = [column.field for column in COLUMNS]
    path = tmp_path / "settlements.xlsx"
    path.write_bytes(without_dimension(xlsx([["x"] * len(header)] * 3, header=header)))
    code, out, err = _call("import_settlements", str(path))
    assert (code, out) == (2, "")
    assert "行数过多" in err
    assert not Settlement.objects.exists()


@pytest.mark.django_db
def test_reconcile_refuses_a_zip_bomb_with_exit_2(tmp_path, settings, capsys):
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024
    path = tmp_path / "statement.xlsx"
    path.write_bytes(
        bomb(xlsx([["2023-07-01", "x", "1.00"]], header=["日期", "摘要", "金额"]), 3 << 20)
    )
    code, out, err = _call("reconcile", str(path), "--area", "150300", "--period", "2023-07")
    assert (code, out) == (2, "")
    assert "解压后过大" in err + capsys.readouterr().err


@pytest.mark.django_db
def test_a_roster_csv_past_the_row_limit_is_refused_with_exit_2(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 2
    path = tmp_path / "roster.csv"
    lines = [",".join(ROSTER_HEADER)] + [",".join(ROWS[0])] * 3
    path.write_text("\n".join(lines), encoding="utf-8")
    code, out, err = _call(
        "import_roster",
        str(path),
        "--department",
        "civil_affairs",
        "--region",
        "150302",
        "--as-of",
        "2023-07-01",
    )
    assert (code, out) == (2, "")
    assert "行数过多" in err
