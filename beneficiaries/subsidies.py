"""Enrollment subsidy (资助参保) for a year: who gets what, confirmed once (DOMAIN §5).

A service module: `subsidy_batch_create`, `subsidy_batch_confirm` and `subsidy_batch_export`
are the doors (each checks `by`'s role and region itself); the rest reads.

Rules (W 三(二), P §9–11, §16–18), for each person of the batch's region holding, during the
year, an identity of a category the policy subsidises:

- the amount is the policy's: `destitute` the full contribution standard, `subsistence` and
  `poverty_risk` the fixed amount; with several identities the highest-ranked one that
  qualifies applies (就高不就低), once (不得重复资助);
- none for a person enrolled in employee insurance that year (P §11);
- a person recognised before paying gets it; a person who self-paid before recognition gets
  it only when recognised before the year's benefit period starts (P §10(一)), not when
  already in the benefit period (P §10(二));
- a person not enrolled yet gets it: new beneficiaries enrol at any time, no waiting period
  (P §16);
- one subsidy per person and year, whatever batch or user confirms it (a unique constraint,
  plus confirmations serialised per year).
"""

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from beneficiaries.models import Enrollment, Identity, Person, Subsidy, SubsidyBatch
from core.audit import audit_event
from core.dates import shanghai_today
from core.exports import safe_row
from core.models import AuditEvent, Policy, Region
from core.money import money
from core.scoping import check_allowed


class Reason:
    """Why a person gets a subsidy or not (codes; messages in `REASON_TEXT`)."""

    NOT_ENROLLED = "not_enrolled"
    RECOGNISED_BEFORE_PAYING = "recognised_before_paying"
    PAID_BEFORE_BENEFIT_PERIOD = "paid_before_benefit_period"
    IN_BENEFIT_PERIOD = "in_benefit_period"
    EMPLOYEE = "employee"
    ALREADY = "already_subsidised"


def reason_text(code: str) -> str:
    return {
        Reason.NOT_ENROLLED: _("未参保：资助参保，不设待遇等待期（规程第十六条）"),
        Reason.RECOGNISED_BEFORE_PAYING: _("缴费前已认定为救助对象"),
        Reason.PAID_BEFORE_BENEFIT_PERIOD: _(
            "认定前已自行缴费，未进入待遇享受期，可资助（规程第十条（一））"
        ),
        Reason.IN_BENEFIT_PERIOD: _(
            "认定前已自行缴费且已进入待遇享受期，当年不再资助（规程第十条（二））"
        ),
        Reason.EMPLOYEE: _("参加职工医保，不予资助（规程第十一条）"),
        Reason.ALREADY: _("本年度已资助，不得重复资助"),
    }[code]


GRANTED = {
    Reason.NOT_ENROLLED,
    Reason.RECOGNISED_BEFORE_PAYING,
    Reason.PAID_BEFORE_BENEFIT_PERIOD,
}


@dataclass
class SubsidyProposal:
    person: Person
    identity: Identity
    amount: Decimal
    rule: str  # Subsidy.Rule, or "" when nothing is granted
    reason: str

    @property
    def granted(self) -> bool:
        return self.reason in GRANTED

    @property
    def category(self) -> str:
        return self.identity.category

    @property
    def reason_text(self) -> str:
        return reason_text(self.reason)


def subsidy_policy(area: Region, year: int, as_of: date) -> Policy:
    """The policy of the area's coordination area for the year (on 1 January, else as_of)."""
    coordination = area.coordination_area
    if coordination is None:
        raise ValidationError(_("请选择盟市或旗县区：资助参保按统筹地区的政策计算。"))
    policy = Policy.objects.in_force(coordination, date(year, 1, 1)) or Policy.objects.in_force(
        coordination, as_of
    )
    if policy is None:
        raise ValidationError(
            _("%(area)s %(year)s 年度没有生效的救助政策。")
            % {"area": coordination.name, "year": year}
        )
    return policy


