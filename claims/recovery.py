"""Recovery cases (追回, DOMAIN §11): proposed → approved (another person) → notified → repaid.

Ledger (DOMAIN §6 has no receivable, so migration funds 0007 adds one):
- approval: debit 1201 应收追回待遇款, credit 1202 待追回待遇款（备抵）— the receivable is on the
  books, the fund's net assets unchanged;
- each repayment (partial ones allowed, never more than is outstanding): debit 1004 支出户存款
  and clear the receivable (debit 1202, credit 1201), crediting either the benefit expense of
  the case's year (500101/500102, a reversal) while that year's books are open, or
  400901 其他收入—跨年度追回待遇 once its December is closed.
  "That year's books are open": a repayment in the benefit's year reverses the expense on its
  own date; one in a later year does so dated 31 December of the benefit's year as long as that
  month is not closed (it still belongs to that year's accounts); otherwise it is income.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Proposal, RecoveryCase, Repayment
from core.choices import VisitType
from core.money import money
from core.scoping import check_allowed, region_of

S = RecoveryCase.Status
RECEIVABLE = "1201"
RECEIVABLE_CONTRA = "1202"
CROSS_YEAR_INCOME = "400901"


def _post(*, area_code: str, booked_on: date, kind: str, memo: str, legs, by, key: str):
    """The one call into the ledger (`funds.ledger.post`, the public writer of legs)."""
    from funds import ledger
    from funds.services import fund_for_area

    return ledger.post(
        fund=fund_for_area(area_code),
        booked_on=booked_on,
        kind=kind,
        memo=memo,
        legs=legs,
        by=by,
        key=key,
    )


def _locked(case: RecoveryCase) -> RecoveryCase:
    return (
        RecoveryCase.objects.select_for_update()
        .select_related("person", "proposal")
        .get(pk=case.pk)
    )


def _live_proposal(proposal: Proposal, direction: str) -> Proposal:
    """The proposal, locked, if it is still live, open and of `direction`; else a clear error."""
    from monitoring.models import Alert

    proposal = (
        Proposal.objects.select_for_update().select_related("alert", "person").get(pk=proposal.pk)
    )
    if proposal.direction != direction:
        raise ValidationError(
            _("该建议不是%(what)s建议。") % {"what": proposal.get_direction_display()}
        )
    if proposal.alert.status not in Alert.ACTIVE:
        raise ValidationError(_("该建议已处理或已被替代，不能再办理。"))
    if proposal.application_id or RecoveryCase.objects.filter(proposal=proposal).exists():
        raise ValidationError(_("该建议已办理。"))
    return proposal


def _alert_status(alert, status: str, text: str, by) -> None:
    from monitoring.models import AlertNote

    if alert.status == status:
        return
    note = AlertNote(alert=alert, text=text, status_from=alert.status, status_to=status)
    alert.status = status
    fields = ["status", "updated_at"]
    if status not in alert.ACTIVE:
        alert.closed_at = timezone.now()
        alert.status_reason = text[:300]
        fields += ["closed_at", "status_reason"]
    alert._history_user = by
    alert.save(update_fields=fields)
    note.created_by = by
    note.save()


def _benefit_alert(proposal: Proposal):
    """The benefit-after-coverage alert (§7) about the same record, if the check raised one."""
    from monitoring.models import Alert

    subject = proposal.setl_id if proposal.record.startswith("setl:") else proposal.record
    return Alert.objects.filter(
        kind=Alert.Kind.BENEFIT_AFTER_COVERAGE,
        year=proposal.year,
        certno=proposal.person.id_number,
        subject=subject,
    ).first()


def link_benefit_alerts(*, year: int) -> int:
    """Link benefit-after-coverage alerts raised after their recovery case was opened (§11).

    Called by the check after it synced its alerts (one line in monitoring.checks.cross); a
    case opened first has no alert yet, so the link is made here. The alert is in progress
    while the case is live, resolved once it is repaid. Returns the links made.
    """
    from monitoring.models import Alert

    linked = 0
    cases = RecoveryCase.objects.filter(year=year, benefit_alert__isnull=True).exclude(
        status=S.CANCELLED
    )
    for case in cases.select_related("proposal", "person"):
        with transaction.atomic():
            alert = _benefit_alert(case.proposal)
            if alert is None:
                continue
            case.benefit_alert = alert
            case.save(update_fields=["benefit_alert"])
            linked += 1
            if not alert.is_active:
                continue
            if case.status == S.REPAID:
                text = _("追回案件 #%(id)s 已全部追回。") % {"id": case.pk}
                _alert_status(alert, Alert.Status.RESOLVED, text, None)
            else:
                text = _("已有追回案件 #%(id)s。") % {"id": case.pk}
                _alert_status(alert, Alert.Status.IN_PROGRESS, text, None)
    return linked


def recovery_open(*, proposal: Proposal, by) -> RecoveryCase:
    """A caseworker turns a recovery proposal into a recovery case (待审批)."""
    from monitoring.models import Alert

    check_allowed(by, "claims.add_application", region_of(proposal))
    with transaction.atomic():
        proposal = _live_proposal(proposal, Proposal.Direction.RECOVERY)
        person = proposal.person
        area = person.region.coordination_area
        if area is None:
            raise ValidationError(_("该人员的户籍区划不属于任何统筹地区。"))
        case = RecoveryCase(
            proposal=proposal,
            person=person,
            area=area,
            year=proposal.year,
            visit_type=proposal.visit_type,
            amount=proposal.amount,
            benefit_alert=_benefit_alert(proposal),
            prepared_by=by,
        )
        case.full_clean()
        case._history_user = by
        case.save()
        text = _("已立追回案件 #%(id)s。") % {"id": case.pk}
        _alert_status(proposal.alert, Alert.Status.IN_PROGRESS, text, by)
        if case.benefit_alert is not None and case.benefit_alert.is_active:
            _alert_status(case.benefit_alert, Alert.Status.IN_PROGRESS, text, by)
    return case


def approve_refusal(case: RecoveryCase, by) -> str | None:
    """DOMAIN §8: whoever proposed a recovery does not approve it."""
    if by.id == case.prepared_by_id:
        return _("审核人不能审批本人经办的追回案件。")
    return None


def repay_refusal(case: RecoveryCase, by) -> str | None:
    """DOMAIN §8: recording the money is neither the preparer's nor the approver's step."""
    if by.id == case.approved_by_id:
        return _("审批人不能登记本人审批的追回案件的还款。")
    if by.id == case.prepared_by_id:
        return _("经办人不能登记本人经办的追回案件的还款。")
    return None


def recovery_approve(*, case: RecoveryCase, by) -> RecoveryCase:
    """Proposed → approved by a second person; books the receivable (1201 / 1202)."""
    check_allowed(by, "claims.approve_application", region_of(case))
    refusal = approve_refusal(case, by)
    if refusal:
        raise ValidationError(refusal)
    with transaction.atomic():
        case = _locked(case)
        if case.status != S.PROPOSED:
            raise ValidationError(_("只有待审批的追回案件可以审批。"))
        now = timezone.now()
        day = timezone.localdate(now)
        _post(
            area_code=case.area_id,
            booked_on=day,
            kind="adjustment",
            memo=_("应收追回待遇 %(name)s %(year)s 年 #%(id)s")
            % {"name": case.person.name, "year": case.year, "id": case.pk},
            legs=[(RECEIVABLE, case.amount), (RECEIVABLE_CONTRA, -case.amount)],
            by=by,
            key=f"recovery:{case.pk}:receivable",
        )
        case.status = S.APPROVED
        case.approved_by = by
        case.approved_at = now
        case.notice_number = f"{case.area_id}-ZH-{day.year}-{case.pk:06d}"
        case._history_user = by
        case.save(update_fields=["status", "approved_by", "approved_at", "notice_number"])
    return case


def recovery_notify(*, case: RecoveryCase, by) -> RecoveryCase:
    """Approved → notified: the printed 追回通知书 was served on the person."""
    check_allowed(by, "claims.print_application", region_of(case))
    with transaction.atomic():
        case = _locked(case)
        if case.status != S.APPROVED:
            raise ValidationError(_("只有已审批的追回案件可以登记送达通知书。"))
        case.status = S.NOTIFIED
        case.notified_at = timezone.now()
        case._history_user = by
        case.save(update_fields=["status", "notified_at"])
    return case


def _year_books_open(area_code: str, year: int) -> bool:
    from funds.models import Period
    from funds.services import fund_for_area

    return not Period.objects.filter(
        fund=fund_for_area(area_code), year=year, month=12, status=Period.Status.CLOSED
    ).exists()


def repayment_posting(case: RecoveryCase, paid_on: date) -> tuple[str, date, str]:
    """How a repayment on `paid_on` posts: ("reversal" | "income", the voucher date, subject)."""
    expense = "500101" if case.visit_type == VisitType.INPATIENT else "500102"
    if paid_on.year == case.year:
        return "reversal", paid_on, expense
    if paid_on.year > case.year and _year_books_open(case.area_id, case.year):
        return "reversal", date(case.year, 12, 31), expense
    return "income", paid_on, CROSS_YEAR_INCOME


def recovery_repay(
    *, case: RecoveryCase, amount: Decimal, paid_on: date, reference: str, by
) -> Repayment:
    """The accountant records money returned; partial repayments allowed, never more than is
    outstanding. The last one makes the case repaid and resolves its alerts."""
    from core.dates import shanghai_today as today

    check_allowed(by, "claims.record_payment", region_of(case))
    refusal = repay_refusal(case, by)
    if refusal:
        raise ValidationError(refusal)
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("请填写凭证号。")})
    if paid_on > today():
        raise ValidationError({"paid_on": _("到账日期不能晚于今天。")})
    amount = money(Decimal(amount))
    with transaction.atomic():
        case = _locked(case)
        if case.status not in (S.APPROVED, S.NOTIFIED):
            raise ValidationError(_("只有已审批的追回案件可以登记还款。"))
        if amount <= 0 or amount > case.outstanding:
            raise ValidationError(
                {
                    "amount": _("还款金额应大于零且不超过未追回金额 %(left)s 元。")
                    % {"left": case.outstanding}
                }
            )
        posting, booked_on, credit = repayment_posting(case, paid_on)
        number = case.repayments.count() + 1
        voucher = _post(
            area_code=case.area_id,
            booked_on=booked_on,
            kind="reversal" if posting == "reversal" else "income",
            memo=_("追回待遇 %(notice)s %(name)s（%(year)s 年）")
            % {"notice": case.notice_number, "name": case.person.name, "year": case.year},
            legs=[
                ("1004", amount),
                (credit, -amount),
                (RECEIVABLE_CONTRA, amount),
                (RECEIVABLE, -amount),
            ],
            by=by,
            key=f"recovery:{case.pk}:repayment:{number}",
        )
        repayment = Repayment.objects.create(
            case=case,
            amount=amount,
            paid_on=paid_on,
            reference=reference,
            posting=posting,
            voucher=voucher,
            recorded_by=by,
        )
        case.repaid += amount
        fields = ["repaid"]
        if case.outstanding == 0:
            case.status = S.REPAID
            fields.append("status")
            _resolve_alerts(case, by)
        case._history_user = by
        case.save(update_fields=fields)
    return repayment


def _resolve_alerts(case: RecoveryCase, by) -> None:
    from monitoring.models import Alert

    text = _("追回案件 #%(id)s 已全部追回。") % {"id": case.pk}
    _alert_status(case.proposal.alert, Alert.Status.RESOLVED, text, by)
    if case.benefit_alert is not None and case.benefit_alert.is_active:
        _alert_status(case.benefit_alert, Alert.Status.RESOLVED, text, by)
