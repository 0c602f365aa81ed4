"""Writes of the claims app: one service per change, each taking `by=` (the acting user); bills and
attachments are `claims/bills.py`.

Status machine (P §19, §21): draft → submitted → approved | rejected; approved → paid;
submitted → draft (withdrawn, with a reason) until it is decided. Each
move is one function here that checks the current status under a row lock, writes a
Transition row and the history; anything else is refused with a ValidationError. Bills and
attachments change only while the application is a draft.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from claims import selectors
from claims.engine_text import render_records, step_records
from claims.models import (
    Application,
    FormSequence,
    PersonYear,
    Transition,
)
from claims.topup_steps import paid_step_record
from core.choices import VisitType
from core.dates import shanghai_today
from core.money import money
from core.policy_services import require_policy
from core.scoping import check_allowed, region_of

S = Application.Status

APPLICATION_FIELDS = (
    "kind",
    "channel",
    "received_on",
    "documents",
    "bank_name",
    "bank_account",
    "note",
)
RESULT_FIELDS = [
    "assessed_at",
    "covered",
    "reason",
    "category",
    "self_pay",
    "deductible_applied",
    "assistance",
    "tilted_deductible_applied",
    "tilted_assistance",
    "total",
    "steps",
    "step_records",
    "policy",
]
# Form-number prefixes of the coordination areas (乌海 → WH); others use their region code.
FORM_PREFIXES = {"150300": "WH"}


def refuse_move(application: Application, action: str):
    raise ValidationError(
        _("申请当前状态为“%(status)s”，不能%(action)s。")
        % {"status": application.get_status_display(), "action": action}
    )


def _transition(application: Application, to_status: str, by, comment: str = "") -> None:
    Transition.objects.create(
        application=application,
        from_status=application.status,
        to_status=to_status,
        by=by,
        comment=comment,
    )
    application.status = to_status


def locked_application(application: Application) -> Application:
    """The application re-read under a row lock, so two moves of one case serialize."""
    return (
        Application.objects.select_for_update(of=("self",))
        .select_related("person", "person__region", "area")
        .get(pk=application.pk)
    )


# --- Intake ---------------------------------------------------------------------------------


def application_create(
    *,
    person,
    by,
    received_on: date,
    channel: str = Application.Channel.COUNTER,
    kind: str = Application.Kind.REIMBURSEMENT,
    documents: list[str] | None = None,
    bank_name: str = "",
    bank_account: str = "",
    note: str = "",
) -> Application:
    """Open a draft application for `person` in their coordination area."""
    check_allowed(by, "claims.add_application", person.region_id)
    area = person.region.coordination_area
    if area is None:
        raise ValidationError(_("该人员的户籍区划不属于任何统筹地区。"))
    if received_on > shanghai_today():
        raise ValidationError({"received_on": _("受理日期不能晚于今天。")})
    require_policy(area, received_on, _("受理救助申请"))  # §8: an area without a policy
    application = Application(
        person=person,
        area=area,
        kind=kind,
        channel=channel,
        received_on=received_on,
        documents=list(documents or []),
        bank_name=bank_name,
        bank_account=bank_account,
        note=note,
        prepared_by=by,
    )
    application.full_clean()
    with transaction.atomic():
        application._history_user = by
        application.save()
        Transition.objects.create(application=application, to_status=S.DRAFT, by=by)
    return application


def application_update(*, application: Application, by, **changes) -> Application:
    """Change the intake details of a draft."""
    unknown = set(changes) - set(APPLICATION_FIELDS)
    if unknown:
        raise TypeError(f"not changeable: {sorted(unknown)}")
    with transaction.atomic():
        application = locked_application(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if not application.is_editable:
            refuse_move(application, _("修改"))
        if changes.get("received_on") and changes["received_on"] > shanghai_today():
            raise ValidationError({"received_on": _("受理日期不能晚于今天。")})
        for name, value in changes.items():
            setattr(application, name, value)
        application.full_clean()
        application._history_user = by
        application.save(update_fields=list(changes))
    return application


# --- Workflow -------------------------------------------------------------------------------


def _save_results(assessment, *, at) -> None:
    policy_of = {bill.pk: run.policy for run in assessment.years for bill, _r in run.results}
    for bill, result in assessment.results:
        bill.assessed_at = at
        bill.policy = policy_of[bill.pk]
        bill.covered = result.covered
        bill.reason = result.reason or ""
        bill.category = result.category or ""
        bill.self_pay = result.self_pay
        bill.deductible_applied = result.deductible_applied
        bill.assistance = result.assistance
        bill.tilted_deductible_applied = result.tilted_deductible_applied
        bill.tilted_assistance = result.tilted_assistance
        bill.total = result.total
        # The steps are part of the record (screen and printed form): written in the portal's
        # language, not in whichever language the user who triggered the assessment reads.
        bill.step_records = step_records(result)
        if bill.topup_of:  # a top-up of a partly paid record (补发, §11)
            bill.step_records.append(paid_step_record(bill))
        with translation.override(settings.LANGUAGE_CODE):
            bill.steps = render_records(bill.step_records, _)
        bill.save(update_fields=[*RESULT_FIELDS, "paid_before"])


def _save_totals(application: Application, assessment) -> list[str]:
    application.assistance = money(assessment.assistance)
    application.tilted_assistance = money(assessment.tilted_assistance)
    application.total = money(assessment.total)
    return ["assistance", "tilted_assistance", "total"]


def application_submit(*, application: Application, by) -> Application:
    """Draft → submitted, with a preliminary assessment saved on the bills (预审)."""
    with transaction.atomic():
        application = locked_application(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if application.status != S.DRAFT:
            refuse_move(application, _("提交"))
        if not application.bills.exists():
            raise ValidationError(_("请至少录入一张票据后再提交。"))
        assessment = selectors.assess_application(application)
        _save_results(assessment, at=timezone.now())
        fields = _save_totals(application, assessment)
        _transition(application, S.SUBMITTED, by)
        application.submitted_at = timezone.now()
        application._history_user = by
        application.save(update_fields=[*fields, "status", "submitted_at"])
    return application


def application_withdraw(*, application: Application, by, reason: str) -> Application:
    """Submitted → draft (撤回), before any decision, with the reason in the transition log.

    Invariants: only a submitted application is withdrawn (an approved, rejected or paid one
    is decided and stays so); the withdrawal is a Transition row like every other move, so
    the log keeps every submission: whoever submitted it once, or withdrew it, still may not
    approve it after someone else re-submits it (DOMAIN §8, see `_case_hands`).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("请填写撤回的理由。")})
    with transaction.atomic():
        application = locked_application(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if application.status != S.SUBMITTED:
            refuse_move(application, _("撤回"))
        _transition(application, S.DRAFT, by, reason[:500])
        # The processing-time and the form's 申请日期 run from the next submission.
        application.submitted_at = None
        application._history_user = by
        application.save(update_fields=["status", "submitted_at"])
    return application


def _case_hands(application: Application) -> dict[str, set[int]]:
    """Who did the earlier steps of one case: prepared it, entered or changed any of its bills
    (the bills' history, deleted bills included), submitted it, decided it."""
    from claims.models import Bill as BillModel

    hands = {
        "prepared": {application.prepared_by_id},
        "bills": set(
            BillModel.history.filter(application_id=application.pk)
            .exclude(history_user_id=None)
            .values_list("history_user_id", flat=True)
        ),
        # Every submission counts, not only the last: after a withdrawal and a re-submission
        # by a colleague, the first submitter still did a step of this case.
        "submitted": set(
            Transition.objects.filter(application=application, to_status=S.SUBMITTED)
            .exclude(by=None)
            .values_list("by_id", flat=True)
        ),
        # Whoever withdrew it sent it back to preparation (and may have changed it then).
        "withdrew": set(
            Transition.objects.filter(
                application=application, from_status=S.SUBMITTED, to_status=S.DRAFT
            )
            .exclude(by=None)
            .values_list("by_id", flat=True)
        ),
        "decided": {application.decided_by_id},
    }
    return {step: ids - {None} for step, ids in hands.items()}


def decide_refusal(application: Application, by) -> str | None:
    """Why `by` may not approve or reject `application` (DOMAIN §8: prepare ≠ approve, whoever
    did any step of preparing it), or None. Compared by person, so a user holding several
    roles still cannot do two steps of one case. The page uses it to hide the buttons."""
    hands = _case_hands(application)
    if by.id in hands["prepared"]:
        return _("审核人不能审批本人经办的申请。")
    if by.id in hands["bills"]:
        return _("审核人不能审批本人录入票据的申请。")
    if by.id in hands["submitted"]:
        return _("审核人不能审批本人提交的申请。")
    if by.id in hands["withdrew"]:
        return _("审核人不能审批本人撤回过的申请。")
    return None


def pay_refusal(application: Application, by) -> str | None:
    """Why `by` may not record the payment (DOMAIN §8: record payment ≠ approve ≠ prepare)."""
    hands = _case_hands(application)
    if by.id in hands["decided"]:
        return _("审批人不能登记本人审批的申请的支付。")
    if by.id in hands["prepared"] | hands["bills"] | hands["submitted"] | hands["withdrew"]:
        return _("经办人不能登记本人经办的申请的支付。")
    return None


def _check_decider(application: Application, by) -> None:
    refusal = decide_refusal(application, by)
    if refusal:
        raise ValidationError(refusal)


def _check_payer(application: Application, by) -> None:
    refusal = pay_refusal(application, by)
    if refusal:
        raise ValidationError(refusal)


def _lock_person_years(person, years) -> None:
    """Lock the person's year rows, creating them race-free, in a fixed order (no deadlock)."""
    for year in sorted(set(years)):
        try:
            with transaction.atomic():
                PersonYear.objects.get_or_create(person=person, year=year)
        except IntegrityError:
            pass  # created by a concurrent approval that committed first
        PersonYear.objects.select_for_update().get(person=person, year=year)


def _next_form_number(application: Application, year: int) -> str:
    try:
        with transaction.atomic():
            FormSequence.objects.get_or_create(area=application.area, year=year)
    except IntegrityError:
        pass
    sequence = FormSequence.objects.select_for_update().get(area=application.area, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    prefix = FORM_PREFIXES.get(application.area_id, application.area_id)
    return f"{prefix}-{year}-{sequence.last:06d}"


def application_approve(
    *, application: Application, by, comment: str = "", approver_name: str = ""
) -> Application:
    """Submitted → approved: re-assess against the records as they are now and book it.

    Invariants: nobody who prepared, entered a bill of or submitted the application approves
    it (maker-checker, DOMAIN §8);
    approvals of one person and year serialize on the PersonYear row, and each re-reads the
    state after the lock, so concurrent approvals never take the year past the annual cap.
    """
    if application.prepared_by_id == by.id:
        raise ValidationError(_("审核人不能审批本人经办的申请。"))
    with transaction.atomic():
        application = locked_application(application)
        check_allowed(by, "claims.approve_application", region_of(application))
        if application.status != S.SUBMITTED:
            refuse_move(application, _("审批"))
        _check_decider(application, by)
        years = application.bills.values_list("year", flat=True)
        _lock_person_years(application.person, years)
        now = timezone.now()
        assessment = selectors.assess_application(application)
        _save_results(assessment, at=now)
        fields = _save_totals(application, assessment)
        _transition(application, S.APPROVED, by, comment)
        application.decided_by = by
        application.decided_at = now
        application.decision_comment = comment
        application.approver_name = approver_name.strip()
        application.form_number = _next_form_number(application, timezone.localdate(now).year)
        application._history_user = by
        application.save(
            update_fields=[
                *fields,
                "status",
                "decided_by",
                "decided_at",
                "decision_comment",
                "approver_name",
                "form_number",
            ]
        )
    return application


def application_reject(*, application: Application, by, comment: str) -> Application:
    """Submitted → rejected (不予救助), with the reason; its invoices become free again."""
    if not (comment or "").strip():
        raise ValidationError({"comment": _("请填写不予救助的理由。")})
    if application.prepared_by_id == by.id:
        raise ValidationError(_("审核人不能审批本人经办的申请。"))
    with transaction.atomic():
        application = locked_application(application)
        check_allowed(by, "claims.approve_application", region_of(application))
        if application.status != S.SUBMITTED:
            refuse_move(application, _("作出不予救助决定"))
        _check_decider(application, by)
        _transition(application, S.REJECTED, by, comment.strip())
        application.decided_by = by
        application.decided_at = timezone.now()
        application.decision_comment = comment.strip()
        application._history_user = by
        application.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
        for bill in application.bills.all():
            bill.active = False
            bill._history_user = by
            bill.save(update_fields=["active"])
    return application


def application_pay(*, application: Application, reference: str, paid_on: date, by) -> Application:
    """Approved → paid: record the transfer and post each bill's assistance to the fund once.

    The fund postings (funds.services.benefit_post, idempotent by key) run in this transaction,
    so the payment and its vouchers commit together or not at all. The payer (财务) is
    neither the approver nor anyone who prepared the case (DOMAIN §8).
    """
    from funds.services import benefit_post

    if not (reference or "").strip():
        raise ValidationError({"reference": _("请填写转账凭证号。")})
    if paid_on > shanghai_today():
        raise ValidationError({"paid_on": _("支付日期不能晚于今天。")})
    with transaction.atomic():
        application = locked_application(application)
        check_allowed(by, "claims.record_payment", region_of(application))
        if application.status != S.APPROVED:
            refuse_move(application, _("登记支付"))
        _check_payer(application, by)
        if application.decided_at and paid_on < timezone.localdate(application.decided_at):
            raise ValidationError({"paid_on": _("支付日期不能早于审批日期。")})
        for bill in application.bills.filter(total__gt=0).order_by("id"):
            inpatient = bill.visit_type == VisitType.INPATIENT
            benefit_post(
                key=f"claims.bill:{bill.pk}",
                area_code=application.area_id,
                kind="inpatient" if inpatient else "outpatient",
                amount=bill.total,
                booked_on=paid_on,
                memo=_("医疗救助 %(form)s %(name)s 发票 %(invoice)s")
                % {
                    "form": application.form_number,
                    "name": application.person.name,
                    "invoice": bill.invoice_number,
                },
                by=by,
                category=bill.category,
                visit_type=bill.visit_type,
            )
        _transition(application, S.PAID, by, reference.strip())
        application.paid_by = by
        application.paid_on = paid_on
        application.payment_reference = reference.strip()
        application._history_user = by
        application.save(update_fields=["status", "paid_by", "paid_on", "payment_reference"])
    return application


def application_printed(*, applications, by, request=None) -> None:
    """Audit a print of approval forms (DOMAIN §8: every output of case data is logged)."""
    from core.audit import audit_event

    for application in applications:
        audit_event(
            by=by,
            action="print",
            obj=application,
            request=request,
            form_number=application.form_number,
        )
