"""What the monthly cross-checks share: the area of a run, its month, categories held.

Helpers only, no check: `enrollment`, `cross` (settlements) and `rosters` register the checks.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Q

from beneficiaries.models import Identity, Person
from core.models import Policy
from monitoring.checks import CheckContext
from monitoring.checks.high_cost import coordination_area_code

CHUNK = 1000

# A range of ID numbers [lo, hi), None an open end: the persons one chunk of a check sees
# (monitoring.check_chunks); EVERYONE for a run in one process.
CertnoRange = tuple[str | None, str | None]
EVERYONE: CertnoRange = (None, None)


def range_q(rng: CertnoRange, field: str = "certno") -> Q:
    """The rows whose ID number `field` is in the range."""
    lo, hi = rng
    q = Q()
    if lo is not None:
        q &= Q(**{f"{field}__gte": lo})
    if hi is not None:
        q &= Q(**{f"{field}__lt": hi})
    return q


def area_q(ctx: CheckContext, field: str = "region") -> Q:
    prefix = ctx.area_prefix
    return Q(**{f"{field}__code__startswith": prefix}) if prefix else Q()


def persons_in_area(ctx: CheckContext, rng: CertnoRange = EVERYONE):
    persons = Person.objects.filter(range_q(rng, "id_number"))
    prefix = ctx.area_prefix
    return persons.filter(region__code__startswith=prefix) if prefix else persons


def month_range(ctx: CheckContext) -> tuple[date, date]:
    """Settlement-based checks look at the period's month, or the whole year."""
    return ctx.period.month_start, ctx.period.end


def held_categories(person_ids, day: date) -> dict[int, set[str]]:
    held: dict[int, set[str]] = defaultdict(set)
    ids = list(person_ids)
    for start in range(0, len(ids), CHUNK):
        rows = Identity.objects.covering(day).filter(person_id__in=ids[start : start + CHUNK])
        for person_id, category in rows.values_list("person_id", "category"):
            held[person_id].add(category)
    return held


def policy_for(region_code: str, day: date) -> Policy | None:
    area = coordination_area_code(region_code)
    return Policy.objects.in_force(area, day) if area else None


def area_alerts(ctx: CheckContext, q: Q | None = None, rng: CertnoRange = EVERYONE) -> Q:
    """The alerts a run (or one chunk of it: only its range) closes when it did not find them."""
    scope = area_q(ctx) & range_q(rng)
    return scope & q if q is not None else scope
