"""Dates: the one "today" of the portal and the one month end. Django-free.

DOMAIN §9: "today" is the date in Asia/Shanghai, wherever the server's clock is set. China has
kept UTC+8 without daylight saving since 1991, so a fixed offset is exact and needs no tz
database; the clock is read through `datetime.now`, so tests freeze it with time-machine.
"""

import calendar
from datetime import date, datetime, timedelta, timezone

__all__ = ["CHINA_TZ", "month_end", "shanghai_today"]

CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


def shanghai_today() -> date:
    """Today's date in Asia/Shanghai (DOMAIN §9)."""
    return datetime.now(CHINA_TZ).date()


def month_end(year: int, month: int) -> date:
    """The last day of `month` of `year` (P §15: coverage runs to it; periods close on it)."""
    return date(year, month, calendar.monthrange(year, month)[1])
