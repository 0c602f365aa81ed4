"""High-cost expense alerts: the dual early warning (因病致贫/因病返贫, R(九), W 四(一), P §8).

DOMAIN §7: a person's yearly burden = Σ psn_part_amt of their settlements of the year
(reversals included) + the manual-reimbursement part (`manual_bill_burden_sql`). With R the
prior-year rural income of the policy of the person's coordination area:
- holders of `poverty_risk` or `near_subsistence` are on the poverty-return watch, line R × 50%;
- every other insured person not holding `destitute` or `subsistence` is on the
  impoverishment watch, line R × 100%;
lines rounded half-up to 0.01, a burden alerts when strictly greater. Categories are those
held on the reference date (§9.4: start ≤ day ≤ coverage end).

The burden is one set-based `GROUP BY certno` over the year's rows that returns only the
persons who may alert (burden above the lowest line, or an alert still open), so the scan costs
about what the bare aggregate costs. A scan is incremental when it can be: only persons touched
since the last scan of the year (new settlements by primary key, identity changes, identities
starting or ending between the two reference dates) are rescanned; a change of the policy
figures or of the period end makes it a full rescan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.apps import apps
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import Identity, Person
from core.audit import audit_event
from core.choices import Category
from core.models import AuditEvent, Policy
from core.money import format_money, money
from monitoring.alerting import Finding, reopens_when_burden_grew, sync_findings
from monitoring.checks import CheckContext, register
from monitoring.models import Alert, HighCostScanState, Settlement

EXCLUDED = {Category.DESTITUTE, Category.SUBSISTENCE}
POVERTY_RETURN = {Category.POVERTY_RISK, Category.NEAR_SUBSISTENCE}
LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class Lines:
    rural_income: Decimal
    impoverishment: Decimal
    poverty_return: Decimal

    @property
    def figures(self) -> list[str]:
        return [str(self.rural_income), str(self.impoverishment), str(self.poverty_return)]


def coordination_area_code(region_code: str | None) -> str | None:
    """The city (盟市) code of a region code; None for a province-level code."""
    if not region_code or len(region_code) != 6 or region_code.endswith("0000"):
        return None
    return region_code[:4] + "00"


def policy_lines(period, used: set | None = None) -> dict[str, Lines]:
    """Watch lines per coordination area: the policy in force on the reference date, or else
    the latest one in force during the period's year. The ids of the chosen policies are
    added to `used` (the run keeps them)."""
    reference = period.reference_date()
    chosen: dict[str, Policy] = {}
    policies = (
        Policy.objects.filter(valid_from__lte=period.end)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=date(period.year, 1, 1)))
        .order_by("area_id", "valid_from")
    )
    for policy in policies:
        current = chosen.get(policy.area_id)
        in_force = policy.valid_from <= reference and (
            policy.valid_to is None or policy.valid_to >= reference
        )
        if current is None or in_force or not _in_force(current, reference):
            chosen[policy.area_id] = policy
    if used is not None:
        used.update(p.pk for p in chosen.values())
    return {
        area: Lines(p.rural_income, p.impoverishment_line, p.poverty_return_line)
        for area, p in chosen.items()
    }


def _in_force(policy: Policy, day: date) -> bool:
    return policy.valid_from <= day and (policy.valid_to is None or policy.valid_to >= day)


def manual_bill_burden_sql(year: int, period_end: date) -> tuple[str, list] | None:
    """Rows (certno, amount) of the manual-reimbursement part of the burden (§7).

    Σ (total cost − basic paid − critical-illness paid) of manual bills with no settlement
    record − Σ assistance approved by manual reimbursement for bills of the year. Returns None
    while the claims app has no bill model: the burden is then the settlements alone.
    """
    try:
        apps.get_model("claims", "Bill")
    except LookupError:
        return None
    return _claims_bill_sql(year, period_end)


def _claims_bill_sql(year: int, period_end: date) -> tuple[str, list] | None:
    """Per bill of an application under way or decided (not a draft, not rejected): its cost
    after basic and critical-illness insurance when no imported settlement carries its
    settlement ID (else the settlement already counts it) and it is no top-up (补发) of a
    partly paid record (the record counts the cost), less the assistance approved on it
    (approved or paid applications). A bill belongs to the year of its discharge/service date."""
    Application = apps.get_model("claims", "Application")
    counted = [Application.Status.SUBMITTED, *Application.DECIDED_STATUSES]
    decided = list(Application.DECIDED_STATUSES)
    sql = (
        "SELECT p.id_number AS certno, "
        "(CASE WHEN b.topup_of = '' AND (b.setl_id = '' OR NOT EXISTS "
        "(SELECT 1 FROM monitoring_settlement s WHERE s.setl_id = b.setl_id)) "
        "THEN b.total_cost - b.basic_insurance_paid - b.critical_illness_paid ELSE 0 END) "
        f"- (CASE WHEN a.status IN ({', '.join(['%s'] * len(decided))}) THEN b.total ELSE 0 END) "
        "AS amount "
        "FROM claims_bill b JOIN claims_application a ON a.id = b.application_id "
        "JOIN beneficiaries_person p ON p.id = a.person_id "
        f"WHERE b.active AND a.status IN ({', '.join(['%s'] * len(counted))}) "
        "AND b.year = %s AND COALESCE(b.discharged, b.service_date) <= %s"
    )
    return sql, [*decided, *counted, year, period_end]


def _watermark() -> int:
    """The highest settlement id every later scan can start after."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Waits for imports still writing, so no lower id can commit after we read.
            cursor.execute("LOCK TABLE monitoring_settlement IN SHARE MODE")
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM monitoring_settlement")
        return cursor.fetchone()[0]


