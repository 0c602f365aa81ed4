"""The one strict form of the values of every exchanged file (DOMAIN §9): dates, amounts, text."""

import re
from datetime import date, datetime
from decimal import Decimal


def blank(value) -> bool:
    """An empty cell: None, or text of whitespace only."""
    return value is None or (isinstance(value, str) and not value.strip())


_blank = blank

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


def cell_text(value) -> str:
    """A cell as text, trimmed: "" for None; an integral xlsx number without its `.0` (an ID
    number, a region code, 20230701 typed as a number)."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
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
    text = cell_text(value)
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
    text = cell_text(value)
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
