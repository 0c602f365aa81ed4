"""Reading the exchange files of DOMAIN §9: `.xlsx` or `.csv`, header row first.

One reader for every exchange (rosters §9.1, settlements §9.2, statements §9.3): the format
is decided by the content; CSV may be UTF-8 (with or without BOM) or GB18030 (what Excel on
a Chinese Windows writes), detected; `.xlsx` is read read-only behind `check_xlsx`. Row
numbers are spreadsheet row numbers (header = row 1); blank rows are skipped but keep their
numbers. The header is mapped by a *column spec* (`Column`: field, accepted headers, required);
a column twice is unusable. Values stay as the file holds them (text from CSV; text, numbers or
dates from xlsx): each exchange parses them with `parse_date` / `parse_datetime` /
`parse_amount` (the one strict form of §9) and words each bad field itself.

    table = open_table(path_or_upload, SPEC)        # TableError when unusable
    for row_number, values in table.rows():         # values: the cells, in file order
        name = table.columns.cell(values, "name")
"""

import codecs
import csv
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from .errors import TableError
from .guard import count_rows, xlsx_rows
from .values import blank

_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2: the old .xls, .doc …
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_SNIFF_BYTES = 65536
_DETECT_CHUNK = 1 << 20


def sniff_format(file_or_data) -> str:
    """ "xlsx" or "csv", decided by the content whatever the file is called (DOMAIN §9: only
    .xlsx and .csv are read). `file_or_data` is the file's bytes or a path. Raises TableError
    for anything else (an .xls, a .docx or other zip, a binary file)."""
    if isinstance(file_or_data, bytes | bytearray):
        head = bytes(file_or_data[:_SNIFF_BYTES])
        opener = lambda: io.BytesIO(file_or_data)  # noqa: E731
    else:
        with open(file_or_data, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
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


def _unknown_encoding() -> TableError:
    return TableError(_("文件编码无法识别（应为 UTF-8 或 GB18030）"))


def _not_a_table() -> TableError:
    return TableError(_("文件不是 .xlsx 或 .csv 格式"))


def _decodes(chunks, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in chunks:
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path) -> str:
    """The encoding of a CSV file on disk — "utf-8-sig" (with or without BOM) or "gb18030" —
    found by one decoding pass (C speed; the file is streamed, not held). Raises TableError for
    bytes that are neither, or a NUL byte (not a text file)."""

    def chunks():
        with open(path, "rb") as handle:
            while chunk := handle.read(_DETECT_CHUNK):
                if b"\x00" in chunk:
                    raise _not_a_table()
                yield chunk

    with open(path, "rb") as handle:
        with_bom = handle.read(3) == codecs.BOM_UTF8
    for encoding in ("utf-8-sig",) if with_bom else ("utf-8-sig", "gb18030"):
        if _decodes(chunks(), encoding):
            return encoding
    raise _unknown_encoding()


def decode_text(data: bytes) -> str:
    """The text of a CSV file held in memory (UTF-8 with or without BOM, or GB18030)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            raise _unknown_encoding() from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise _unknown_encoding() from None
    if "\x00" in text:
        raise _not_a_table()
    return text


def header_key(cell) -> str:
    """A header cell as compared (DOMAIN §9): trimmed, without BOM, NFKC, case-folded."""
    text = "" if cell is None else unicodedata.normalize("NFKC", str(cell))
    return text.strip().lstrip("\ufeff").strip().lower()


def header_text(cell) -> str:
    """A header cell as written (for messages): trimmed, without BOM."""
    return "" if cell is None else str(cell).strip().lstrip("\ufeff").strip()


def repeated_header(cells) -> str | None:
    """The first header that occurs twice after normalization (`header_key`), else None."""
    seen = set()
    for cell in cells:
        key = header_key(cell)
        if key and key in seen:
            return header_text(cell)
        seen.add(key)
    return None


# --- Column specs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of an exchange: its field, the headers accepted for it (the first is the one
    messages name — Chinese for rosters and statements, the platform's code for settlements —
    then the English name and any alias), and whether the file must have it."""

    field: str
    headers: tuple[str, ...]
    required: bool = True

    @property
    def label(self) -> str:
        return self.headers[0]


class RepeatedColumn(TableError):
    """The same column twice (one header twice, or two accepted headers of one field)."""

    def __init__(self, column: str):
        super().__init__(_("表头中“%(column)s”列出现了两次") % {"column": column})
        self.column = column


class MissingColumns(TableError):
    """Required columns the header lacks (their labels)."""

    def __init__(self, labels: list[str], separator: str = "、"):
        super().__init__(_("缺少必需的列：%(columns)s") % {"columns": separator.join(labels)})
        self.labels = labels


@dataclass
class ColumnMap:
    """Where each field of a spec is in one file: `index[field]` (position) and
    `written[field]` (its header as written, what row errors name)."""

    index: dict[str, int]
    written: dict[str, str]

    def __contains__(self, field: str) -> bool:
        return field in self.index

    def header(self, field: str) -> str:
        return self.written.get(field, field)

    def cell(self, values: Sequence, field: str, default=""):
        """The cell of `field` in a row ("" when the file lacks the column or the row is short)."""
        i = self.index.get(field)
        if i is None or i >= len(values):
            return default
        return values[i]


def map_columns(
    header: Sequence, spec: Sequence[Column], *, separator: str = "、", alias_twice: str = "refuse"
) -> ColumnMap:
    """The column map of `header` for `spec`; headers are compared as `header_key` does (case,
    width and spaces aside). Raises RepeatedColumn / MissingColumns (both TableError).

    The same header twice is always unusable (§9). Two different names of one field (a name and
    its alias) are refused too (`alias_twice="refuse"`: rosters, statements), or the first one
    written is read (`"first"`: settlement extracts, whose 2207 and 5203 names may both appear)."""
    twice = repeated_header(header)
    if twice is not None:
        raise RepeatedColumn(twice)
    accepted = {header_key(h): column for column in spec for h in column.headers}
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    for position, cell in enumerate(header):
        column = accepted.get(header_key(cell))
        if column is None:
            continue  # other columns are ignored
        if column.field in index:  # 姓名 and name, insu_admdvs and insu_optins: one field
            if alias_twice == "first":
                continue
            raise RepeatedColumn(column.label)
        index[column.field] = position
        written[column.field] = header_text(cell)
    missing = [c.label for c in spec if c.required and c.field not in index]
    if missing:
        raise MissingColumns(missing, separator)
    return ColumnMap(index, written)


# --- The reader ---------------------------------------------------------------------------


def _csv_error(exc: csv.Error) -> TableError:
    return TableError(_("CSV 格式错误：%(error)s") % {"error": exc})


def _is_blank_row(values: list) -> bool:
    try:
        return not "".join(values).strip()
    except TypeError:  # xlsx cells: numbers, dates, None
        return all(blank(v) for v in values)


class Table:
    """An exchanged file opened for reading (`open_table`): `header` (the cells of row 1),
    `columns` (its ColumnMap, when opened with a spec), `rows()` streaming (row number, cells)
    without blank rows, and `position` / `total` for progress (bytes of a CSV on disk, rows of
    an .xlsx). Cells are text in CSV; text, numbers or dates in .xlsx (an empty one is "")."""

    def __init__(self, source, *, limit_rows: bool = False):
        self.limit_rows = limit_rows
        self.position, self.total = 0, 1
        self.path = str(source) if isinstance(source, str | Path) else None
        self.data = None if self.path else _read_bytes(source)
        try:
            self.format = sniff_format(self.path or self.data)
            self.size = os.path.getsize(self.path) if self.path else len(self.data)
        except OSError as exc:
            raise TableError(_("无法读取文件：%(error)s") % {"error": exc}) from exc
        self.encoding = None
        self._rows = self._xlsx() if self.format == "xlsx" else self._csv()
        try:
            self.header = next(self._rows)
        except StopIteration:
            raise TableError(_("文件为空，缺少表头行")) from None
        except csv.Error as exc:
            raise _csv_error(exc) from None
        if not any(header_text(cell) for cell in self.header):
            raise TableError(_("第1行应为表头"))
        self.columns: ColumnMap | None = None

    @property
    def is_xlsx(self) -> bool:
        return self.format == "xlsx"

    def _csv(self) -> Iterator[list]:
        if self.path is None:
            self.total = self.size or 1
            records = csv.reader(io.StringIO(decode_text(self.data), newline=""))
            yield from count_rows(records) if self.limit_rows else records
            self.position = self.total
            return
        self.encoding = detect_encoding(self.path)
        self.total = self.size or 1
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            records = csv.reader(text)
            for count, record in enumerate(count_rows(records) if self.limit_rows else records):
                if count % 4096 == 0:
                    self.position = raw.tell()
                yield record
        self.position = self.total

    def _xlsx(self) -> Iterator[list]:
        def opened(sheet):
            self.total = sheet.max_row or 1

        source = self.path or io.BytesIO(self.data)
        for count, values in enumerate(xlsx_rows(source, on_open=opened)):
            self.position = count
            yield ["" if v is None else v for v in values]
        self.position = self.total

    def rows(self) -> Iterator[tuple[int, list]]:
        """(spreadsheet row number, cells) of each row that is not blank, header excluded."""
        try:
            for number, values in enumerate(self._rows, start=2):
                if _is_blank_row(values):
                    continue
                yield number, values
        except csv.Error as exc:
            raise _csv_error(exc) from None


def open_table(
    source,
    spec: Sequence[Column] | None = None,
    *,
    limit_rows: bool = False,
    separator="、",
    alias_twice: str = "refuse",
) -> Table:
    """Open an exchanged file — a path (streamed), bytes or an upload (read into memory) — and,
    with `spec`, map its header (`table.columns`). `limit_rows`: refuse past IMPORT_MAX_ROWS
    data rows, CSV too (for readers that hold the whole file). Raises TableError."""
    table = Table(source, limit_rows=limit_rows)
    if spec is not None:
        table.columns = map_columns(
            table.header, spec, separator=separator, alias_twice=alias_twice
        )
    return table


def _read_bytes(file_or_path) -> bytes:
    if isinstance(file_or_path, bytes | bytearray):
        return bytes(file_or_path)
    if hasattr(file_or_path, "seek"):
        file_or_path.seek(0)
    data = file_or_path.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def read_table(file_or_path, filename: str) -> tuple[list[str], Iterator[tuple[int, dict]]]:
    """The header (stripped text) and an iterator of (row number, {header: value}), for a
    reader without a spec. The format is decided by the content, not by `filename`."""
    if isinstance(file_or_path, str | Path):
        file_or_path = Path(file_or_path).read_bytes()
    table = Table(file_or_path)
    headers = [header_text(h) for h in table.header]
    twice = repeated_header(table.header)
    if twice is not None:
        raise TableError(_("列“%(column)s”在表头中出现了两次") % {"column": twice})

    def generate():
        for number, values in table.rows():
            yield (
                number,
                {h: (values[i] if i < len(values) else None) for i, h in enumerate(headers) if h},
            )

    return headers, generate()