def _identity_touched_person_ids(state: HighCostScanState, reference: date) -> set[int]:
    """Persons whose categories on the reference date may differ from the last scan's."""
    history = Identity.history.model.objects.filter(history_date__gte=state.scanned_at)
    ids = set(history.values_list("person_id", flat=True))
    # Manual reimbursements submitted, decided or paid since (their bills change the burden).
    try:
        Application = apps.get_model("claims", "Application")
    except LookupError:
        Application = None
    if Application is not None and hasattr(Application, "history"):
        changed = Application.history.model.objects.filter(history_date__gte=state.scanned_at)
        ids |= set(changed.values_list("person_id", flat=True))
    old, new = state.reference_date, reference
    if new != old:
        low, high = min(old, new), max(old, new)
        started = Identity.objects.filter(start__gt=low, start__lte=high)
        # Coverage ends with the month of `end` (P §15): a holding changes between the dates
        # when `end` falls in a month from the older date's month up to before the newer one's.
        ended = Identity.objects.filter(end__gte=low.replace(day=1), end__lt=high.replace(day=1))
        ids |= set(started.values_list("person_id", flat=True))
        ids |= set(ended.values_list("person_id", flat=True))
    return ids


def _touched(year, touched_after, touched_certnos) -> tuple[str, list]:
    """SQL condition on `certno` for an incremental run: persons with settlements after the
    watermark, or otherwise touched; ("", []) for a full run."""
    if touched_after is None:
        return "", []
    parts = ["certno IN (SELECT certno FROM monitoring_settlement WHERE id > %s AND year = %s)"]
    params: list = [touched_after, year]
    if touched_certnos:
        parts.append(f"certno IN ({', '.join(['%s'] * len(touched_certnos))})")
        params += sorted(touched_certnos)
    return "(" + " OR ".join(parts) + ")", params


def _burden_sql(
    ctx, *, year, period_end, floor, pr_floor, reference, touched_after, touched_certnos
):
    """SQL returning (certno, burden, rows) for persons who may alert, plus the row total.

    Only persons above the lowest impoverishment line, holders of a poverty-return category
    above the lowest poverty-return line, and persons with an alert still open come back: the
    aggregate costs what the bare GROUP BY costs, and Python sees only the few who matter.
    """
    where = ["year = %s", "enddate <= %s"]
    params: list = [year, period_end]
    touched_clause, touched_params = _touched(year, touched_after, touched_certnos)
    if touched_clause:
        where.append(touched_clause)
        params += touched_params
    rows = (
        "SELECT certno, psn_part_amt AS amount FROM monitoring_settlement "
        f"WHERE {' AND '.join(where)}"
    )
    bills = manual_bill_burden_sql(year, period_end)
    if bills is not None:
        bill_rows = f"SELECT certno, amount FROM ({bills[0]}) AS bills"
        if touched_clause:
            bill_rows += f" WHERE {touched_clause}"
        rows += f" UNION ALL {bill_rows}"
        params += [*bills[1], *touched_params]
    open_alerts = (
        "SELECT certno FROM monitoring_alert WHERE kind = 'high_cost' AND year = %s "
        "AND status IN ('open', 'in_progress')"
    )
    # Holders of a poverty-return category on the reference date (start ≤ day ≤ coverage end).
    watched = (
        "SELECT p.id_number FROM beneficiaries_person p JOIN beneficiaries_identity i "
        "ON i.person_id = p.id WHERE i.category IN ('poverty_risk', 'near_subsistence') "
        "AND i.start <= %s AND (i.end IS NULL OR i.end >= %s)"
    )
    having_params = [reference, reference.replace(day=1), year]
    if connection.vendor == "postgresql":
        sql = (
            f"SELECT certno, SUM(amount), COUNT(*), GROUPING(certno) FROM ({rows}) AS r "
            "GROUP BY GROUPING SETS ((certno), ()) "
            "HAVING GROUPING(certno) = 1 OR SUM(amount) > %s "
            f"OR (SUM(amount) > %s AND certno IN ({watched})) OR certno IN ({open_alerts})"
        )
        return sql, [*params, floor, pr_floor, *having_params]
    sql = (
        f"SELECT certno, SUM(amount), COUNT(*), 0 FROM ({rows}) AS r GROUP BY certno "
        f"HAVING SUM(amount) > %s OR (SUM(amount) > %s AND certno IN ({watched})) "
        f"OR certno IN ({open_alerts})"
    )
    total = (f"SELECT NULL, NULL, COUNT(*), 1 FROM ({rows}) AS t", list(params))
    # SQLite sums NUMERIC as floats: compare with float floors; the exact test is in Python.
    return sql, [*params, float(floor), float(pr_floor), *having_params], total


