"""Reads of the claims app: year-to-date state, assessments, lists, dashboard, person panel.

The year-to-date state (DOMAIN §4) is never typed in and never stored: it is rebuilt here from
the person's records of the year — one-stop settlements and approved manual bills — by letting
the engine replay them in date order. Nothing else computes assistance.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from claims import adapters, engine
from claims.models import Application, Bill, Institution
from claims.topup_steps import deduct_paid
from core.dates import shanghai_today
from core.models import Policy, Region
from core.scoping import scoped, user_region_codes
from monitoring.selectors import settlements_for

DEFAULT_PROCESSING_DAYS = 20

# --- Policy and state ----------------------------------------------------------------------


def policy_in_force(area_code: str, day: date) -> Policy:
    policy = Policy.objects.in_force(area_code, day)
    if policy is None:
        raise ValidationError(
            _("%(day)s 没有生效的救助政策，无法测算。") % {"day": day.isoformat()}
        )
    return policy


def person_settlements(person, year: int) -> list:
    return list(settlements_for(person, year))


def year_to_date_for(
    person,
    year: int,
    policy: engine.Policy,
    identities: list[engine.Identity],
    *,
    area_code: str,
    exclude_application: Application | None = None,
    exclude_setl_ids: frozenset[str] = frozenset(),
    exclude_records: frozenset[str] = frozenset(),
    day: date | None = None,
) -> engine.YearToDate:
    """The person's state for `year`, rebuilt from the records by the engine (§4).

    Records: one-stop settlements (their assistance is maf_pay) and the covered bills of
    approved or paid applications (their approved basic assistance counts toward the cap),
    in date order. A settlement whose slip a manual bill carries (setl_id) is that bill's
    visit: it is counted once, as the bill. All records of the year count, whatever their
    date, so the annual cap holds whatever order bills arrive in.

    A top-up (补发) of a partly paid record is no visit of its own: its basic assistance is
    added to what the record it tops up counts (§11), so the visit's deductibles and cap are
    consumed once. `exclude_records` ("bill:12", "setl:<id>") leaves records out: those an
    application under assessment tops up.
    """
    timeline = _year_timeline(
        person,
        year,
        area_code=area_code,
        exclude_application=exclude_application,
        exclude_setl_ids=exclude_setl_ids,
        exclude_records=exclude_records,
    )
    if not timeline:
        return engine.YearToDate.zero()
    timeline.sort(key=lambda row: row[:3])
    try:
        _results, state = engine.assess_bills(
            policy,
            identities,
            engine.YearToDate.zero(),
            [row[3] for row in timeline],
            day or shanghai_today(),
        )
    except engine.InvalidBill as exc:
        # A record of the year that the engine cannot replay: refuse rather than guess the cap.
        raise ValidationError(
            _("本年度已有记录 %(record)s 数据有误，无法计算年度累计：%(message)s")
            % {"record": exc.bill_id, "message": exc.render(_)}
        ) from exc
    return state


def _year_timeline(
    person, year: int, *, area_code: str, exclude_application, exclude_setl_ids, exclude_records
) -> list[tuple]:
    """The records of `year_to_date_for` as engine bills, keyed (date, settlements first, id)."""
    manual = (
        Bill.objects.filter(
            application__person=person,
            application__status__in=Application.DECIDED_STATUSES,
            year=year,
            active=True,
            covered=True,
        )
        .select_related("institution")
        .order_by("id")
    )
    if exclude_application is not None:
        manual = manual.exclude(application=exclude_application)
    manual = list(manual)
    extra: dict[str, Decimal] = defaultdict(Decimal)
    for bill in manual:
        if bill.topup_of:
            extra[bill.topup_of] += bill.assistance
    manual = [b for b in manual if not b.topup_of and f"bill:{b.pk}" not in exclude_records]
    linked = set(exclude_setl_ids) | {b.setl_id for b in manual if b.setl_id}
    settlements = [
        item
        for item in adapters.net_settlements(person_settlements(person, year))
        if item["setl_id"] not in linked and f"setl:{item['setl_id']}" not in exclude_records
    ]
    codes = {item["fixmedins_code"] for item in settlements}
    institutions = {i.code: i for i in Institution.objects.filter(code__in=codes)}
    timeline = [
        (
            item["enddate"],
            0,
            item["setl_id"],
            _topped_up(
                adapters.settlement_bill(item, institutions=institutions, area_code=area_code),
                extra.get(f"setl:{item['setl_id']}"),
            ),
        )
        for item in settlements
    ] + [
        (
            b.end_date,
            1,
            str(b.pk),
            _topped_up(adapters.replayed_bill(b, area_code=area_code), extra.get(f"bill:{b.pk}")),
        )
        for b in manual
    ]
    return timeline


def _topped_up(bill: engine.Bill, extra: Decimal | None) -> engine.Bill:
    """A replayed record with the basic assistance its top-ups (补发) added."""
    if not extra:
        return bill
    return dataclasses.replace(bill, paid_assistance=bill.paid_assistance + extra)


@dataclass
class YearRun:
    """The assessment of an application's bills of one year."""

    year: int
    policy: Policy
    before: engine.YearToDate
    after: engine.YearToDate
    results: list[tuple[Bill, engine.Assessment]] = field(default_factory=list)


