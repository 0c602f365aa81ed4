"""The monthly cross-checks of DOMAIN §7 (P §7, §21, §29).

Each check computes the complete set of current findings for its period and scope and hands
them to `sync_findings`, which creates, updates and — for conditions that are gone — closes
alerts, keyed by (kind, year, certno, subject) so a re-run never duplicates. A person's
dismissal stands; an alert closed automatically reopens when the condition recurs.

The period is `YYYY` (the whole year) or `YYYY-MM` (that month for the settlement-based checks;
the year for the enrollment checks, with categories held on the reference date of §9.4).
Manual-reimbursement bills come from the claims app (`_claims_model`): a bill naming a
settlement's ID is a claim for it; assistance approved for a bill no identity covers is an
overpayment like one paid at the counter.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from importlib import import_module

from django.apps import apps
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from beneficiaries.models import Enrollment, Identity, Person, RosterBatch, Subsidy
from beneficiaries.models import coverage_end as coverage_end_of
from core.choices import Category, VisitType
from core.models import Policy
from core.money import money
from monitoring.alerting import Finding, sync_findings
from monitoring.checks import CheckContext, register
from monitoring.checks.high_cost import coordination_area_code
from monitoring.models import Alert, Settlement

CHUNK = 1000


def _claims_model(name: str):
    """A model of the claims app (Bill, Application, Institution), or None without it."""
    try:
        return apps.get_model("claims", name)
    except LookupError:
        return None


def _scope(ctx: CheckContext, field: str = "region") -> Q:
    prefix = ctx.area_prefix
    return Q(**{f"{field}__code__startswith": prefix}) if prefix else Q()


def _persons_in_area(ctx: CheckContext):
    persons = Person.objects.all()
    prefix = ctx.area_prefix
    return persons.filter(region__code__startswith=prefix) if prefix else persons


def _month_range(ctx: CheckContext) -> tuple[date, date]:
    """Settlement-based checks look at the period's month, or the whole year."""
    return ctx.period.month_start, ctx.period.end


def _held_categories(person_ids, day: date) -> dict[int, set[str]]:
    held: dict[int, set[str]] = defaultdict(set)
    ids = list(person_ids)
    for start in range(0, len(ids), CHUNK):
        rows = Identity.objects.covering(day).filter(person_id__in=ids[start : start + CHUNK])
        for person_id, category in rows.values_list("person_id", "category"):
            held[person_id].add(category)
    return held


def _policy_for(region_code: str, day: date) -> Policy | None:
    area = coordination_area_code(region_code)
    return Policy.objects.in_force(area, day) if area else None


def _scope_alerts(ctx: CheckContext, q: Q | None = None) -> Q:
    scope = _scope(ctx)
    return scope & q if q is not None else scope


# --- Enrollment checks -------------------------------------------------------------------


@register("uninsured")
def uninsured(ctx: CheckContext) -> None:
    """漏保: a person holding an identity on the reference date with no enrollment for the year.

    The alert carries a subsidy proposal: what the policy pays for the highest-ranked category
    held (W 三(二): destitute in full, subsistence and poverty_risk the fixed amount).
    """
    year, day = ctx.period.year, ctx.period.reference_date()
    holders = (
        _persons_in_area(ctx)
        .filter(pk__in=Identity.objects.covering(day).values("person_id"))
        .exclude(pk__in=Enrollment.objects.filter(year=year).values("person_id"))
        .order_by("id_number")
    )
    persons = list(holders.values("id", "id_number", "name", "region_id"))
    ctx.run.rows_scanned = len(persons)
    held = _held_categories([p["id"] for p in persons], day)
    policies: dict[str, Policy | None] = {}

    def findings():
        for p in persons:
            region = p["region_id"]
            if region not in policies:
                policies[region] = _policy_for(region, day)
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
        close_missing=_scope_alerts(ctx),
    )


def _enrollment_text(e: Enrollment) -> str:
    paid = e.paid_date.isoformat() if e.paid_date else "—"
    return f"#{e.pk} {e.get_scheme_display()} · {e.area.name} · {e.get_paid_how_display()} · {paid}"


