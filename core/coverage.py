"""Identity coverage (DOMAIN §3) and the highest-ranked choice (就高不就低), written once.

Pure Python, no Django: the engine, the monthly checks, the identity model, the selectors and
the fund reports all ask these functions, and `covering_day_sql` gives the same outpatient rule
as a SQL condition for the set-based scans (tests evaluate both forms on the same rows).

An identity is anything with `start` and `end` (`end` None while it lasts): the engine's
dataclass and the beneficiaries model both are.
"""

from collections.abc import Iterable, Sequence
from datetime import date
from typing import NamedTuple, Protocol

from core.dates import month_end

__all__ = [
    "INPATIENT",
    "Held",
    "HeldIdentity",
    "covering_day_sql",
    "coverage_end",
    "covers_day",
    "covers_stay",
    "highest_ranked",
    "identity_covers",
    "rank_of",
]

INPATIENT = "inpatient"  # core.choices.VisitType.INPATIENT; the other visit types are by day


class Held(Protocol):
    """What coverage reads of an identity."""

    start: date
    end: date | None


class HeldIdentity(NamedTuple):
    """An identity as plain values (a row read for a set of persons)."""

    category: str
    start: date
    end: date | None = None


def coverage_end(end: date) -> date:
    """The last day an identity that ends on `end` still covers.

    P §15: 次月起不再享受 — benefits stop from the next month, so the month of `end` is covered
    to its last day.
    """
    return month_end(end.year, end.month)


def covers_day(identity: Held, day: date) -> bool:
    """§3, outpatient (and a reference date): start ≤ day ≤ coverage end."""
    end = identity.end
    return identity.start <= day and (end is None or day <= coverage_end(end))


def covers_stay(identity: Held, admitted: date, discharged: date) -> bool:
    """§3, inpatient: whether `identity` covers the stay from `admitted` to `discharged`."""
    # An identity gained during the stay covers the whole stay.
    if identity.start > discharged:
        return False
    end = identity.end
    # P §15: one that ends during the stay (admitted ≤ end ≤ discharged) does not cover it; one
    # that ended before admission still covers a stay finished within its month.
    return end is None or end > discharged or (end < admitted and discharged <= coverage_end(end))


def identity_covers(identity: Held, visit_type: str, begin: date | None, last: date) -> bool:
    """§3: whether `identity` covers a bill or settlement of `visit_type`.

    `begin` is the admission date of a stay (unused for outpatient visits), `last` its
    discharge date or the outpatient service date.
    """
    if visit_type == INPATIENT:
        return covers_stay(identity, begin, last)
    return covers_day(identity, last)


def rank_of(category: str, rank: Sequence[str]) -> int:
    """A category's place in `rank` (0 is the highest); one not ranked comes after all."""
    return rank.index(category) if category in rank else len(rank)


def highest_ranked(categories: Iterable[str], rank: Sequence[str]) -> str | None:
    """就高不就低 (W 三(二)(三), P §17): the highest-ranked of `categories`, None if empty.

    Of two equally ranked (both unranked), the first given wins.
    """
    unranked = len(rank)
    best, best_rank = None, unranked + 1
    for category in categories:
        position = rank.index(category) if category in rank else unranked  # rank_of, inlined
        if position < best_rank:
            best, best_rank = category, position
    return best


def covering_day_sql(alias: str, day: date) -> tuple[str, list]:
    """`covers_day` as a SQL condition on the identity table aliased `alias`, with its params.

    start ≤ day ≤ coverage end, where coverage end ≥ day ⇔ end ≥ the first of day's month.
    """
    condition = f"{alias}.start <= %s AND ({alias}.end IS NULL OR {alias}.end >= %s)"
    return condition, [day, day.replace(day=1)]
