"""Formula-safe cells for every spreadsheet and CSV the portal writes (DOMAIN §8).

A text cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a
formula by Excel or WPS when the file is opened (CSV/formula injection: `=HYPERLINK(...)`,
`=cmd|...`). `safe_cell` writes such text with a leading `'`, so it shows as text. Numbers,
dates and text that is exactly a decimal number (`-12.50`, the amounts of a CSV) are not
formulas and stay as they are, so a negative amount is still a number.

    sheet.append(safe_row([name, amount, note]))
    writer.writerow(safe_row(row))
"""

import re
from collections.abc import Iterable

__all__ = ["FORMULA_PREFIXES", "safe_cell", "safe_row"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)


def safe_cell(value):
    """`value`, or for formula-like text the same text prefixed with `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        if not _NUMBER.fullmatch(value):
            return "'" + value
    return value


def safe_row(values: Iterable) -> list:
    return [safe_cell(value) for value in values]
