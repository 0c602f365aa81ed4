"""Periods: a year `YYYY` or a month `YYYY-MM` in ASCII digits (DOMAIN §9.3, §9.4, §10).

Parsed here once for the checks, the reconciliation, the clearing and the fund reports; each
caller words its own error (the §9 commands print theirs on stderr). Django-free.
"""

import re

FIRST_YEAR = 1900  # no period before this is a real one for the portal
_PERIOD = re.compile(r"([0-9]{4})(?:-([0-9]{1,2}))?", re.ASCII)


def split_period(
    text: str,
    *,
    month_required: bool = False,
    one_digit_month: bool = False,
    first_year: int = FIRST_YEAR,
) -> tuple[int, int | None] | None:
    """(year, month or None for a whole year), or None when `text` is not a period.

    The month has two digits (`2023-07`) unless `one_digit_month` (the fund report's links
    also take `2023-7`); it is 01–12, and the year is at least `first_year`.
    """
    match = _PERIOD.fullmatch(text or "")
    if match is None:
        return None
    year, month_text = int(match.group(1)), match.group(2)
    if year < first_year:
        return None
    if month_text is None:
        return None if month_required else (year, None)
    if len(month_text) == 1 and not one_digit_month:
        return None
    month = int(month_text)
    return (year, month) if 1 <= month <= 12 else None