def _incremental_sql_pg(
    *, year, period_end, floor, pr_floor, reference, touched_after, touched_certnos
):
    """PostgreSQL, incremental: the burden of each touched person by index probes on
    (year, certno) — the cost follows the persons touched, not the size of the table.

    Rows: (certno, burden, rows, total rows read, is_candidate); the first row always comes
    back so the total is known even when nobody may alert.
    """
    touched = "SELECT certno FROM monitoring_settlement WHERE id > %s AND year = %s"
    params: list = [touched_after, year]
    if touched_certnos:
        touched += " UNION SELECT unnest(%s::varchar[])"
        params.append(sorted(touched_certnos))
    settled = (
        "SELECT COALESCE(SUM(psn_part_amt), 0) AS amount, COUNT(*) AS n "
        "FROM monitoring_settlement s WHERE s.year = %s AND s.certno = t.certno "
        "AND s.enddate <= %s"
    )
    lateral_params: list = [year, period_end]
    bills = manual_bill_burden_sql(year, period_end)
    if bills is not None:
        billed = (
            "SELECT COALESCE(SUM(amount), 0) AS amount, COUNT(*) AS n "
            f"FROM ({bills[0]}) AS b WHERE b.certno = t.certno"
        )
        bill_params = list(bills[1])
    else:
        billed, bill_params = "SELECT 0 AS amount, 0 AS n", []
    watched = (
        "SELECT p.id_number FROM beneficiaries_person p JOIN beneficiaries_identity i "
        "ON i.person_id = p.id WHERE i.category IN ('poverty_risk', 'near_subsistence') "
        "AND i.start <= %s AND (i.end IS NULL OR i.end >= %s)"
    )
    open_alerts = (
        "SELECT certno FROM monitoring_alert WHERE kind = 'high_cost' AND year = %s "
        "AND status IN ('open', 'in_progress')"
    )
    sql = (
        "SELECT certno, burden, n, total, candidate FROM ("
        "SELECT certno, burden, n, SUM(n) OVER () AS total, ROW_NUMBER() OVER () AS rn, "
        f"(burden > %s OR (burden > %s AND certno IN ({watched})) "
        f"OR certno IN ({open_alerts})) AS candidate FROM ("
        "SELECT t.certno, s.amount + b.amount AS burden, s.n + b.n AS n "
        f"FROM ({touched}) AS t CROSS JOIN LATERAL ({settled}) AS s "
        f"CROSS JOIN LATERAL ({billed}) AS b) AS x) AS y WHERE rn = 1 OR candidate"
    )
    outer = [floor, pr_floor, reference, reference.replace(day=1), year]
    return sql, [*outer, *params, *lateral_params, *bill_params]


def rows_read(year: int, period_end: date) -> int:
    """The settlement rows and bills of the year up to `period_end` (a scan's rows)."""
    sql = "SELECT COUNT(*) FROM monitoring_settlement WHERE year = %s AND enddate <= %s"
    params: list = [year, period_end]
    bills = manual_bill_burden_sql(year, period_end)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total = cursor.fetchone()[0]
        if bills is not None:
            cursor.execute(f"SELECT COUNT(*) FROM ({bills[0]}) AS bills", bills[1])
            total += cursor.fetchone()[0]
    return int(total)