@dataclass
class ApplicationAssessment:
    years: list[YearRun]

    @property
    def results(self) -> list[tuple[Bill, engine.Assessment]]:
        pairs = [pair for run in self.years for pair in run.results]
        return sorted(pairs, key=lambda pair: pair[0].pk)

    @property
    def assistance(self) -> Decimal:
        return sum((a.assistance for _b, a in self.results), Decimal("0.00"))

    @property
    def tilted_assistance(self) -> Decimal:
        return sum((a.tilted_assistance for _b, a in self.results), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return sum((a.total for _b, a in self.results), Decimal("0.00"))


def invalid_bill_error(exc: engine.InvalidBill) -> ValidationError:
    """The engine's §4 step-1 refusal as a Chinese field error."""
    return ValidationError({exc.field: exc.render(_)})


def assess_application(application: Application, *, day: date | None = None):
    """Assess the application's bills against the state of the records right now.

    Bills are grouped by year (the deductible and the cap are annual); each year starts from
    the state rebuilt from the records, then its bills go in date order, then entry order.
    A read: nothing is saved (the approval service saves the result under a lock).
    """
    day = day or shanghai_today()
    person = application.person
    bills = list(application.bills.select_related("institution").order_by("id"))
    by_year: dict[int, list[Bill]] = defaultdict(list)
    for bill in bills:
        by_year[bill.year].append(bill)
    identities = adapters.engine_identities(person.identities.all())
    area_code = application.area_id
    runs = []
    for year in sorted(by_year):
        group = sorted(by_year[year], key=lambda b: (b.end_date, b.pk))
        policy = policy_in_force(area_code, max(b.end_date for b in group))
        rules = adapters.engine_policy(policy)
        before = year_to_date_for(
            person,
            year,
            rules,
            identities,
            area_code=area_code,
            exclude_application=application,
            exclude_setl_ids=frozenset(b.setl_id for b in group if b.setl_id),
            exclude_records=frozenset(b.topup_of for b in group if b.topup_of),
            day=day,
        )
        try:
            results, after = engine.assess_bills(
                rules,
                identities,
                before,
                [adapters.engine_bill(b, area_code=area_code) for b in group],
                day,
            )
        except engine.InvalidBill as exc:
            bill = next(b for b in group if str(b.pk) == exc.bill_id)
            raise ValidationError(
                _("票据 %(invoice)s：%(message)s")
                % {"invoice": bill.invoice_number, "message": exc.render(_)}
            ) from exc
        if any(b.topup_of for b in group):
            results = deduct_paid(application, group, results)
        runs.append(YearRun(year, policy, before, after, list(zip(group, results, strict=True))))
    return ApplicationAssessment(runs)


# --- Processing time ------------------------------------------------------------------------


def working_days_between(start: date, end: date) -> int:
    """Working days (Mon–Fri) after `start` up to and including `end`.

    No holiday calendar: public holidays and adjusted working weekends (调休) are not known
    to the portal, so they count as ordinary days of the week.
    """
    if end <= start:
        return 0
    days = (end - start).days
    weeks, extra = divmod(days, 7)
    count = weeks * 5
    for offset in range(1, extra + 1):
        if (start + timedelta(days=weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def overdue_cutoff(limit: int, day: date) -> date:
    """The latest received date that is overdue on `day`: more than `limit` working days."""
    cursor = day
    counted = 0
    while counted <= limit:
        if cursor.weekday() < 5:
            counted += 1
        cursor -= timedelta(days=1)
    # `cursor` + 1 is the earliest day from which `limit` + 1 working days reach `day`.
    return cursor


def processing_limit(area_code: str, day: date) -> int:
    policy = Policy.objects.in_force(area_code, day)
    return policy.processing_days_limit if policy else DEFAULT_PROCESSING_DAYS


def _overdue_q(areas, day: date) -> Q:
    """Open applications received more than the area's limit of working days ago."""
    condition = Q(pk__in=[])
    for area in areas:
        cutoff = overdue_cutoff(processing_limit(area, day), day)
        condition |= Q(area_id=area, received_on__lte=cutoff)
    return Q(status__in=Application.OPEN_STATUSES) & condition


def _areas_for(user) -> list[str]:
    codes = user_region_codes(user)
    areas = Region.objects.filter(level=Region.Level.CITY)
    if codes is not None:
        # A district user's area is their city even though it is outside their subtree.
        own = user.region.coordination_area if user.region else None
        areas = areas.filter(Q(code__in=codes) | Q(code=getattr(own, "code", None)))
    return list(areas.values_list("code", flat=True))


def annotate_processing(applications, day: date | None = None) -> None:
    """Set `.days_open` (working days since received) and `.is_overdue` on each row."""
    day = day or shanghai_today()
    limits: dict[str, int] = {}
    for app in applications:
        if app.area_id not in limits:
            limits[app.area_id] = processing_limit(app.area_id, day)
        end = (
            day
            if app.status in Application.OPEN_STATUSES
            else (timezone.localdate(app.decided_at) if app.decided_at else day)
        )
        app.days_open = working_days_between(app.received_on, end)
        app.processing_limit = limits[app.area_id]
        app.is_overdue = (
            app.status in Application.OPEN_STATUSES and app.days_open > limits[app.area_id]
        )


# --- Lists ----------------------------------------------------------------------------------


def applications_for(user) -> QuerySet[Application]:
    return scoped(
        Application.objects.select_related("person", "person__region", "prepared_by", "area"),
        user,
    )


class ApplicationFilter(django_filters.FilterSet):
    """The application list's filters; a value that does not parse is ignored."""

    q = django_filters.CharFilter(method="filter_q")
    status = django_filters.ChoiceFilter(choices=Application.Status.choices)
    channel = django_filters.ChoiceFilter(choices=Application.Channel.choices)
    region = django_filters.CharFilter(field_name="person__region__code", lookup_expr="startswith")
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    received_from = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_to = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = Application
        fields: list[str] = []

    def __init__(self, data=None, *args, user=None, **kwargs):
        if data is not None:  # the page's short names: ?from=…&to=…, ?overdue=1
            data = data.copy()
            for short, name in (("from", "received_from"), ("to", "received_to")):
                if data.get(short):
                    data[name] = data[short]
            if data.get("overdue"):
                data["overdue"] = "true"
        self.user = user
        super().__init__(data, *args, **kwargs)

    def filter_q(self, queryset, name, value):
        from beneficiaries.models import Person
        from beneficiaries.selectors import person_search

        text = value.strip()
        if not text:
            return queryset
        persons = person_search(Person.objects.all(), text)
        return queryset.filter(Q(person__in=persons) | Q(form_number=text))

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(_overdue_q(_areas_for(self.user), shanghai_today()))


def application_list(user, params) -> QuerySet[Application]:
    """The scoped application list filtered by the query string (status, channel, text…)."""
    rows = ApplicationFilter(params, queryset=applications_for(user), user=user).qs
    if params.get("status") == Application.Status.SUBMITTED:
        return rows.order_by("received_on", "id")  # the queue: oldest first
    return rows


def status_counts(user) -> dict[str, int]:
    counts = {s: 0 for s in Application.Status.values}
    for row in applications_for(user).values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    return counts


def institutions() -> QuerySet[Institution]:
    return Institution.objects.order_by("-designated", "admdvs", "-level", "name")


# --- Dashboard and person panel -------------------------------------------------------------


def dashboard_context(user) -> dict:
    """Figures for templates/claims/_dashboard.html."""
    day = shanghai_today()
    rows = applications_for(user)
    counts = status_counts(user)
    overdue = rows.filter(_overdue_q(_areas_for(user), day))
    paid_this_year = rows.filter(status=Application.Status.PAID, paid_on__year=day.year)
    return {
        "claims_counts": counts,
        "claims_awaiting_approval": counts[Application.Status.SUBMITTED],
        "claims_drafts": counts[Application.Status.DRAFT],
        "claims_overdue": overdue.count(),
        "claims_overdue_rows": list(overdue.order_by("received_on")[:5]),
        "claims_paid_this_year": paid_this_year.aggregate(s=Sum("total"))["s"] or Decimal("0.00"),
        "claims_limit": processing_limit(_areas_for(user)[0], day) if _areas_for(user) else 20,
    }


def person_panel(person, user) -> dict | None:
    """The claims section of the person page (beneficiaries.selectors.person_panels)."""
    if not user.has_perm("claims.view_application"):
        return None
    rows = list(applications_for(user).filter(person=person).order_by("-received_on", "-id")[:20])
    annotate_processing(rows)
    year = shanghai_today().year
    paid = Bill.objects.filter(
        application__person=person,
        application__status__in=Application.DECIDED_STATUSES,
        year=year,
        active=True,
    ).aggregate(a=Sum("assistance"), t=Sum("tilted_assistance"))
    return {
        "template": "claims/_person_claims.html",
        "person": person,
        "applications": rows,
        "year": year,
        "manual_assistance": paid["a"] or Decimal("0.00"),
        "manual_tilted": paid["t"] or Decimal("0.00"),
        "can_add": user.has_perm("claims.add_application"),
    }