@register("duplicate_enrollment")
def duplicate_enrollment(ctx: CheckContext) -> None:
    """多保/重复参保: more than one enrollment of a person in a year."""
    year = ctx.period.year
    duplicated = (
        Enrollment.objects.filter(year=year, person__in=_persons_in_area(ctx))
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
    ctx.run.rows_scanned = Enrollment.objects.filter(year=year).count()

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
        close_missing=_scope_alerts(ctx),
    )


# Categories the enrollment subsidy may be paid for (W 三(二), R(三)).
SUBSIDISED = {Category.DESTITUTE, Category.SUBSISTENCE, Category.POVERTY_RISK}


@register("subsidy_without_identity")
def subsidy_without_identity(ctx: CheckContext) -> None:
    """A subsidy for a person holding no qualifying identity in the year, or to an
    employee-insurance enrollee (W 三(二): only resident-insurance contributions are subsidised)."""
    year = ctx.period.year
    subsidies = list(
        Subsidy.objects.filter(year=year, person__in=_persons_in_area(ctx))
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
                if (i.end is None or coverage_end_of(i.end) >= year_start)
                or (
                    i.start <= subsidy.batch.as_of and coverage_end_of(i.end) >= subsidy.batch.as_of
                )
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
        close_missing=_scope_alerts(ctx),
    )


# --- Settlement checks ---------------------------------------------------------------------


def covers(identity, visit_type: str, begndate: date, enddate: date) -> bool:
    """DOMAIN §3: whether an identity covers a settlement (inpatient stay or outpatient day)."""
    end = identity.end
    if visit_type == VisitType.INPATIENT:
        admitted, discharged = begndate, enddate
        if identity.start > discharged:
            return False
        if end is None or end > discharged:
            return True
        # An identity that ended before the stay still covers it inside its coverage month.
        return end < admitted and discharged <= coverage_end_of(end)
    return identity.start <= enddate and (end is None or enddate <= coverage_end_of(end))


def reversals_of(setl_ids):
    """The reversal rows naming these settlements, by the partial index of reversals."""
    return Settlement.objects.filter(refd_setl_flag=True, init_setl_id__in=setl_ids).values(
        "init_setl_id", "maf_pay", "medfee_sumamt", "psn_part_amt"
    )


def _standing_settlements(ctx: CheckContext, **filters):
    """Original (non-reversal) settlements of the period with their net amounts after reversals,
    for persons of the area (their Person region, else insu_admdvs)."""
    first, last = _month_range(ctx)
    rows = Settlement.objects.filter(
        year=ctx.period.year, enddate__gte=first, enddate__lte=last, refd_setl_flag=False, **filters
    ).order_by("certno", "enddate", "setl_id")
    originals = list(rows)
    ctx.run.rows_scanned += len(originals)
    reversals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    ids = [s.setl_id for s in originals]
    for start in range(0, len(ids), CHUNK):
        for r in reversals_of(ids[start : start + CHUNK]):
            net = reversals[r["init_setl_id"]]
            net["maf_pay"] += r["maf_pay"]
            net["medfee_sumamt"] += r["medfee_sumamt"]
            net["psn_part_amt"] += r["psn_part_amt"]
    return originals, reversals


def _persons_by_certno(certnos) -> dict[str, Person]:
    persons = {}
    certnos = sorted(set(certnos))
    for start in range(0, len(certnos), CHUNK):
        for p in Person.objects.filter(id_number__in=certnos[start : start + CHUNK]):
            persons[p.id_number] = p
    return persons


def _identities_of(person_ids) -> dict[int, list[Identity]]:
    identities = defaultdict(list)
    ids = list(person_ids)
    for start in range(0, len(ids), CHUNK):
        for i in Identity.objects.filter(person_id__in=ids[start : start + CHUNK]):
            identities[i.person_id].append(i)
    return identities


