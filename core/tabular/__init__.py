"""The one reader of the files exchanged under DOMAIN §9 (rosters, settlement extracts,
statements) and the one strict form of their values.

- `reader`: the format by content, CSV encodings detected, the column spec (`Column`,
  `map_columns`) and the streaming `Table` (`open_table`);
- `guard`: `check_xlsx` and the row limits, before and while openpyxl reads;
- `values`: `parse_date`, `parse_datetime`, `parse_amount`, `cell_text`.
"""

from .errors import TableError
from .guard import check_xlsx, count_rows, open_xlsx, xlsx_rows
from .reader import (
    Column,
    ColumnMap,
    MissingColumns,
    RepeatedColumn,
    Table,
    decode_text,
    detect_encoding,
    header_key,
    header_text,
    map_columns,
    open_table,
    read_table,
    repeated_header,
    sniff_format,
)
from .values import (
    ISO_DATE,
    AmountError,
    blank,
    cell_text,
    parse_amount,
    parse_amount_exact,
    parse_date,
    parse_datetime,
    parse_iso_date,
)

__all__ = [
    "ISO_DATE",
    "AmountError",
    "Column",
    "ColumnMap",
    "MissingColumns",
    "RepeatedColumn",
    "Table",
    "TableError",
    "blank",
    "cell_text",
    "check_xlsx",
    "count_rows",
    "decode_text",
    "detect_encoding",
    "header_key",
    "header_text",
    "map_columns",
    "open_table",
    "open_xlsx",
    "parse_amount",
    "parse_amount_exact",
    "parse_date",
    "parse_datetime",
    "parse_iso_date",
    "read_table",
    "repeated_header",
    "sniff_format",
    "xlsx_rows",
]
