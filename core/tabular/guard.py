"""The guard of every .xlsx reader: zip bombs and huge sheets are refused before openpyxl parses."""

import re
import zipfile
from collections.abc import Iterator

from django.utils.translation import gettext as _

from .errors import TableError

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
