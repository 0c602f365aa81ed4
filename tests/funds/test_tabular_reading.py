"""core/tabular.py: the shared reader of exchange files (DOMAIN §9)."""

import codecs
from datetime import date, datetime
from decimal import Decimal

import pytest

from core.tabular import TableError, parse_amount, parse_date, read_table


def test_utf8_bom_and_gb18030_read_the_same(tmp_path):
    text = "日期,摘要\n2023-07-01,利息\n"
    a = tmp_path / "a.csv"
    a.write_bytes(codecs.BOM_UTF8 + text.encode())
    b = tmp_path / "b.csv"
    b.write_bytes(text.encode("gb18030"))
    for path in (a, b):
        headers, rows = read_table(path, path.name)
        assert headers == ["日期", "摘要"]
        assert list(rows) == [(2, {"日期": "2023-07-01", "摘要": "利息"})]


def test_blank_rows_are_skipped_but_keep_their_numbers(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("a,b\n1,2\n,\n3,4\n", encoding="utf-8")
    _headers, rows = read_table(path, "s.csv")
    assert [n for n, _v in rows] == [2, 4]


def test_unknown_format_and_empty_file_are_unusable(tmp_path):
    # §9: decided by the content, whatever the name says.
    path = tmp_path / "s.csv"
    path.write_bytes(b"\x00\x01binary")
    with pytest.raises(TableError):
        read_table(path, "s.csv")
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(TableError):
        read_table(empty, "e.csv")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-07-01", date(2023, 7, 1)),
        ("2023/7/1", date(2023, 7, 1)),
        ("20230701", date(2023, 7, 1)),
        (datetime(2023, 7, 1, 0, 0), date(2023, 7, 1)),
        ("", None),
    ],
)
def test_dates(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["2023-13-01", "07/01/2023", "abc"])
def test_bad_dates_raise(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_amounts():
    assert parse_amount("1,234.5") == Decimal("1234.50")
    assert parse_amount(250) == Decimal("250.00")
    assert parse_amount(12.3) == Decimal("12.30")
    assert parse_amount(" ") is None
    with pytest.raises(ValueError):
        parse_amount("1.234")
    with pytest.raises(ValueError):
        parse_amount("x")