def _timing(identity: Identity, enrollments: list[Enrollment], year: int) -> str:
    """P §10 and §16: whether recognition came in time for this year's subsidy."""
    resident = [e for e in enrollments if e.scheme == Enrollment.Scheme.RESIDENT]
    if not resident:
        return Reason.NOT_ENROLLED
    paid = [e for e in resident if e.paid_date is not None]
    if not paid:
        return Reason.RECOGNISED_BEFORE_PAYING
    first = min(paid, key=lambda e: e.paid_date)
    if identity.start <= first.paid_date:
        return Reason.RECOGNISED_BEFORE_PAYING
    benefit_start = first.benefit_start or date(year, 1, 1)
    if identity.start < benefit_start:
        return Reason.PAID_BEFORE_BENEFIT_PERIOD
    return Reason.IN_BENEFIT_PERIOD


def subsidy_proposals(*, area: Region, year: int, as_of: date) -> list[SubsidyProposal]:
    """Who in `area` gets what subsidy for `year`, with identities recognised by `as_of`.

    Reads only. Persons with a subsidised identity but no subsidy appear too, with the reason.
    """
    policy = subsidy_policy(area, year, as_of)
    rules = policy.category_rules()
    rank = {category: i for i, category in enumerate(policy.rank())}
    amounts = {
        category: money(rule.subsidy_for(policy.contribution_standard))
        for category, rule in rules.items()
    }
    subsidised = [c for c, amount in amounts.items() if amount > 0]
    first_day, last_day = date(year, 1, 1), date(year, 12, 31)
    # Identities that cover some day of the year (coverage runs to the end of the month of
    # `end`, P §15) and were recognised by as_of.
    identities = (
        Identity.objects.filter(
            person__region_id__in=area.subtree_codes(),
            category__in=subsidised,
            start__lte=min(as_of, last_day),
        )
        .filter(Q(end__isnull=True) | Q(end__gte=first_day))
        .select_related("person", "person__region")
        .order_by("person__id_number", "start")
    )
    by_person: dict[int, list[Identity]] = {}
    for identity in identities:
        by_person.setdefault(identity.person_id, []).append(identity)
    person_ids = list(by_person)
    enrollments: dict[int, list[Enrollment]] = {}
    already: set[int] = set()
    for i in range(0, len(person_ids), 1000):
        chunk = person_ids[i : i + 1000]
        for enrollment in Enrollment.objects.filter(person_id__in=chunk, year=year):
            enrollments.setdefault(enrollment.person_id, []).append(enrollment)
        already.update(
            Subsidy.objects.filter(person_id__in=chunk, year=year).values_list(
                "person_id", flat=True
            )
        )

    proposals = []
    for person_id, held in by_person.items():
        held.sort(key=lambda i: (rank[i.category], i.start))
        person = held[0].person
        mine = enrollments.get(person_id, [])
        if person_id in already:
            proposals.append(SubsidyProposal(person, held[0], Decimal("0.00"), "", Reason.ALREADY))
            continue
        if any(e.scheme == Enrollment.Scheme.EMPLOYEE for e in mine):
            proposals.append(SubsidyProposal(person, held[0], Decimal("0.00"), "", Reason.EMPLOYEE))
            continue
        verdicts = [(identity, _timing(identity, mine, year)) for identity in held]
        granted = [(i, reason) for i, reason in verdicts if reason in GRANTED]
        if granted:
            identity, reason = granted[0]  # highest rank first (就高不就低)
            rule = rules[identity.category].subsidy
            proposals.append(
                SubsidyProposal(
                    person,
                    identity,
                    amounts[identity.category],
                    Subsidy.Rule.FULL if rule == "full" else Subsidy.Rule.FIXED,
                    reason,
                )
            )
        else:
            identity, reason = verdicts[0]
            proposals.append(SubsidyProposal(person, identity, Decimal("0.00"), "", reason))
    proposals.sort(key=lambda p: (not p.granted, p.person.region_id, p.person.id_number))
    return proposals


def subsidy_batch_create(*, area: Region, year: int, as_of: date, by) -> SubsidyBatch:
    """A draft batch; its preview is computed live until it is confirmed. `by=None` is the
    system (the demo seed); a user is checked here (role and region, DOMAIN §8)."""
    if by is not None:
        check_allowed(by, "beneficiaries.add_subsidybatch", area.code)
    subsidy_policy(area, year, as_of)  # refuse early when no policy applies
    batch = SubsidyBatch(area=area, year=year, as_of=as_of, created_by=by)
    batch.full_clean()
    batch._history_user = by
    batch.save()
    return batch


