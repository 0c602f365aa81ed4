"""Reading the exchange files of DOMAIN §9: `.xlsx` or `.csv`, header row first.

CSV may be UTF-8 (with or without BOM) or GB18030 (what Excel on a Chinese Windows writes);
the encoding is detected. Row numbers are spreadsheet row numbers (header = row 1); blank
rows are skipped but keep their numbers. Values stay as the file holds them (text from CSV;
text, numbers or dates from xlsx): callers parse with `parse_date` / `parse_amount` and
report each bad field themselves.

    headers, rows = read_table(upload, upload.name)
    for row_number, values in rows:   # values: {header as written: value}
        ...
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.utils.translation import gettext as _

__all__ = [
    "AmountError",
    "TableError",
    "check_xlsx",
    "count_rows",
    "open_xlsx",
    "parse_amount",
    "parse_date",
    "parse_datetime",
    "read_table",
    "sniff_format",
    "xlsx_rows",
]


class TableError(Exception):
    """The file as a whole is unusable (format, encoding, no header)."""


# --- The guard of every .xlsx reader (zip bombs, huge sheets) -------------------------------

# A member smaller than this may compress as well as it likes (a sheet of one repeated value).
_RATIO_FLOOR = 1024 * 1024
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?\"")


def _limits() -> tuple[int, int, int]:
    from django.conf import settings

    return (
        settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
        settings.IMPORT_MAX_ROWS,
        settings.IMPORT_MAX_COMPRESSION_RATIO,
    )


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def check_xlsx(file_or_path) -> None:
    """Refuse an .xlsx file before openpyxl parses it: not a zip, its members' declared
    uncompressed size (in total or of one sheet) or compression ratio past the limits, or a
    first sheet whose declared dimension has more rows than IMPORT_MAX_ROWS. Python's zipfile
    stops a member at its declared size (and fails its CRC), so a lying header gains nothing.
    Raises TableError with the reason; reads only the zip directory and the sheet's head."""
    max_bytes, max_rows, max_ratio = _limits()
    try:
        archive = zipfile.ZipFile(file_or_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TableError(_("无法读取 Excel 文件：%(error)s") % {"error": exc}) from None
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > max_bytes:
            raise TableError(
                _(
                    "Excel 文件解压后过大（%(size)s 字节，上限 %(limit)s 字节），已拒绝。"
                    "请拆分文件或另存为 CSV。"
                )
                % {"size": f"{total:,}", "limit": f"{max_bytes:,}"}
            )
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > _RATIO_FLOOR and ratio > max_ratio:
                raise TableError(
                    _(
                        "Excel 文件的压缩比异常（%(member)s：%(ratio)s 倍，上限 %(limit)s 倍），"
                        "疑似压缩炸弹，已拒绝。"
                    )
                    % {"member": member.filename, "ratio": f"{ratio:.0f}", "limit": max_ratio}
                )
        sheets = sorted(
            (m for m in members if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", m.filename)),
            key=lambda m: int(re.sub(r"\D", "", m.filename)),
        )
        if not sheets:
            return  # openpyxl reports the damaged file
        try:
            with archive.open(sheets[0]) as handle:
                head = handle.read(64 * 1024)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise TableError(_("无法读取 Excel 文件：%(error)s") % {"error": exc}) from None
    match = _DIMENSION.search(head)
    if match:
        last_row = match.group(4) or match.group(2)
        rows = int(last_row) if last_row else 0
        if rows > max_rows + 1:  # + the header row
            raise TableError(
                _("Excel 文件行数过多（%(rows)s 行，上限 %(limit)s 行），已拒绝。请拆分文件。")
                % {"rows": f"{rows - 1:,}", "limit": f"{max_rows:,}"}
            )


def count_rows(rows: Iterator[list]) -> Iterator[list]:
    """`rows` (header first), refused with TableError past IMPORT_MAX_ROWS data rows: for
    readers that hold a whole file in memory (a roster is planned as one), CSV included."""
    max_rows = _limits()[1]
    for number, values in enumerate(rows):
        if number > max_rows:
            raise TableError(
                _("文件行数过多（超过 %(limit)s 行），已拒绝。请拆分文件。")
                % {"limit": f"{max_rows:,}"}
            )
        yield values


def _too_many_rows(max_rows: int) -> TableError:
    return TableError(
        _("Excel 文件行数过多（超过 %(limit)s 行），已拒绝。请拆分文件。")
        % {"limit": f"{max_rows:,}"}
    )


def open_xlsx(file_or_path):
    """The checked (see `check_xlsx`) workbook, opened read-only with cell values."""
    from openpyxl import load_workbook

    check_xlsx(file_or_path)
    if hasattr(file_or_path, "seek"):
        file_or_path.seek(0)
    try:
        return load_workbook(file_or_path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise TableError(_("无法读取 Excel 文件：%(error)s") % {"error": exc}) from None


def xlsx_rows(file_or_path, on_open=None) -> Iterator[list]:
    """The rows (lists of values) of the first sheet of a checked .xlsx file, refused with
    TableError past IMPORT_MAX_ROWS rows (counted as they stream: the dimension may be
    missing or wrong). `on_open(sheet)` is called once the sheet is open."""
    max_rows = _limits()[1]
    workbook = open_xlsx(file_or_path)
    try:
        sheet = workbook.worksheets[0]
        if on_open is not None:
            on_open(sheet)
        for number, values in enumerate(sheet.iter_rows(values_only=True)):
            if number > max_rows:  # the header row and max_rows rows are allowed
                raise _too_many_rows(max_rows)
            yield list(values)
    finally:
        workbook.close()


def _read_bytes(file_or_path) -> bytes:
    if isinstance(file_or_path, str | Path):
        return Path(file_or_path).read_bytes()
    if hasattr(file_or_path, "seek"):
        file_or_path.seek(0)
    data = file_or_path.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise TableError(_("文件编码无法识别（应为 UTF-8 或 GB18030）")) from None


def _csv_rows(data: bytes) -> Iterator[list]:
    yield from csv.reader(io.StringIO(_decode(data), newline=""))


def _xlsx_rows(data: bytes) -> Iterator[list]:
    return xlsx_rows(io.BytesIO(data))


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: the old .xls, .doc …
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def sniff_format(file_or_data) -> str:
    """ "xlsx" or "csv", decided by the content whatever the file is called (DOMAIN §9: only
    .xlsx and .csv are read). `file_or_data` is the file's bytes or a path. Raises TableError
    for anything else (an .xls, a .docx or other zip, a binary file)."""
    import zipfile

    if isinstance(file_or_data, bytes | bytearray):
        head = bytes(file_or_data[:65536])
        opener = lambda: io.BytesIO(file_or_data)  # noqa: E731
    else:
        with open(file_or_data, "rb") as handle:
            head = handle.read(65536)
        opener = lambda: file_or_data  # noqa: E731
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(opener()) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            names = set()
        if "xl/workbook.xml" in names:
            return "xlsx"
        raise TableError(_("文件不是 .xlsx 或 .csv 格式"))
    if head.startswith(_XLS_MAGIC):
        raise TableError(_("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 .csv"))
    if _CONTROL.search(head):
        raise TableError(_("文件不是 .xlsx 或 .csv 格式"))
    return "csv"


def header_key(cell) -> str:
    """A header cell as compared (DOMAIN §9): trimmed, without BOM, NFKC, case-folded."""
    import unicodedata

    text = "" if cell is None else unicodedata.normalize("NFKC", str(cell))
    return text.strip().lstrip("\ufeff").strip().lower()


def repeated_header(cells) -> str | None:
    """The first header that occurs twice after normalization (`header_key`), else None."""
    seen = set()
    for cell in cells:
        key = header_key(cell)
        if key and key in seen:
            return "" if cell is None else str(cell).strip().lstrip("\ufeff").strip()
        seen.add(key)
    return None


def read_table(file_or_path, filename: str) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """The header (stripped text) and an iterator of (row number, {header: value}). The format
    is decided by the content (`sniff_format`), not by `filename`."""
    data = _read_bytes(file_or_path)
    if sniff_format(data) == "xlsx":
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    try:
        header_row = next(rows)
    except StopIteration:
        raise TableError(_("文件为空，缺少表头行")) from None
    except csv.Error as exc:
        raise TableError(_("CSV 格式错误：%(error)s") % {"error": exc}) from None
    headers = ["" if h is None else str(h).strip().lstrip("\ufeff").strip() for h in header_row]
    if not any(headers):
        raise TableError(_("第1行应为表头"))
    twice = repeated_header(header_row)
    if twice is not None:
        raise TableError(_("列“%(column)s”在表头中出现了两次") % {"column": twice})

    def generate():
        for number, values in enumerate(rows, start=2):
            if all(_blank(v) for v in values):
                continue
            yield (
                number,
                {h: (values[i] if i < len(values) else None) for i, h in enumerate(headers) if h},
            )

    return headers, generate()


# Exactly YYYY-MM-DD in ASCII digits: `date.fromisoformat` alone also takes 20230701 and ISO
# week dates such as 2023-W10-1.
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# DOMAIN §9, the dates of every exchanged file: YYYY-MM-DD, YYYY/M/D, YYYYMMDD (ASCII digits);
# nothing else (no 2023.07.01, no 2025-W10-3, no two-digit years).
_DATE_FORMS = [
    re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})", re.ASCII),
    re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII),
]
# The time part a settlement extract may put after a date: " HH:MM" or " HH:MM:SS".
_TIME_PART = re.compile(r"(.+?) ([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?", re.ASCII)