def area_rows_read(
    prefix: str, year: int, period_end: date, *, touched_after=None, touched_certnos=()
) -> int:
    """The rows a run limited to an area reads for its persons (§9.4 `--area`): the
    settlements and bills, up to `period_end`, of the persons whose region is in the subtree
    `prefix` — the registered region, else the settlements' `insu_admdvs` (§7). An incremental
    run counts only the persons it re-read."""
    touched, touched_params = _touched(year, touched_after, touched_certnos)
    where = ["year = %s", "enddate <= %s", *([touched] if touched else [])]
    rows = (
        "SELECT certno, insu_admdvs AS admdvs FROM monitoring_settlement "
        f"WHERE {' AND '.join(where)}"
    )
    params: list = [year, period_end, *touched_params]
    bills = manual_bill_burden_sql(year, period_end)
    if bills is not None:
        rows += f" UNION ALL SELECT certno, NULL FROM ({bills[0]}) AS b"
        rows += f" WHERE {touched}" if touched else ""
        params += [*bills[1], *touched_params]
    sql = (
        "SELECT COALESCE(SUM(r.n), 0) FROM (SELECT certno, COUNT(*) AS n, MAX(admdvs) AS admdvs "
        f"FROM ({rows}) AS x GROUP BY certno) AS r "
        "LEFT JOIN beneficiaries_person p ON p.id_number = r.certno "
        "WHERE COALESCE(p.region_id, r.admdvs) LIKE %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, f"{prefix}%"])
        return int(cursor.fetchone()[0])


def scan_burdens(ctx, **kwargs) -> tuple[dict[str, tuple[Decimal, int]], int]:
    """{certno: (burden, rows)} of the candidates, and the number of rows read."""
    candidates: dict[str, tuple[Decimal, int]] = {}
    scanned = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One hash of every person of the year: give it memory rather than spill to disk.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            if kwargs.get("touched_after") is not None:
                cursor.execute(*_incremental_sql_pg(**kwargs))
                for certno, burden, rows, total, candidate in cursor.fetchall():
                    scanned = int(total or 0)
                    if candidate:
                        candidates[certno] = (money(str(burden)), rows)
                return candidates, scanned
        built = _burden_sql(ctx, **kwargs)
        cursor.execute(built[0], built[1])
        for certno, burden, rows, is_total in cursor.fetchall():
            if is_total:
                scanned = rows
            else:
                candidates[certno] = (money(str(burden)), rows)
        if len(built) == 3:
            cursor.execute(*built[2])
            scanned = cursor.fetchone()[2]
    return candidates, scanned


def _people(certnos: list[str], year: int, reference: date):
    """Person, settlement name/region/count and categories held, for the candidates."""
    persons: dict[str, dict] = {}
    from_settlements: dict[str, dict] = {}
    held: dict[int, set[str]] = {}
    for start in range(0, len(certnos), LOOKUP_CHUNK):
        chunk = certnos[start : start + LOOKUP_CHUNK]
        for row in Person.objects.filter(id_number__in=chunk).values(
            "id", "id_number", "name", "region_id"
        ):
            persons[row["id_number"]] = row
        for row in (
            Settlement.objects.filter(year=year, certno__in=chunk)
            .values("certno")
            .annotate(n=Count("id"), name=Max("psn_name"), admdvs=Max("insu_admdvs_id"))
        ):
            from_settlements[row["certno"]] = row
    person_ids = [p["id"] for p in persons.values()]
    for start in range(0, len(person_ids), LOOKUP_CHUNK):
        covering = Identity.objects.covering(reference).filter(
            person_id__in=person_ids[start : start + LOOKUP_CHUNK]
        )
        for person_id, category in covering.values_list("person_id", "category"):
            held.setdefault(person_id, set()).add(category)
    return persons, from_settlements, held


def findings_for(ctx: CheckContext, candidates, lines: dict[str, Lines], reference: date):
    certnos = sorted(candidates)
    persons, from_settlements, held = _people(certnos, ctx.period.year, reference)
    for certno in certnos:
        burden, rows = candidates[certno]
        person = persons.get(certno)
        settled = from_settlements.get(certno, {})
        region = person["region_id"] if person else settled.get("admdvs")
        if not ctx.in_area(region):
            continue
        area_lines = lines.get(coordination_area_code(region))
        if area_lines is None:
            continue  # no policy for the person's coordination area: nothing to measure against
        categories = held.get(person["id"], set()) if person else set()
        if categories & EXCLUDED:
            watch, threshold, alerting = "", None, False
        elif categories & POVERTY_RETURN:
            watch, threshold = Alert.Watch.POVERTY_RETURN, area_lines.poverty_return
            alerting = burden > threshold
        else:
            watch, threshold = Alert.Watch.IMPOVERISHMENT, area_lines.impoverishment
            alerting = burden > threshold
        settlements = settled.get("n", 0)
        yield Finding(
            certno=certno,
            alerting=alerting,
            name=(person["name"] if person else settled.get("name", "")) or "",
            person_id=person["id"] if person else None,
            region_id=region,
            watch=watch,
            burden=burden,
            threshold=threshold,
            message=(
                _("年度个人负担 %(burden)s 元，超过监测线 %(threshold)s 元")
                % {"burden": format_money(burden), "threshold": format_money(threshold)}
                if alerting
                else ""
            ),
            evidence={
                "settlements": settlements,
                "bills": max(0, rows - settlements),
                "reference_date": reference.isoformat(),
                "period_end": ctx.period.end.isoformat(),
                "rural_income": str(area_lines.rural_income),
                "categories": sorted(categories),
            },
        )


@register("high_cost")
def high_cost(ctx: CheckContext) -> None:
    period = ctx.period
    reference = period.reference_date()
    lines = policy_lines(period, used=ctx.policies_used)
    figures = {area: lines[area].figures for area in sorted(lines)}
    state = HighCostScanState.objects.filter(year=period.year, area=ctx.area).first()
    watermark = _watermark()

    incremental = (
        not ctx.options.get("full")
        and state is not None
        and state.figures == figures
        and state.period_end == period.end
    )
    if state is not None and state.figures != figures:
        # A change of the policy's income figure or lines: every person is measured again.
        audit_event(
            by=ctx.by if getattr(ctx.by, "pk", None) else None,
            action=AuditEvent.Action.POLICY_RESCAN,
            check="high_cost",
            year=period.year,
            before=state.figures,
            after=figures,
        )
    ctx.run.mode = "incremental" if incremental else "full"
    if not lines:
        # No policy to measure against: nobody alerts, but the rows were still read (§9.4).
        ctx.run.rows_scanned = (
            area_rows_read(ctx.area_prefix, period.year, period.end)
            if ctx.area_prefix
            else rows_read(period.year, period.end)
        )
        ctx.beat()
        return
    # Lowest lines over the areas, less a yuan: a superset; the exact test is in Python.
    floor = min(v.impoverishment for v in lines.values()) - 1
    pr_floor = min(v.poverty_return for v in lines.values()) - 1
    touched_certnos: set[str] = set()
    if incremental:
        person_ids = _identity_touched_person_ids(state, reference)
        touched_certnos = set(
            Person.objects.filter(pk__in=person_ids).values_list("id_number", flat=True)
        )
    candidates, scanned = scan_burdens(
        ctx,
        year=period.year,
        period_end=period.end,
        floor=floor,
        pr_floor=pr_floor,
        reference=reference,
        touched_after=state.last_settlement_id if incremental else None,
        touched_certnos=touched_certnos,
    )
    if ctx.area_prefix:
        # The scan reads the year for everyone and keeps the area's persons; the count is
        # of the rows of those persons (§9.4: `--area` limits the run to them).
        scanned = area_rows_read(
            ctx.area_prefix,
            period.year,
            period.end,
            touched_after=state.last_settlement_id if incremental else None,
            touched_certnos=touched_certnos,
        )
    ctx.run.rows_scanned = scanned
    ctx.beat()
    sync_findings(
        ctx,
        kind=Alert.Kind.HIGH_COST,
        year=period.year,
        findings=findings_for(ctx, candidates, lines, reference),
        reopens=reopens_when_burden_grew,
        close_missing=None if incremental else _area_scope(ctx),
    )
    HighCostScanState.objects.update_or_create(
        year=period.year,
        area=ctx.area,
        defaults={
            "period_end": period.end,
            "reference_date": reference,
            "last_settlement_id": watermark,
            "figures": figures,
            "scanned_at": ctx.run.started_at or timezone.now(),
        },
    )


def _area_scope(ctx: CheckContext) -> Q:
    prefix = ctx.area_prefix
    return Q(region__code__startswith=prefix) if prefix else Q()
