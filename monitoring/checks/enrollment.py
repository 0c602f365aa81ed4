"""The enrollment checks of DOMAIN §7 (P §7): uninsured beneficiaries, duplicate enrollments,
premium subsidies without a qualifying identity. The period is `YYYY` or `YYYY-MM` (the year;
categories held on the reference date of §9.4).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Count
from django.utils.translation import gettext as _

from beneficiaries.models import Enrollment, Identity, Subsidy
from core.choices import Category
from core.coverage import coverage_end, covers_day
from core.models import Policy
from core.money import money
from monitoring.alerting import Finding, sync_findings
from monitoring.check_chunks import per_person
from monitoring.checks import CheckContext
from monitoring.checks.scope import (
    CertnoRange,
    area_alerts,
    held_categories,
    persons_in_area,
    policy_for,
    range_q,
)
from monitoring.models import Alert

# --- Enrollment checks -------------------------------------------------------------------


@per_person("uninsured")
def uninsured(ctx: CheckContext, rng: CertnoRange) -> None:
    """漏保: a person holding an identity on the reference date with no enrollment for the year.

    The alert carries a subsidy proposal: what the policy pays for the highest-ranked category
    held (W 三(二): destitute in full, subsistence and poverty_risk the fixed amount).
    """
    year, day = ctx.period.year, ctx.reference_date()
    holders = (
        persons_in_area(ctx, rng)
        .filter(pk__in=Identity.objects.covering(day).values("person_id"))
        .exclude(pk__in=Enrollment.objects.filter(year=year).values("person_id"))
        .order_by("id_number")
    )
    persons = list(holders.values("id", "id_number", "name", "region_id"))
    ctx.run.rows_scanned = len(persons)
    held = held_categories([p["id"] for p in persons], day)
    policies: dict[str, Policy | None] = {}

    def findings():
        for p in persons:
            region = p["region_id"]
            if region not in policies:
                policies[region] = policy_for(region, day)
                ctx.use_policy(policies[region])
            policy = policies[region]
            proposal, basis = Decimal("0.00"), ""
            if policy is not None:
                rules = policy.category_rules()
                for category in policy.rank():
                    if category in held[p["id"]] and category in rules:
                        amount = rules[category].subsidy_for(policy.contribution_standard)
                        if amount > 0:
                            proposal, basis = money(amount), category
                            break
            categories = sorted(held[p["id"]])
            yield Finding(
                certno=p["id_number"],
                name=p["name"],
                person_id=p["id"],
                region_id=region,
                amount=proposal,
                message=(
                    _("持有救助身份但未登记 %(year)s 年度参保；建议资助参保 %(amount)s 元")
                    % {"year": year, "amount": proposal}
                    if proposal
                    else _("持有救助身份但未登记 %(year)s 年度参保") % {"year": year}
                ),
                evidence={
                    "reference_date": day.isoformat(),
                    "categories": categories,
                    "proposed_subsidy": str(proposal),
                    "subsidy_category": basis,
                    "detail": _("请联系本人参保；符合资助条件的纳入资助参保批次。"),
                },
            )

    sync_findings(
        ctx,
        kind=Alert.Kind.UNINSURED,
        year=year,
        findings=findings(),
        close_missing=area_alerts(ctx, rng=rng),
    )


def _enrollment_text(e: Enrollment) -> str:
    paid = e.paid_date.isoformat() if e.paid_date else "—"
    return f"#{e.pk} {e.get_scheme_display()} · {e.area.name} · {e.get_paid_how_display()} · {paid}"


@per_person("duplicate_enrollment")
def duplicate_enrollment(ctx: CheckContext, rng: CertnoRange) -> None:
    """多保/重复参保: more than one enrollment of a person in a year."""
    year = ctx.period.year
    duplicated = (
        Enrollment.objects.filter(year=year, person__in=persons_in_area(ctx, rng))
        .values("person_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    person_ids = [row["person_id"] for row in duplicated]
    enrollments = defaultdict(list)
    for e in (
        Enrollment.objects.filter(year=year, person_id__in=person_ids)
        .select_related("area", "person")
        .order_by("person__id_number", "id")
    ):
        enrollments[e.person_id].append(e)
    ctx.run.rows_scanned = Enrollment.objects.filter(
        range_q(rng, "person__id_number"), year=year
    ).count()

    def findings():
        for rows in sorted(enrollments.values(), key=lambda r: r[0].person.id_number):
            person = rows[0].person
            yield Finding(
                certno=person.id_number,
                name=person.name,
                person_id=person.pk,
                region_id=person.region_id,
                message=_("%(year)s 年度重复参保 %(n)s 次") % {"year": year, "n": len(rows)},
                evidence={"enrollments": [_enrollment_text(e) for e in rows]},
            )

    sync_findings(
        ctx,
        kind=Alert.Kind.DUPLICATE_ENROLLMENT,
        year=year,
        findings=findings(),
        close_missing=area_alerts(ctx, rng=rng),
    )


# Categories the enrollment subsidy may be paid for (W 三(二), R(三)).
SUBSIDISED = {Category.DESTITUTE, Category.SUBSISTENCE, Category.POVERTY_RISK}


@per_person("subsidy_without_identity")
def subsidy_without_identity(ctx: CheckContext, rng: CertnoRange) -> None:
    """A subsidy for a person holding no qualifying identity in the year, or to an
    employee-insurance enrollee (W 三(二): only resident-insurance contributions are subsidised)."""
    year = ctx.period.year
    subsidies = list(
        Subsidy.objects.filter(year=year, person__in=persons_in_area(ctx, rng))
        .select_related("person", "batch")
        .order_by("person__id_number")
    )
    ctx.run.rows_scanned = len(subsidies)
    person_ids = [s.person_id for s in subsidies]
    year_start, year_end = date(year, 1, 1), date(year, 12, 31)
    qualifying = defaultdict(list)
    for identity in Identity.objects.filter(
        person_id__in=person_ids, category__in=SUBSIDISED
    ).overlapping(date(year - 1, 1, 1), year_end):
        qualifying[identity.person_id].append(identity)
    employees = set(
        Enrollment.objects.filter(
            year=year, person_id__in=person_ids, scheme=Enrollment.Scheme.EMPLOYEE
        ).values_list("person_id", flat=True)
    )

    def findings():
        for subsidy in subsidies:
            held = [
                i
                for i in qualifying[subsidy.person_id]
                # Held in the year, or when the batch recognised it (recognised before paying).
                if (i.end is None or coverage_end(i.end) >= year_start)
                or covers_day(i, subsidy.batch.as_of)
            ]
            reasons = []
            if not held:
                reasons.append(_("无符合资助条件的救助身份"))
            if subsidy.person_id in employees:
                reasons.append(_("参加职工医保，不应资助居民医保缴费"))
            if not reasons:
                continue
            yield Finding(
                certno=subsidy.person.id_number,
                name=subsidy.person.name,
                person_id=subsidy.person_id,
                region_id=subsidy.person.region_id,
                amount=subsidy.amount,
                message="；".join(reasons),
                evidence={
                    "subsidy": subsidy.pk,
                    "batch": subsidy.batch_id,
                    "category": subsidy.category,
                    "detail": _("资助金额 %(amount)s 元（%(rule)s）")
                    % {"amount": subsidy.amount, "rule": subsidy.get_rule_display()},
                },
            )

    sync_findings(
        ctx,
        kind=Alert.Kind.SUBSIDY_WITHOUT_IDENTITY,
        year=year,
        findings=findings(),
        close_missing=area_alerts(ctx, rng=rng),
    )