def subsidy_batch_confirm(*, batch: SubsidyBatch, by) -> SubsidyBatch:
    """Confirm a draft batch: create the subsidies and post each to the fund ledger.

    Invariant: one subsidy per person and year. Confirmations of one year are serialised by
    locking that year's batches (in id order, so two confirmations cannot deadlock); the batch
    is claimed with a conditional update, so the same batch confirmed twice pays once; and the
    database refuses a second subsidy for a person and year whatever else happens.
    """
    from funds.services import benefit_post

    if by is not None:
        check_allowed(by, "beneficiaries.confirm_subsidybatch", batch.area_id)
    with transaction.atomic():
        list(
            SubsidyBatch.objects.select_for_update()
            .filter(year=batch.year)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        claimed = SubsidyBatch.objects.filter(pk=batch.pk, status=SubsidyBatch.Status.DRAFT).update(
            status=SubsidyBatch.Status.CONFIRMED, confirmed_by=by, confirmed_at=timezone.now()
        )
        if claimed != 1:
            raise ValidationError(_("该批次已确认，不能重复确认。"))
        batch = SubsidyBatch.objects.select_related("area").get(pk=batch.pk)
        coordination = batch.area.coordination_area
        booked_on = shanghai_today()
        total = Decimal("0.00")
        count = 0
        for proposal in subsidy_proposals(area=batch.area, year=batch.year, as_of=batch.as_of):
            if not proposal.granted:
                continue
            subsidy = Subsidy(
                person=proposal.person,
                year=batch.year,
                category=proposal.category,
                rule=proposal.rule,
                amount=proposal.amount,
                identity=proposal.identity,
                batch=batch,
                area=coordination,
                note=proposal.reason_text[:200],
            )
            subsidy._history_user = by
            subsidy.save()
            benefit_post(
                key=f"beneficiaries.subsidy:{subsidy.pk}",
                area_code=coordination.code,
                kind="subsidy",
                amount=subsidy.amount,
                booked_on=booked_on,
                memo=_("%(year)s年度资助参保：%(name)s")
                % {"year": batch.year, "name": proposal.person.name},
                by=by,
                category=subsidy.category,
            )
            total += subsidy.amount
            count += 1
        batch.count = count
        batch.total = money(total)
        batch._history_user = by
        batch.save(update_fields=["count", "total"])
    return batch


EXPORT_COLUMNS = [
    gettext_lazy("序号"),
    gettext_lazy("姓名"),
    gettext_lazy("公民身份号码"),
    gettext_lazy("性别"),
    gettext_lazy("户籍所在区划"),
    gettext_lazy("资助身份类别"),
    gettext_lazy("资助方式"),
    gettext_lazy("资助金额（元）"),
    gettext_lazy("资助年度"),
    gettext_lazy("说明"),
]


def subsidy_batch_export(*, batch: SubsidyBatch, by, request=None) -> bytes:
    """The confirmed batch as an .xlsx list for the tax / insurance office (full ID numbers,
    so the export is logged)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if batch.status != SubsidyBatch.Status.CONFIRMED:
        raise ValidationError(_("批次确认后才能导出。"))
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("资助参保名单"))
    sheet.append(safe_row(str(c) for c in EXPORT_COLUMNS))
    sheet.column_dimensions["C"].width = 22

    def amount_cell(value: Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "#,##0.00"
        return cell

    subsidies = batch.subsidies.select_related("person", "person__region").order_by(
        "person__region_id", "person__id_number"
    )
    rows = 0
    total = Decimal("0.00")
    for rows, subsidy in enumerate(subsidies.iterator(chunk_size=2000), start=1):
        person = subsidy.person
        sheet.append(
            safe_row(
                [
                    rows,
                    person.name,
                    person.id_number,
                    person.get_sex_display(),
                    person.region.name,
                    subsidy.get_category_display(),
                    subsidy.get_rule_display(),
                    amount_cell(subsidy.amount),
                    subsidy.year,
                    subsidy.note,
                ]
            )
        )
        total += subsidy.amount
    sheet.append(["", _("合计"), "", "", "", "", "", amount_cell(money(total)), "", ""])
    out = io.BytesIO()
    workbook.save(out)
    audit_event(
        by=by,
        action=AuditEvent.Action.EXPORT,
        obj=batch,
        request=request,
        what="subsidy_batch",
        rows=rows,
        total=str(money(total)),
    )
    return out.getvalue()