def _settlement_evidence(s: Settlement, **extra) -> dict:
    return {
        "setl_ids": [s.setl_id],
        "detail": f"{s.fixmedins_name} · {s.begndate:%Y-%m-%d}—{s.enddate:%Y-%m-%d} · "
        f"{s.get_visit_type_display()}",
        **extra,
    }


@register("benefit_after_coverage")
def benefit_after_coverage(ctx: CheckContext) -> None:
    """Assistance paid (at the counter, `maf_pay`) for a settlement no identity of the person
    covers — dated after the covering identity's coverage end (P §15): an overpayment to recover;
    and the same for assistance approved on a manual-reimbursement bill (claims app)."""
    originals, reversals = _standing_settlements(ctx, maf_pay__gt=0)
    persons = _persons_by_certno(s.certno for s in originals)
    identities = _identities_of(p.pk for p in persons.values())

    def findings():
        for s in originals:
            paid = s.maf_pay + reversals.get(s.setl_id, {}).get("maf_pay", Decimal(0))
            if paid <= 0:
                continue
            person = persons.get(s.certno)
            region = person.region_id if person else s.insu_admdvs_id
            if not ctx.in_area(region):
                continue
            held = identities.get(person.pk, []) if person else []
            if any(covers(i, s.visit_type, s.begndate, s.enddate) for i in held):
                continue
            ended = [i for i in held if i.end is not None and i.start <= s.enddate]
            if ended:
                last = max(ended, key=lambda i: i.end)
                message = _(
                    "身份（%(category)s）已于 %(end)s 终止，待遇至 %(coverage)s；"
                    "其后结算仍支付医疗救助 %(amount)s 元，应予追回"
                ) % {
                    "category": last.get_category_display(),
                    "end": last.end,
                    "coverage": coverage_end_of(last.end),
                    "amount": paid,
                }
            else:
                message = _("无救助身份覆盖该次结算，却支付医疗救助 %(amount)s 元，应予核查") % {
                    "amount": paid
                }
            yield Finding(
                certno=s.certno,
                subject=s.setl_id,
                name=person.name if person else s.psn_name,
                person_id=person.pk if person else None,
                region_id=region,
                amount=paid,
                message=message,
                evidence=_settlement_evidence(s),
            )

    def bill_findings():
        for bill in _paid_bills(ctx):
            person = bill.application.person
            if not ctx.in_area(person.region_id):
                continue
            held = list(person.identities.all())
            end = bill.discharged or bill.service_date
            begin = bill.admitted or end
            if any(covers(i, bill.visit_type, begin, end) for i in held):
                continue
            yield Finding(
                certno=person.id_number,
                subject=f"bill:{bill.pk}",
                name=person.name,
                person_id=person.pk,
                region_id=person.region_id,
                amount=bill.total,
                message=_(
                    "手工报销票据（%(invoice)s）就诊时无救助身份覆盖，已核准救助 %(amount)s 元，应予追回"
                )
                % {"invoice": bill.invoice_number, "amount": bill.total},
                evidence={
                    "bill": bill.pk,
                    "application": bill.application_id,
                    "detail": f"{bill.institution.name} · {begin:%Y-%m-%d}—{end:%Y-%m-%d} · "
                    f"{bill.get_visit_type_display()}",
                },
            )

    def all_findings():
        yield from findings()
        yield from bill_findings()

    sync_findings(
        ctx,
        kind=Alert.Kind.BENEFIT_AFTER_COVERAGE,
        year=ctx.period.year,
        findings=all_findings(),
        close_missing=_scope_alerts(ctx, Q(period=ctx.period.text)),
    )
    if _claims_model("RecoveryCase") is not None:  # a later alert links to its recovery case
        import_module("claims.recovery").link_benefit_alerts(year=ctx.period.year)


