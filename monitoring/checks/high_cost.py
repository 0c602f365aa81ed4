"""High-cost expense alerts: the dual early warning (因病致贫/因病返贫, R(九), W 四(一), P §8).

DOMAIN §7: a person's yearly burden = Σ psn_part_amt of their settlements of the year
(reversals included) + the manual-reimbursement part (`claims.interface.manual_burden_sql`).
With R the prior-year rural income of the policy of the person's coordination area:
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

from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import Identity, Person
from claims.interface import person_ids_with_application_changes
from core.audit import audit_event
from core.choices import Category
from core.models import AuditEvent, Policy
from core.money import format_money
from monitoring.alerting import Finding, reopens_when_burden_grew, sync_findings
from monitoring.checks import CheckContext, register
from monitoring.checks.burden import POVERTY_RETURN, area_rows_read, rows_read
from monitoring.models import Alert, HighCostScanState, Settlement
from monitoring.scan_chunks import chunked_scan_burdens  # by person range over the workers

EXCLUDED = {Category.DESTITUTE, Category.SUBSISTENCE}
LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class WatchLines:
    """The watch lines of one coordination area's policy (R, R × 100%, R × 50%)."""

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


def policy_lines(period, used: set | None = None) -> dict[str, WatchLines]:
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
        area: WatchLines(p.rural_income, p.impoverishment_line, p.poverty_return_line)
        for area, p in chosen.items()
    }


def _in_force(policy: Policy, day: date) -> bool:
    return policy.valid_from <= day and (policy.valid_to is None or policy.valid_to >= day)


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
    ids |= person_ids_with_application_changes(state.scanned_at)
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


def findings_for(ctx: CheckContext, candidates, lines: dict[str, WatchLines], reference: date):
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
        _audit_rescan(ctx, state, figures)
    ctx.run.mode = "incremental" if incremental else "full"
    if not lines:
        # No policy to measure against: nobody alerts, but the rows were still read (§9.4).
        ctx.run.rows_scanned = _rows_read_by_run(ctx)
        ctx.save_progress()
        return
    touched_after = state.last_settlement_id if incremental else None
    touched_certnos = _touched_certnos(state, reference) if incremental else set()

    candidates, scanned = chunked_scan_burdens(
        ctx,
        watermark=watermark,
        year=period.year,
        period_end=period.end,
        # Lowest lines over the areas, less a yuan: a superset; the exact test is in Python.
        floor=min(v.impoverishment for v in lines.values()) - 1,
        pr_floor=min(v.poverty_return for v in lines.values()) - 1,
        reference=reference,
        touched_after=touched_after,
        touched_certnos=touched_certnos,
    )
    if ctx.area_prefix:
        # The scan reads the year for everyone and keeps the area's persons; the count is
        # of the rows of those persons (§9.4: `--area` limits the run to them).
        scanned = _rows_read_by_run(ctx, touched_after, touched_certnos)
    ctx.run.rows_scanned = scanned
    ctx.save_progress()
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


def _audit_rescan(ctx: CheckContext, state: HighCostScanState, figures: dict) -> None:
    """A change of the policy's income figure or lines: every person is measured again."""
    audit_event(
        by=ctx.by if getattr(ctx.by, "pk", None) else None,
        action=AuditEvent.Action.POLICY_RESCAN,
        check="high_cost",
        year=ctx.period.year,
        before=state.figures,
        after=figures,
    )


def _touched_certnos(state: HighCostScanState, reference: date) -> set[str]:
    """ID numbers of the persons an incremental scan must measure again (beyond new rows)."""
    person_ids = _identity_touched_person_ids(state, reference)
    return set(Person.objects.filter(pk__in=person_ids).values_list("id_number", flat=True))


def _rows_read_by_run(ctx: CheckContext, touched_after=None, touched_certnos=()) -> int:
    """The rows the run counts as read: the area's persons' when limited to an area."""
    period = ctx.period
    if not ctx.area_prefix:
        return rows_read(period.year, period.end)
    return area_rows_read(
        ctx.area_prefix,
        period.year,
        period.end,
        touched_after=touched_after,
        touched_certnos=touched_certnos,
    )


def _area_scope(ctx: CheckContext) -> Q:
    prefix = ctx.area_prefix
    return Q(region__code__startswith=prefix) if prefix else Q()