def parse_iso_date(text: str) -> date:
    """A date written exactly `YYYY-MM-DD` (the command contracts of DOMAIN §9); raises
    ValueError for anything else."""
    if not ISO_DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def _cell_text(value) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # an xlsx number cell typed as 20230701
        if float(value).is_integer():
            return str(int(value))
    return str(value).strip()


def _date_text(text: str) -> date:
    for pattern in _DATE_FORMS:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return date(year, month, day)  # ValueError for 2023-02-30, year 0 …
    raise ValueError(text)


def parse_datetime(value) -> datetime | None:
    """A date of DOMAIN §9 with an optional time part (` HH:MM` or ` HH:MM:SS`), or a date cell
    of an .xlsx; naive (the caller knows the zone); None when blank. Raises ValueError for
    anything else."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = _cell_text(value)
    match = _TIME_PART.fullmatch(text)
    if match:
        day = _date_text(match.group(1))
        hour, minute, second = (int(part or 0) for part in match.groups()[1:])
        return datetime(day.year, day.month, day.day, hour, minute, second)
    day = _date_text(text)
    return datetime(day.year, day.month, day.day)


def parse_date(value, *, time_part: bool = False) -> date | None:
    """A date of DOMAIN §9 — `YYYY-MM-DD`, `YYYY/M/D`, `YYYYMMDD` or a date cell of an .xlsx —
    None when blank. `time_part`: a time after the date (` HH:MM[:SS]`, settlement extracts)
    is accepted and dropped. Raises ValueError for anything else."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    if ISO_DATE.fullmatch(text):  # the common case, fast
        return date.fromisoformat(text)
    if time_part:
        return parse_datetime(text).date()
    return _date_text(text)


