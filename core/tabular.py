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
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils.translation import gettext as _

__all__ = [
    "TableError",
    "check_xlsx",
    "count_rows",
    "open_xlsx",
    "parse_amount",
    "parse_date",
    "read_table",
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
            raise TableError("文件编码无法识别（应为 UTF-8 或 GB18030）") from None


def _csv_rows(data: bytes) -> Iterator[list]:
    yield from csv.reader(io.StringIO(_decode(data), newline=""))


def _xlsx_rows(data: bytes) -> Iterator[list]:
    return xlsx_rows(io.BytesIO(data))


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_table(file_or_path, filename: str) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """The header (stripped text) and an iterator of (row number, {header: value})."""
    suffix = Path(filename or "").suffix.lower()
    data = _read_bytes(file_or_path)
    if suffix == ".xlsx":
        rows = _xlsx_rows(data)
    elif suffix == ".csv":
        rows = _csv_rows(data)
    else:
        raise TableError("文件格式应为 .xlsx 或 .csv")
    try:
        header_row = next(rows)
    except StopIteration:
        raise TableError("文件为空，缺少表头行") from None
    except csv.Error as exc:
        raise TableError(f"CSV 格式错误：{exc}") from None
    headers = ["" if h is None else str(h).strip() for h in header_row]
    if not any(headers):
        raise TableError("第1行应为表头")

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
_DATE_FORMATS = [
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$"), "%Y/%m/%d"),
    (re.compile(r"^\d{8}$"), "%Y%m%d"),
]


def parse_iso_date(text: str) -> date:
    """A date written exactly `YYYY-MM-DD` (the command contracts of DOMAIN §9); raises
    ValueError for anything else."""
    if not ISO_DATE.fullmatch(text):
        raise ValueError(text)
    return date.fromisoformat(text)


def parse_date(value) -> date | None:
    """A date cell (xlsx) or `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`; None when blank.
    Raises ValueError for anything else."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if ISO_DATE.fullmatch(text):  # the common case, fast
        return date.fromisoformat(text)
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(int(value)) if float(value).is_integer() else text
    # a trailing midnight time, as some spreadsheets export dates
    text = re.sub(r"[ T]00:00(:00)?$", "", text)
    for pattern, fmt in _DATE_FORMATS:
        if pattern.match(text):
            return datetime.strptime(text, fmt).date()
    raise ValueError(text)


def parse_amount(value) -> Decimal | None:
    """Yuan with at most two decimals (thousands separators allowed); None when blank.
    Raises ValueError for anything else."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace(",", "").replace("，", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if (
        not amount.is_finite()
        or amount.as_tuple().exponent < -2
        and amount != amount.quantize(Decimal("0.01"))
    ):
        raise ValueError(text)
    return amount.quantize(Decimal("0.01"))
