"""The monthly cross-checks of DOMAIN §7 (P §7, §21, §29).

Each check computes the complete set of current findings for its period and scope and hands
them to `sync_findings`, which creates, updates and — for conditions that are gone — closes
alerts, keyed by (kind, year, certno, subject) so a re-run never duplicates. A person's
dismissal stands; an alert closed automatically reopens when the condition recurs.

This module holds the settlement checks; the enrollment checks are in `enrollment.py`, the
roster check in `rosters.py`, what they share in `scope.py`. The period is `YYYY` (the whole
year) or `YYYY-MM` (that month for the settlement-based checks).
Manual-reimbursement bills come from the claims app (`claims.interface`): a bill naming a
settlement's ID is a claim for it; assistance approved for a bill no identity covers is an
overpayment like one paid at the counter.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from itertools import chain

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from beneficiaries.models import Identity, Person
from claims import interface as claims
from core.choices import VisitType
from core.coverage import coverage_end, identity_covers
from core.money import money
from monitoring.alerting import Finding, sync_findings
from monitoring.check_chunks import SETTLEMENTS, per_person
from monitoring.checks import CheckContext, register
from monitoring.checks.scope import (
    CHUNK,
    CertnoRange,
    area_alerts,
    month_range,
    policy_for,
    range_q,
)
from monitoring.models import Alert, Settlement

# --- Settlement checks ---------------------------------------------------------------------


def reversals_of(setl_ids):
    """The reversal rows naming these settlements, by the partial index of reversals."""
    return Settlement.objects.filter(refd_setl_flag=True, init_setl_id__in=setl_ids).values(
        "init_setl_id", "maf_pay", "medfee_sumamt", "psn_part_amt"
    )


def _standing_settlements(ctx: CheckContext, rng: CertnoRange, **filters):
    """Original (non-reversal) settlements of the period (and ID number range) with their net
    amounts after reversals (the caller keeps the area's persons)."""
    first, last = month_range(ctx)
    rows = Settlement.objects.filter(
        range_q(rng),
        year=ctx.period.year,
        enddate__gte=first,
        enddate__lte=last,
        refd_setl_flag=False,
        **filters,
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


def _link_recovery_cases(ctx: CheckContext) -> None:
    claims.link_benefit_alerts(year=ctx.period.year)  # a later alert finds its recovery case


@per_person("benefit_after_coverage", cut_by=SETTLEMENTS, after=_link_recovery_cases)
def benefit_after_coverage(ctx: CheckContext, rng: CertnoRange) -> None:
    """Assistance paid (at the counter, `maf_pay`) for a settlement no identity of the person
    covers — dated after the covering identity's coverage end (P §15): an overpayment to recover;
    and the same for assistance approved on a manual-reimbursement bill (claims app)."""
    sync_findings(
        ctx,
        kind=Alert.Kind.BENEFIT_AFTER_COVERAGE,
        year=ctx.period.year,
        findings=chain(_settlement_overpayments(ctx, rng), _bill_overpayments(ctx, rng)),
        close_missing=area_alerts(ctx, Q(period=ctx.period.text), rng),
    )


def _settlement_overpayments(ctx: CheckContext, rng: CertnoRange):
    """Findings for settlements paid assistance that no identity of the person covers (the
    settlements and identities are read now, the findings made as they are consumed)."""
    originals, reversals = _standing_settlements(ctx, rng, maf_pay__gt=0)
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
            if any(identity_covers(i, s.visit_type, s.begndate, s.enddate) for i in held):
                continue
            yield Finding(
                certno=s.certno,
                subject=s.setl_id,
                name=person.name if person else s.psn_name,
                person_id=person.pk if person else None,
                region_id=region,
                amount=paid,
                message=_overpayment_message(held, s.enddate, paid),
                evidence=_settlement_evidence(s),
            )

    return findings()


def _overpayment_message(held, enddate: date, paid: Decimal) -> str:
    """Why the payment is an overpayment: the identity that ended, or none at all."""
    ended = [i for i in held if i.end is not None and i.start <= enddate]
    if not ended:
        return _("无救助身份覆盖该次结算，却支付医疗救助 %(amount)s 元，应予核查") % {
            "amount": paid
        }
    last = max(ended, key=lambda i: i.end)
    return _(
        "身份（%(category)s）已于 %(end)s 终止，待遇至 %(coverage)s；"
        "其后结算仍支付医疗救助 %(amount)s 元，应予追回"
    ) % {
        "category": last.get_category_display(),
        "end": last.end,
        "coverage": coverage_end(last.end),
        "amount": paid,
    }


def _bill_overpayments(ctx: CheckContext, rng: CertnoRange):
    """Findings for manual bills approved assistance that no identity of the person covers."""
    for bill in _paid_bills(ctx, rng):
        person = bill.application.person
        if not ctx.in_area(person.region_id):
            continue
        held = list(person.identities.all())
        end = bill.discharged or bill.service_date
        begin = bill.admitted or end
        if any(identity_covers(i, bill.visit_type, begin, end) for i in held):
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


@per_person("missed_reimbursement", cut_by=SETTLEMENTS)
def missed_reimbursement(ctx: CheckContext, rng: CertnoRange) -> None:
    """漏报销 (P §21 按月排查): a beneficiary's inpatient settlement covered by an identity, with
    no assistance paid at the counter and no manual claim — remind the person to apply."""
    originals, reversals = _standing_settlements(
        ctx,
        rng,
        visit_type=VisitType.INPATIENT,
        maf_pay=0,
        certno__in=Person.objects.filter(identities__isnull=False).values("id_number"),
    )
    persons = _persons_by_certno(s.certno for s in originals)
    identities = _identities_of(p.pk for p in persons.values())
    claimed = claims.claimed_setl_ids([s.setl_id for s in originals])

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
                i
                for i in identities[person.pk]
                if identity_covers(i, s.visit_type, s.begndate, s.enddate)
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
        close_missing=area_alerts(ctx, Q(period=ctx.period.text), rng),
    )


def _paid_bills(ctx: CheckContext, rng: CertnoRange):
    """Manual-reimbursement bills of the period (of the range's persons) with assistance
    approved (claims app)."""
    bills = claims.paid_bills_ending_between(*month_range(ctx), certno_range=rng)
    ctx.run.rows_scanned += bills.count()
    return bills


@register("out_of_catalog")
def out_of_catalog(ctx: CheckContext) -> None:
    """P §29 / R(十五): out-of-catalog cost share of an institution in a month above the limit
    of its level (level 2: 5%, level 3: 10%, from the policy of its coordination area)."""
    first, last = month_range(ctx)
    institutions = claims.institutions_by_code()
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
            policy = policy_for(institution.admdvs, month)
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
