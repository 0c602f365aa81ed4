"""Reads of the monitoring app: settlements for the claims flow, alert queues, dashboards.

The claims app reads settlements only through the functions under "Settlements" below
(`settlements_for`, `settlement_by_setl_id`, `settlement_paid`, `settlements_of`,
`settled_certnos_in_area`, `settlement_rows_in_area`, `settled_certno_boundaries`,
`settlement_exists_sql`); monitoring reads claims only through
`claims.interface`. Neither writes SQL on the other's tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from datetime import date, timedelta
from decimal import Decimal

import django_filters
from django import forms
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import idnumber
from core.dates import shanghai_today
from core.models import Region
from core.scoping import scoped, user_region_codes
from monitoring import settlement_keys
from monitoring.models import Alert, CheckRun, Settlement, SettlementImport, SettlementKey

EXPORT_COLUMNS = [
    "certno",
    "name",
    "year",
    "watch",
    "burden",
    "threshold",
    "status",
    "region",
    "period",
    "subject",
    "amount",
    "assignee",
    "message",
]


# --- Settlements (used by the claims flow: DOMAIN §4 year-to-date state, §7) ---------------


def settlements_for(person_or_certno, year: int) -> QuerySet[Settlement]:
    """The settlements of a person (a Person or an ID number) in `year`, in date order.

    A settlement belongs to the year of its end date; reversal rows are included (amounts
    negative), so sums over the year net out (§9.2).
    """
    certno = getattr(person_or_certno, "id_number", person_or_certno)
    return Settlement.objects.filter(certno=certno, year=year).order_by(
        "enddate", "setl_time", "id"
    )


def settlement_paid(settlement: Settlement) -> Decimal:
    """maf_pay of a settlement net of the reversal rows naming it (§9.2)."""
    reversed_pay = Settlement.objects.filter(
        init_setl_id=settlement.setl_id, refd_setl_flag=True
    ).values_list("maf_pay", flat=True)
    return settlement.maf_pay + sum(reversed_pay, Decimal("0"))


def settled_certnos_in_area(year: int, prefix: str) -> QuerySet:
    """ID numbers with settlements in `year` of persons of the area `prefix` (distinct): the
    registered region, else the settlement's `insu_admdvs` for a person not registered (§7)."""
    from beneficiaries.models import Person

    registered = Person.objects.filter(id_number=OuterRef("certno"))
    in_area = registered.filter(region__code__startswith=prefix)
    return (
        Settlement.objects.filter(year=year)
        .filter(Exists(in_area) | (~Exists(registered) & Q(insu_admdvs__code__startswith=prefix)))
        .values_list("certno", flat=True)
        .distinct()
    )


def settlements_of(year: int, certnos, columns) -> QuerySet[Settlement]:
    """The settlements of `year` of these ID numbers, with only `columns`, in date order."""
    rows = Settlement.objects.filter(year=year, certno__in=certnos).only(*columns)
    return rows.order_by("enddate", "setl_time", "setl_id")


def settlement_rows_in_area(
    year: int,
    prefix: str,
    columns: Sequence[str],
    lo: str | None = None,
    hi: str | None = None,
    fetch: int = 2000,
) -> Iterator[tuple]:
    """Every settlement of `year` of the area's persons — the persons `settled_certnos_in_area`
    lists, each with all their rows of the year — with ID number in [lo, hi), as tuples of
    `columns` (Settlement field names), streamed.

    Rows come by ID number, then in replay order (§12): end date, settlement time, settlement
    ID in code-point order (Python's, whatever the database collation). On PostgreSQL a
    server-side cursor in a read-only transaction sends `fetch` rows at a time, so a range of
    any size holds one batch in memory; the person register is merge-joined by ID number.
    """
    from beneficiaries.models import Person

    fields = [Settlement._meta.get_field(name) for name in columns]
    postgres = connection.vendor == "postgresql"
    on_person, where, bounds = [], ["s.year = %s"], []
    for operator, value in ((">=", lo), ("<", hi)):
        if value is not None:
            on_person.append(f" AND p.id_number {operator} %s")
            where.append(f"s.certno {operator} %s")
            bounds.append(value)
    table, setl_id = Settlement._meta.db_table, "s.setl_id"
    if postgres:
        setl_id += ' COLLATE "C"'
    sql = (
        f"SELECT {', '.join('s.' + field.column for field in fields)} "
        f"FROM {table} s LEFT JOIN {Person._meta.db_table} p "
        f"ON p.id_number = s.certno{''.join(on_person)} "
        f"WHERE {' AND '.join(where)} AND (p.region_id LIKE %s OR (p.id IS NULL AND EXISTS ("
        f"SELECT 1 FROM {table} a WHERE a.year = s.year AND a.certno = s.certno "
        f"AND a.insu_admdvs LIKE %s))) ORDER BY s.certno, s.enddate, s.setl_time, {setl_id}"
    )
    params = [*bounds, year, *bounds, prefix + "%", prefix + "%"]
    converters = _converters(fields)
    # A named cursor streams only inside a transaction (outside, it is materialized at once).
    with transaction.atomic() if postgres else nullcontext():
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(fetch):
                if converters:
                    batch = [_convert(row, converters) for row in batch]
                yield from batch


