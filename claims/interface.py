"""What the claims app offers the monitoring checks (DOMAIN §7): the one door to its tables.

The checks never write SQL or ORM queries on claims tables themselves; they call these:

- `manual_burden_sql` — the manual-reimbursement part of a person's yearly burden (high cost);
- `person_ids_with_application_changes` — whose burden may have changed since a scan;
- `paid_bills_ending_between` — bills with assistance approved, for the overpayment check;
- `claimed_setl_ids` — settlement IDs a bill names (the person has claimed: no reminder);
- `institutions_by_code` — the institution register (levels for the out-of-catalog check);
- `link_benefit_alerts` — a benefit-after-coverage alert raised after its recovery case (§11)
  was opened is linked to it.

Settlements go the other way through `monitoring.selectors` (see its docstring).
"""

from datetime import date, datetime

from django.db.models import Q, QuerySet

from claims.models import Application, Bill, Institution
from monitoring.selectors import settlement_exists_sql

CHUNK = 1000


def manual_burden_sql(year: int, period_end: date) -> tuple[str, list]:
    """SQL rows (certno, amount) of the manual-reimbursement part of the burden (§7).

    Per bill of an application under way or decided (not a draft, not rejected): its cost
    after basic and critical-illness insurance when no imported settlement carries its
    settlement ID (else the settlement already counts it) and it is no top-up (补发) of a partly
    paid record (the record counts the cost), less the assistance approved on it
    (approved or paid applications). A bill belongs to the year of its discharge/service date.
    """
    counted = [Application.Status.SUBMITTED, *Application.DECIDED_STATUSES]
    decided = list(Application.DECIDED_STATUSES)
    sql = (
        "SELECT p.id_number AS certno, "
        f"(CASE WHEN b.topup_of = '' AND (b.setl_id = '' OR NOT {settlement_exists_sql('b.setl_id')}) "
        "THEN b.total_cost - b.basic_insurance_paid - b.critical_illness_paid ELSE 0 END) "
        f"- (CASE WHEN a.status IN ({', '.join(['%s'] * len(decided))}) THEN b.total ELSE 0 END) "
        "AS amount "
        "FROM claims_bill b JOIN claims_application a ON a.id = b.application_id "
        "JOIN beneficiaries_person p ON p.id = a.person_id "
        f"WHERE b.active AND a.status IN ({', '.join(['%s'] * len(counted))}) "
        "AND b.year = %s AND COALESCE(b.discharged, b.service_date) <= %s"
    )
    return sql, [*decided, *counted, year, period_end]


def person_ids_with_application_changes(since: datetime) -> set[int]:
    """Persons whose applications were submitted, decided or paid since `since`."""
    changed = Application.history.model.objects.filter(history_date__gte=since)
    return set(changed.values_list("person_id", flat=True))


def paid_bills_ending_between(
    first: date, last: date, *, certno_range: tuple[str | None, str | None] = (None, None)
) -> QuerySet[Bill]:
    """Active bills with assistance approved (decided applications), ending in [first, last],
    with the person, their identities and the institution, by ID number; only the persons
    whose ID number is in `certno_range` [lo, hi) (None an open end: one chunk of a check)."""
    lo, hi = certno_range
    persons = Q()
    if lo is not None:
        persons &= Q(application__person__id_number__gte=lo)
    if hi is not None:
        persons &= Q(application__person__id_number__lt=hi)
    return (
        Bill.objects.filter(persons)
        .filter(active=True, total__gt=0, application__status__in=Application.DECIDED_STATUSES)
        .filter(
            Q(discharged__gte=first, discharged__lte=last)
            | Q(discharged__isnull=True, service_date__gte=first, service_date__lte=last)
        )
        .select_related("application__person", "institution")
        .prefetch_related("application__person__identities")
        .order_by("application__person__id_number", "id")
    )


def claimed_setl_ids(setl_ids) -> set[str]:
    """The settlement IDs that an active manual-reimbursement bill names on its slip."""
    claimed: set[str] = set()
    ids = list(setl_ids)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        claimed |= set(
            Bill.objects.filter(active=True, setl_id__in=chunk).values_list("setl_id", flat=True)
        )
    return claimed


def institutions_by_code() -> dict[str, Institution]:
    return {i.code: i for i in Institution.objects.all()}


def link_benefit_alerts(*, year: int) -> None:
    """Link the year's benefit-after-coverage alerts to the recovery cases opened before them."""
    from claims.recovery import link_benefit_alerts as link

    link(year=year)
