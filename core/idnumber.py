"""Chinese resident ID numbers (公民身份号码, GB 11643-1999).

An ID number has 18 characters::

    150302 19900101 123 4
    │      │        │   └ check digit (0-9 or X), ISO 7064 MOD 11-2
    │      │        └ sequence code; its last digit is odd for men, even for women
    │      └ birth date YYYYMMDD
    └ region code (行政区划代码) where the number was first issued

DOMAIN §8: numbers are validated (18 characters, check digit, real birth date) and birth date
and sex derive from them; lists show them masked. DOMAIN §9.1: a lowercase x is accepted and
stored upper-case, and a wrong check digit is reported as "校验码错误".

Pure Python: no Django import, so importers, forms, demo data and benchmarks share it.
"""

import re
from datetime import date

# CHINA_TZ is re-exported: the settlement reader and the tests read idnumber.CHINA_TZ.
from core.dates import CHINA_TZ as CHINA_TZ
from core.dates import shanghai_today
from core.identifiers import normalize_identifier

__all__ = [
    "InvalidIdNumber",
    "birth_date",
    "check_digit",
    "make",
    "mask",
    "normalize",
    "region_code",
    "sex",
    "validate",
]

LENGTH = 18
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)

# The earliest birth date we accept. GB 11643-1999's own example 440524188001010014 is born in
# 1880, so the bound only rejects obvious typos such as 0990 or 1090.
EARLIEST_BIRTH = date(1800, 1, 1)

MESSAGES = {
    "length": "身份证号码应为18位",
    "chars": "身份证号码只能包含数字，最后一位可以是X",
    "birth_date": "出生日期无效",
    "birth_date_future": "出生日期晚于今天",
    "check_digit": "校验码错误",
}

_SHAPE = re.compile(r"[0-9]*[0-9X]")  # ASCII digits, the last one may be X


class InvalidIdNumber(ValueError):
    """An ID number that fails validation.

    ``message`` is the Chinese text shown to users (and written to import error reports);
    ``code`` is one of "length", "chars", "birth_date", "check_digit" for callers that branch
    on the kind of error or want their own wording.
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def normalize(raw: str | None) -> str:
    """Return ``raw`` without whitespace, with full-width characters folded to ASCII and a
    trailing lowercase x upper-cased. Does not validate."""
    if raw is None:
        return ""
    # NFKC folds the full-width digits and Ｘ that Chinese input methods produce ("１５０３…");
    # zero-width characters go too (DOMAIN §9: identifiers).
    text = normalize_identifier(raw)
    if text.endswith("x"):
        text = text[:-1] + "X"
    return text


def check_digit(first17: str) -> str:
    """The GB 11643 check character ("0"-"9" or "X") for the first 17 digits."""
    if len(first17) != LENGTH - 1 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"check_digit() needs exactly 17 digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def _parse_birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:  # February 30th, month 13, year 0000 …
        return None


def validate(raw: str | None, *, today: date | None = None) -> str:
    """Return the normalized ID number or raise :class:`InvalidIdNumber`.

    Checks, in order, so that the message names the most basic problem: characters, length,
    birth date (a real calendar date, not before 1800, not after ``today`` in China), check
    digit.
    """
    number = normalize(raw)
    if number and not _SHAPE.fullmatch(number):
        raise InvalidIdNumber(MESSAGES["chars"], "chars")
    if len(number) != LENGTH:
        raise InvalidIdNumber(MESSAGES["length"], "length")
    born = _parse_birth_date(number)
    if born is None or born < EARLIEST_BIRTH:
        raise InvalidIdNumber(MESSAGES["birth_date"], "birth_date")
    if born > (today or shanghai_today()):
        raise InvalidIdNumber(MESSAGES["birth_date_future"], "birth_date")
    if check_digit(number[:17]) != number[17]:
        raise InvalidIdNumber(MESSAGES["check_digit"], "check_digit")
    return number


def birth_date(number: str) -> date:
    """The birth date encoded in a valid ID number (raises :class:`InvalidIdNumber`)."""
    number = validate(number)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(number: str) -> str:
    """Sex from the 17th digit: "M" when it is odd, "F" when it is even."""
    number = validate(number)
    return "M" if int(number[16]) % 2 else "F"


def region_code(number: str) -> str:
    """The 6-digit region code (行政区划代码) where the number was issued.

    It is the region of first registration, not necessarily the current household region.
    """
    return validate(number)[:6]


def mask(number: str | None) -> str:
    """The number as lists show it (DOMAIN §8): ``150302********1234``.

    A well-formed 18-character number keeps its region code and last 4 characters. Anything
    else that may have reached the database is masked so at least 4 characters stay hidden:
    14 characters or more keep the first 6 and last 4, shorter strings keep only the last 2.
    """
    text = normalize(number)
    size = len(text)
    if size >= 14:
        return text[:6] + "*" * (size - 10) + text[-4:]
    if size > 2:
        return "*" * (size - 2) + text[-2:]
    return "*" * size


def make(region6: str, birth: date, seq3: int, *, sex: str | None = None) -> str:
    """Build a valid ID number (for demo data, tests and benchmarks).

    ``seq3`` (0-999) is the sequence code; its last digit decides the sex. When ``sex`` ("M" or
    "F") is given and disagrees, the lowest bit of ``seq3`` is flipped (122 → 123 for "M").
    """
    if len(region6) != 6 or not region6.isascii() or not region6.isdigit():
        raise ValueError(f"region6 must be 6 digits, got {region6!r}")
    if not 0 <= seq3 <= 999:
        raise ValueError(f"seq3 must be between 0 and 999, got {seq3!r}")
    if birth < EARLIEST_BIRTH:
        raise ValueError(f"birth must not be before {EARLIEST_BIRTH}, got {birth}")
    if sex not in (None, "M", "F"):
        raise ValueError(f'sex must be "M" or "F", got {sex!r}')
    if sex is not None and (seq3 % 2 == 1) != (sex == "M"):
        seq3 ^= 1
    first17 = f"{region6}{birth:%Y%m%d}{seq3:03d}"
    return first17 + check_digit(first17)