def _converters(fields) -> list | None:
    """The backend's converters of each column (SQLite: decimals, dates, booleans), as Django's
    compiler applies them; None when no column needs one (PostgreSQL)."""
    converters = []
    for field in fields:
        col = field.get_col(Settlement._meta.db_table)
        functions = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        converters.append((functions, col))
    return converters if any(functions for functions, _col in converters) else None


def _convert(row, converters) -> tuple:
    values = []
    for value, (functions, col) in zip(row, converters, strict=True):
        for function in functions:
            value = function(value, col, connection)
        values.append(value)
    return tuple(values)


def settled_certno_boundaries(year: int, size: int) -> list[str]:
    """Every `size`-th distinct ID number with settlements in `year` (sorted): cuts that split
    the year's persons into ranges of about `size` (one index-only scan; the ranges are for
    spreading work, any cuts give the same sums)."""
    table = Settlement._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT certno FROM (SELECT certno, ROW_NUMBER() OVER (ORDER BY certno) AS n "
            f"FROM (SELECT DISTINCT certno FROM {table} WHERE year = %s) d) t "
            "WHERE n > 1 AND (n - 1) %% %s = 0 ORDER BY certno",
            [year, max(1, size)],
        )
        return [row[0] for row in cursor.fetchall()]


def settlement_exists_sql(setl_id_column: str) -> str:
    """SQL `EXISTS (…)`: a settlement carries the settlement ID in `setl_id_column` (the
    claims burden SQL asks this of its bills; §7: the settlement already counts them)."""
    return settlement_keys.exists_sql(setl_id_column)


def settlement_by_setl_id(setl_id: str) -> Settlement | None:
    """The settlement with that platform settlement ID (结算ID on the slip), or None."""
    return Settlement.objects.by_setl_id((setl_id or "").strip()).first()


def settlements_behind(alert: Alert) -> QuerySet[Settlement]:
    """The settlements that make up a high-cost alert's burden (§7: what raised it)."""
    end = date.fromisoformat(alert.evidence.get("period_end", f"{alert.year}-12-31"))
    return settlements_for(alert.certno, alert.year).filter(enddate__lte=end)


def manual_bills_behind(alert: Alert) -> list:
    """The manual bills counted in a high-cost alert's burden, in date order (§7).

    The rows of `checks.high_cost.manual_bill_burden_sql`: bills of applications under way or
    decided, of the alert's year, up to its period end. Each gets `burden`, its part: the cost
    after insurance (unless an imported settlement already counts it) less the assistance
    approved on it.
    """
    from django.db.models.functions import Coalesce

    from claims.models import Application, Bill

    end = date.fromisoformat(alert.evidence.get("period_end", f"{alert.year}-12-31"))
    counted = [Application.Status.SUBMITTED, *Application.DECIDED_STATUSES]
    bills = list(
        Bill.objects.filter(
            application__person__id_number=alert.certno,
            application__status__in=counted,
            year=alert.year,
            active=True,
        )
        .alias(end=Coalesce("discharged", "service_date"))
        .filter(end__lte=end)
        .select_related("application", "institution")
        .order_by("end", "id")
    )
    setl_ids = [b.setl_id for b in bills if b.setl_id]
    settled = set(
        SettlementKey.objects.filter(setl_id__in=setl_ids).values_list("setl_id", flat=True)
    )
    for bill in bills:
        decided = bill.application.status in Application.DECIDED_STATUSES
        bill.approved = bill.total if decided else Decimal("0")
        unpaid = Decimal("0") if bill.setl_id in settled else bill.total_cost - bill.insurance_paid
        bill.burden = unpaid - bill.approved
    return bills