@register("missed_reimbursement")
def missed_reimbursement(ctx: CheckContext) -> None:
    """漏报销 (P §21 按月排查): a beneficiary's inpatient settlement covered by an identity, with
    no assistance paid at the counter and no manual claim — remind the person to apply."""
    originals, reversals = _standing_settlements(
        ctx,
        visit_type=VisitType.INPATIENT,
        maf_pay=0,
        certno__in=Person.objects.filter(identities__isnull=False).values("id_number"),
    )
    persons = _persons_by_certno(s.certno for s in originals)
    identities = _identities_of(p.pk for p in persons.values())
    claimed = _manually_claimed_setl_ids([s.setl_id for s in originals])

    def findings():
        for s in originals:
            net = reversals.get(s.setl_id, {})
            if s.medfee_sumamt + net.get("medfee_sumamt", Decimal(0)) <= 0:
                continue  # reversed in full
            if s.maf_pay + net.get("maf_pay", Decimal(0)) > 0 or s.setl_id in claimed:
                continue
            person = persons.get(s.certno)
            if person is None or not ctx.in_area(person.region_id):
                continue
            covering = [
                i for i in identities[person.pk] if covers(i, s.visit_type, s.begndate, s.enddate)
            ]
            if not covering:
                continue
            burden = s.psn_part_amt + net.get("psn_part_amt", Decimal(0))
            yield Finding(
                certno=s.certno,
                subject=s.setl_id,
                name=person.name,
                person_id=person.pk,
                region_id=person.region_id,
                amount=burden,
                message=_(
                    "住院结算未享受医疗救助（个人负担 %(amount)s 元），请联系本人申请手工报销"
                )
                % {"amount": burden},
                evidence=_settlement_evidence(s, categories=sorted({i.category for i in covering})),
            )

    sync_findings(
        ctx,
        kind=Alert.Kind.MISSED_REIMBURSEMENT,
        year=ctx.period.year,
        findings=findings(),
        close_missing=_scope_alerts(ctx, Q(period=ctx.period.text)),
    )


def _paid_bills(ctx: CheckContext):
    """Manual-reimbursement bills of the period with assistance approved (claims app)."""
    Bill = _claims_model("Bill")
    if Bill is None:
        return []
    first, last = _month_range(ctx)
    decided = Bill._meta.get_field("application").related_model.DECIDED_STATUSES
    bills = (
        Bill.objects.filter(active=True, total__gt=0, application__status__in=decided)
        .filter(
            Q(discharged__gte=first, discharged__lte=last)
            | Q(discharged__isnull=True, service_date__gte=first, service_date__lte=last)
        )
        .select_related("application__person", "institution")
        .prefetch_related("application__person__identities")
        .order_by("application__person__id_number", "id")
    )
    ctx.run.rows_scanned += bills.count()
    return bills


def _manually_claimed_setl_ids(setl_ids) -> set[str]:
    """Settlement IDs that a manual-reimbursement bill (of an application not rejected) names
    by the settlement ID on its slip: the person has claimed, no reminder is due."""
    Bill = _claims_model("Bill")
    if Bill is None:
        return set()
    claimed: set[str] = set()
    ids = list(setl_ids)
    for start in range(0, len(ids), CHUNK):
        claimed |= set(
            Bill.objects.filter(active=True, setl_id__in=ids[start : start + CHUNK]).values_list(
                "setl_id", flat=True
            )
        )
    return claimed