# DOMAIN §9, amounts: a plain decimal, an optional leading minus, optional thousands commas,
# ASCII digits only (full-width digits, currency signs and inner spaces are refused).
_AMOUNT_TEXT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?", re.ASCII)


class AmountError(ValueError):
    """An amount that is not one; `code` is "format" or "decimals"."""

    def __init__(self, value, code: str):
        super().__init__(value)
        self.code = code


def parse_amount_exact(value) -> Decimal | None:
    """The amount as written (not quantized), None when blank; raises AmountError."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise AmountError(value, "format")
    if isinstance(value, int | float | Decimal):  # an xlsx number cell
        amount = Decimal(repr(value) if isinstance(value, float) else str(value))
        if not amount.is_finite():
            raise AmountError(value, "format")
        if amount != amount.quantize(Decimal("0.01")):
            raise AmountError(value, "decimals")
        return amount
    text = str(value).strip()
    match = _AMOUNT_TEXT.fullmatch(text)
    if match is None:
        raise AmountError(text, "format")
    if match.group(1) is not None and len(match.group(1)) > 2:
        raise AmountError(text, "decimals")
    return Decimal(text.replace(",", ""))


def parse_amount(value) -> Decimal | None:
    """Yuan with at most two decimals (DOMAIN §9: thousands commas allowed, nothing else but
    digits, a point and a leading minus); None when blank. Raises ValueError (AmountError)
    for anything else."""
    amount = parse_amount_exact(value)
    return None if amount is None else amount.quantize(Decimal("0.01"))