# --- Alerts --------------------------------------------------------------------------------


class _IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class _FilterForm(forms.Form):
    """Bootstrap's small controls on every filter (the queue's filter bar)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            small = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else None
            field.widget.attrs.setdefault("class", small or "form-control form-control-sm")


class AlertFilter(django_filters.FilterSet):
    """The alert queue's filters; without a status it shows open and in-progress alerts."""

    kind = django_filters.ChoiceFilter(
        label=gettext_lazy("类型"), choices=Alert.Kind.choices, empty_label=gettext_lazy("全部类型")
    )
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("状态"),
        method="filter_status",
        choices=[
            ("active", gettext_lazy("待处理和处理中")),
            ("all", gettext_lazy("全部状态")),
            *Alert.Status.choices,
        ],
        empty_label=None,
    )
    assignee = django_filters.ChoiceFilter(
        label=gettext_lazy("经办人"),
        method="filter_assignee",
        choices=[],
        empty_label=gettext_lazy("全部"),
    )
    year = _IntegerFilter(label=gettext_lazy("年度"), min_value=2000, max_value=2100)
    watch = django_filters.ChoiceFilter(
        label=gettext_lazy("监测类型"),
        choices=Alert.Watch.choices,
        empty_label=gettext_lazy("全部"),
    )
    q = django_filters.CharFilter(
        label=gettext_lazy("姓名或证件号码"), method="filter_q", max_length=50
    )
    # The regional dashboard's links: one area's alerts (§8); a hidden field of the form.
    region = django_filters.CharFilter(
        method="filter_region", max_length=12, widget=forms.HiddenInput
    )

    class Meta:
        model = Alert
        fields = ["kind", "status", "assignee", "year", "watch", "q", "region"]
        form = _FilterForm

    def __init__(self, data=None, *args, user=None, assignees=(), **kwargs):
        data = data.copy() if data is not None else {}
        data.setdefault("status", "active")
        self.user = user
        queryset = scoped(Alert.objects.select_related("region", "assignee", "person"), user)
        super().__init__(data, *args, queryset=queryset.order_by("-updated_at", "-id"), **kwargs)
        self.filters["assignee"].extra["choices"] = [
            ("me", _("我的")),
            ("none", _("未指派")),
            *[(str(u.pk), u.get_full_name()) for u in assignees],
        ]

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.filter(status__in=Alert.ACTIVE)
        return queryset if value == "all" else queryset.filter(status=value)

    def filter_assignee(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee=self.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        return queryset.filter(assignee_id=int(value))

    def filter_region(self, queryset, name, value):
        region = Region.objects.filter(code=value).first()
        if region is None:
            return queryset
        return queryset.filter(region__code__startswith=region.prefix)

    def filter_q(self, queryset, name, value):
        q = value.strip()
        if not q:
            return queryset
        return queryset.filter(Q(name__contains=q) | Q(certno=idnumber.normalize(q)))

    @property
    def qs(self):
        if self.is_bound and not self.is_valid():
            return self.queryset.filter(status__in=Alert.ACTIVE)  # a bad filter: the default
        return super().qs


def alert_queue(user, params, assignees=()) -> QuerySet[Alert]:
    """The user's region's alerts, filtered by kind, status, assignee, year, text."""
    return AlertFilter(params, user=user, assignees=assignees).qs


def alerts_for_export(*, kind: str, year: int, region=None, base: QuerySet | None = None):
    """Open and in-progress alerts of a kind and year, sorted by certno (§9.4)."""
    alerts = (base if base is not None else Alert.objects.all()).filter(
        kind=kind, year=year, status__in=Alert.ACTIVE
    )
    if region is not None:
        alerts = alerts.filter(region__code__startswith=region.prefix)
    return alerts.select_related("assignee").order_by("certno", "subject", "id")


def alert_export_header(*, display: bool = False) -> list[str]:
    """The header of `alert_export_rows`: §9.4's column names, or the workbook's labels."""
    if not display:
        return list(EXPORT_COLUMNS)
    return [
        _("证件号码"),
        _("姓名"),
        _("年度"),
        _("类型"),
        _("监测类型"),
        _("个人负担"),
        _("监测线"),
        _("状态"),
        _("区划"),
        _("期间"),
        _("对象"),
        _("金额"),
        _("经办人"),
        _("说明"),
        _("机构编码"),
        _("月份"),
    ]


def alert_export_row(alert: Alert, *, full_id: bool, display: bool = False) -> list:
    """One alert as an export row, the one place its columns are built.

    Plain (the `export_alerts` CSV, §9.4, exactly): `EXPORT_COLUMNS`, codes as stored, amounts
    as `0.00` text. `display` (the queue's Excel workbook): the alert's kind added after the
    year, labels instead of codes, the region's name, amounts as numbers.
    The ID number is masked unless `full_id`.
    """

    def amount(value):
        return value if display else ("" if value is None else f"{value:.2f}")

    row = [alert.certno if full_id else idnumber.mask(alert.certno), alert.name, alert.year]
    if display:
        row.append(alert.get_kind_display())
    row += [
        alert.get_watch_display() if display else alert.watch,
        amount(alert.burden),
        amount(alert.threshold),
        alert.get_status_display() if display else alert.status,
        alert.region.name if display else alert.region_id,
        alert.period,
        alert.subject,
        amount(alert.amount),
        alert.assignee.get_full_name() if alert.assignee else "",
        alert.message,
    ]
    if display:  # the out-of-catalog alert's institution and month in their own columns
        row += [alert.institution_code, alert.month]
    return row


def alert_export_rows(alerts, *, full_id: bool, display: bool = False):
    """`alert_export_row` of each alert, read in chunks."""
    for alert in alerts.iterator(chunk_size=2000):
        yield alert_export_row(alert, full_id=full_id, display=display)


def runs_for(user) -> QuerySet[CheckRun]:
    """Runs the user may see: everything for regional users, else their area and the whole."""
    runs = CheckRun.objects.select_related("started_by")
    region = user.region
    if user.is_superuser or region is None or region.level == region.Level.PROVINCE:
        return runs
    return runs.filter(
        Q(area="") | Q(area__startswith=region.prefix) | Q(area__in=_ancestors(region))
    )


def _ancestors(region) -> list[str]:
    codes = []
    while region is not None:
        codes.append(region.code)
        region = region.parent
    return codes


def imports_for(user) -> QuerySet[SettlementImport]:
    """Uploads of the user's region, and extracts imported from the shell (no region)."""
    imports = SettlementImport.objects.select_related("created_by")
    codes = user_region_codes(user)
    if codes is None:
        return imports
    return imports.filter(Q(region__isnull=True) | Q(region_id__in=codes))


def dashboard_context(user) -> dict:
    """Open alerts by kind and a 12-month trend of new alerts, for the dashboard card."""
    alerts = scoped(Alert.objects.all(), user)
    by_kind = dict(
        alerts.filter(status__in=Alert.ACTIVE)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    open_by_kind = [
        {"kind": kind, "label": label, "count": by_kind.get(kind, 0)}
        for kind, label in Alert.Kind.choices
    ]
    today = shanghai_today()
    first = (today.replace(day=1) - timedelta(days=335)).replace(day=1)
    months = {
        row["month"].strftime("%Y-%m"): row["n"]
        for row in alerts.filter(created_at__date__gte=first)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("id"))
        if row["month"]
    }
    trend = []
    cursor = first
    while cursor <= today:
        key = cursor.strftime("%Y-%m")
        trend.append({"month": key, "count": months.get(key, 0)})
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    peak = max((m["count"] for m in trend), default=0) or 1
    for m in trend:
        m["height"] = int(m["count"] * 100 / peak)
    return {
        "monitoring_open_by_kind": open_by_kind,
        "monitoring_open_total": sum(by_kind.values()),
        "monitoring_trend": trend,
    }


def settlements_by_setl_ids(setl_ids) -> QuerySet[Settlement]:
    return Settlement.objects.by_setl_ids(setl_ids).order_by("enddate", "setl_id")


def person_panel(person, user) -> dict | None:
    """The person page's monitoring section: their alerts and settlements by year."""
    if not user.has_perm("monitoring.view_alert"):
        return None
    alerts = list(
        scoped(Alert.objects.filter(certno=person.id_number), user).order_by("-year", "-id")[:20]
    )
    years = list(
        Settlement.objects.filter(certno=person.id_number)
        .values("year")
        .annotate(n=Count("id"), burden=Sum("psn_part_amt"), assistance=Sum("maf_pay"))
        .order_by("-year")
    )
    if not alerts and not years:
        return None
    return {"template": "monitoring/_person_panel.html", "alerts": alerts, "years": years}