@register("out_of_catalog")
def out_of_catalog(ctx: CheckContext) -> None:
    """P §29 / R(十五): out-of-catalog cost share of an institution in a month above the limit
    of its level (level 2: 5%, level 3: 10%, from the policy of its coordination area)."""
    first, last = _month_range(ctx)
    Institution = _claims_model("Institution")
    if Institution is None:
        return  # no institution register yet: levels unknown
    institutions = {i.code: i for i in Institution.objects.all()}
    totals = (
        Settlement.objects.filter(year=ctx.period.year, enddate__gte=first, enddate__lte=last)
        .values("fixmedins_code", "enddate__year", "enddate__month")
        .annotate(medfee=Sum("medfee_sumamt"), ownpay=Sum("fulamt_ownpay_amt"), n=Count("id"))
        .order_by("fixmedins_code", "enddate__month")
    )
    ctx.run.rows_scanned = 0

    def findings():
        for row in totals:
            ctx.run.rows_scanned += row["n"]
            institution = institutions.get(row["fixmedins_code"])
            if institution is None or not ctx.in_area(institution.admdvs):
                continue
            month = date(row["enddate__year"], row["enddate__month"], 1)
            policy = _policy_for(institution.admdvs, month)
            if policy is None:
                continue
            ctx.use_policy(policy)
            limit = {
                2: policy.out_of_catalog_limit_level2,
                3: policy.out_of_catalog_limit_level3,
            }.get(institution.level)
            medfee, ownpay = Decimal(str(row["medfee"] or 0)), Decimal(str(row["ownpay"] or 0))
            if limit is None or medfee <= 0:
                continue
            ratio = ownpay / medfee
            yield Finding(
                certno="",
                subject=f"{institution.code}:{month:%Y-%m}",
                alerting=ratio > limit,
                name=institution.name,
                region_id=institution.admdvs,
                amount=money(ownpay),
                threshold=money(medfee * limit),
                message=_("%(month)s 目录外费用占比 %(ratio)s%%，超过%(level)s机构上限 %(limit)s%%")
                % {
                    "month": f"{month:%Y-%m}",
                    "ratio": f"{ratio * 100:.2f}",
                    "level": institution.get_level_display(),
                    "limit": f"{limit * 100:.0f}",
                },
                evidence={
                    "month": f"{month:%Y-%m}",
                    "medfee": str(money(medfee)),
                    "ownpay": str(money(ownpay)),
                    "ratio": f"{ratio:.4f}",
                    "limit": str(limit),
                    "settlements": row["n"],
                    "detail": _(
                        "医疗费总额 %(medfee)s 元，其中全自费 %(ownpay)s 元，共 %(n)s 笔结算"
                    )
                    % {"medfee": money(medfee), "ownpay": money(ownpay), "n": row["n"]},
                },
            )

    sync_findings(ctx, kind=Alert.Kind.OUT_OF_CATALOG, year=ctx.period.year, findings=findings())


# --- Rosters ------------------------------------------------------------------------------


@register("roster_unconfirmed")
def roster_unconfirmed(ctx: CheckContext) -> None:
    """Identities open on the reference date that the latest roster of their department for
    their region did not confirm (DOMAIN §7, §9.1)."""
    day = ctx.period.reference_date()
    rosters = list(
        RosterBatch.objects.filter(status=RosterBatch.Status.APPLIED, as_of__lte=day)
        .select_related("region")
        .order_by("-as_of", "-id")
    )
    identities = (
        Identity.objects.open_on(day)
        .filter(person__in=_persons_in_area(ctx))
        .select_related("person")
        .order_by("person__id_number", "id")
    )
    ctx.run.rows_scanned = 0

    def latest_roster(identity):
        for roster in rosters:  # newest first
            if roster.department == identity.department and roster.region.contains(
                identity.region_id
            ):
                return roster
        return None

    def findings():
        for identity in identities.iterator(chunk_size=CHUNK):
            ctx.run.rows_scanned += 1
            roster = latest_roster(identity)
            if roster is None or identity.last_roster_id == roster.pk:
                continue
            if identity.start > roster.as_of:
                continue  # recognised after the roster: the next roster will say
            person = identity.person
            yield Finding(
                certno=person.id_number,
                subject=f"identity:{identity.pk}",
                name=person.name,
                person_id=person.pk,
                region_id=person.region_id,
                message=_("%(category)s 身份未出现在%(department)s %(as_of)s 的最新名单中")
                % {
                    "category": identity.get_category_display(),
                    "department": roster.get_department_display(),
                    "as_of": roster.as_of,
                },
                evidence={
                    "identity": identity.pk,
                    "roster": roster.pk,
                    "detail": _("认定日期 %(start)s；最新名单：%(roster)s")
                    % {"start": identity.start, "roster": str(roster)},
                },
            )

    sync_findings(
        ctx,
        kind=Alert.Kind.ROSTER_UNCONFIRMED,
        year=ctx.period.year,
        findings=findings(),
        close_missing=_scope_alerts(ctx),
    )
