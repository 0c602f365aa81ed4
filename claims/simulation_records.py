"""The 测算's reads (DOMAIN §12): a range of persons' years as engine inputs, streamed.

For the persons of an area with ID number in [lo, hi) — exactly those `simulation_persons`
lists — `person_years` yields each person's year as (ID number, engine bills in replay order,
engine identities), built straight from value rows:

- the settlements, one query for the range streamed in person order
  (`monitoring.selectors.settlement_rows_in_area`), netted and converted as value tuples
  (`adapters.net_settlement_values`, `adapters.netted_bill`): no model instance per row;
- the identities and the decided manual bills of the range, one query each;
- the register's institutions the settlements name, one query per batch of persons with codes
  not seen yet in the range.

No query per person; memory holds one range's identities and manual bills and one batch of
settlements, whatever the size of the year.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import groupby
from operator import itemgetter

from django.db.models import F

from beneficiaries.models import Identity
from claims import adapters, engine
from claims.models import Application, Bill, Institution
from core.models import Region
from monitoring.selectors import settlement_rows_in_area

SETTLEMENT_COLUMNS = (*adapters.NET_COLUMNS, "certno")
_CERTNO = len(adapters.NET_COLUMNS)
_CODE = adapters.NET_COLUMNS.index("fixmedins_code")
BATCH_PERSONS = 500  # persons whose institutions are looked up together
FETCH_ROWS = 2000  # settlement rows per round trip

PersonYear = tuple[str, list[engine.Bill], list[engine.Identity]]


def decided_bills(year: int):
    """Manual bills the year-to-date replay counts (§4): active bills of approved or paid
    applications. Uncovered ones are kept: under a draft they may be covered. A top-up of a
    partly paid record (补发, `topup_of`) is no visit of its own."""
    return Bill.objects.filter(
        year=year, active=True, application__status__in=Application.DECIDED_STATUSES, topup_of=""
    )


def person_years(
    area: Region, year: int, lo: str | None, hi: str | None, *, fetch: int | None = None
) -> Iterator[PersonYear]:
    """Each person of the area with records in `year` and ID number in [lo, hi), once: the
    persons with settlements in the order the database streams them, then those with manual
    bills only. A person whose every settlement is fully reversed comes with no bills."""
    prefix = area.prefix
    identities = _identities(prefix, lo, hi)
    manual = _manual_bills(year, prefix, lo, hi)
    institutions = _InstitutionFlags(area.code)
    rows = settlement_rows_in_area(year, prefix, SETTLEMENT_COLUMNS, lo, hi, fetch or FETCH_ROWS)
    seen = set()
    batch: list[tuple[str, list]] = []
    for certno, person_rows in groupby(rows, key=itemgetter(_CERTNO)):
        batch.append((certno, list(person_rows)))
        if len(batch) >= BATCH_PERSONS:
            yield from _timelines(batch, manual, identities, institutions, seen)
            batch = []
    yield from _timelines(batch, manual, identities, institutions, seen)
    for certno in sorted(set(manual) - seen):
        yield certno, _timeline((), manual[certno], institutions), identities.get(certno, [])


def _timelines(batch, manual, identities, institutions, seen) -> Iterator[PersonYear]:
    institutions.look_up({row[_CODE] for _certno, rows in batch for row in rows})
    for certno, rows in batch:
        seen.add(certno)
        bills = _timeline(rows, manual.get(certno, ()), institutions)
        yield certno, bills, identities.get(certno, [])


def _timeline(rows: Sequence, manual_bills: Sequence, institutions) -> list[engine.Bill]:
    """One person's year as engine bills, in replay order (§12).

    Settlements are netted with their reversals (a fully reversed one is dropped) and converted
    as in the replay of §4 (designated; referred when outside the area), without maf_pay so the
    engine computes their assistance. A settlement whose ID a manual bill carries is that
    bill's visit and is counted once, as the bill. Order: discharge/service date, then
    settlements by settlement time and ID (as the rows come), then manual bills of that day in
    entry order.
    """
    flags = institutions.flags
    items = adapters.net_settlement_values(rows)
    if not manual_bills:
        return [adapters.netted_bill(item, flags[item[1]], paid=False) for item in items]
    linked = {bill.setl_id for bill in manual_bills if bill.setl_id}
    timeline = [
        ((item[4], 0, n), adapters.netted_bill(item, flags[item[1]], paid=False))
        for n, item in enumerate(items)
        if item[0] not in linked
    ]
    area_code = institutions.area_code
    for bill in manual_bills:
        timeline.append(
            ((bill.end_date, 1, bill.pk), adapters.engine_bill(bill, area_code=area_code))
        )
    timeline.sort(key=itemgetter(0))
    return [bill for _key, bill in timeline]


def _identities(prefix: str, lo: str | None, hi: str | None) -> dict[str, list[engine.Identity]]:
    """The identities of the range's persons registered in the area (only they can have any
    records the 测算 counts), by ID number, each person's in entry order."""
    rows = Identity.objects.filter(person__region__code__startswith=prefix)
    rows = _in_range(rows, "person__id_number", lo, hi).order_by("id")
    found: dict[str, list[engine.Identity]] = {}
    for certno, category, start, end in rows.values_list(
        "person__id_number", "category", "start", "end"
    ):
        found.setdefault(certno, []).append(engine.Identity(category, start, end))
    return found


def _manual_bills(year: int, prefix: str, lo: str | None, hi: str | None) -> dict[str, list]:
    bills = decided_bills(year).filter(application__person__region__code__startswith=prefix)
    bills = _in_range(bills, "application__person__id_number", lo, hi)
    bills = bills.select_related("institution").annotate(certno=F("application__person__id_number"))
    found: dict[str, list] = {}
    for bill in bills.order_by("id"):
        found.setdefault(bill.certno, []).append(bill)
    return found


def _in_range(queryset, field: str, lo: str | None, hi: str | None):
    if lo is not None:
        queryset = queryset.filter(**{f"{field}__gte": lo})
    if hi is not None:
        queryset = queryset.filter(**{f"{field}__lt": hi})
    return queryset


class _InstitutionFlags:
    """(in the area, in the region) of each institution code met in a range, looked up in the
    register once per code (`adapters.institution_flags`: a code not in it counts as both)."""

    def __init__(self, area_code: str):
        self.area_code = area_code
        self.flags: dict[str, tuple[bool, bool]] = {}

    def look_up(self, codes: set[str]) -> None:
        new = codes - self.flags.keys()
        if not new:
            return
        register = {i.code: i for i in Institution.objects.filter(code__in=new)}
        for code in new:
            self.flags[code] = adapters.institution_flags(register.get(code), self.area_code)
