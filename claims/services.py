"""Writes of the claims app: one service per change, each taking `by=` (the acting user).

Status machine (P §19, §21): draft → submitted → approved | rejected; approved → paid;
submitted → draft (withdrawn, with a reason) until it is decided. Each
move is one function here that checks the current status under a row lock, writes a
Transition row and the history; anything else is refused with a ValidationError. Bills and
attachments change only while the application is a draft.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims import selectors
from claims.models import (
    Application,
    Attachment,
    Bill,
    FormSequence,
    PersonYear,
    Transition,
)
from claims.pdfscan import pdf_has_active_content
from core.choices import VisitType
from core.identifiers import normalize_identifier
from core.money import money
from core.scoping import check_allowed, region_of

S = Application.Status

BILL_FIELDS = (
    "institution",
    "visit_type",
    "admitted",
    "discharged",
    "service_date",
    "invoice_number",
    "setl_id",
    "total_cost",
    "policy_range_cost",
    "basic_insurance_paid",
    "critical_illness_paid",
    "out_of_catalog_cost",
    "referred",
)
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
    "policy",
]
# Form-number prefixes of the coordination areas (乌海 → WH); others use their region code.
FORM_PREFIXES = {"150300": "WH"}


def _refuse(application: Application, action: str):
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


def _locked(application: Application) -> Application:
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
    if received_on > selectors.today():
        raise ValidationError({"received_on": _("受理日期不能晚于今天。")})
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
        application = _locked(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if not application.is_editable:
            _refuse(application, _("修改"))
        if changes.get("received_on") and changes["received_on"] > selectors.today():
            raise ValidationError({"received_on": _("受理日期不能晚于今天。")})
        for name, value in changes.items():
            setattr(application, name, value)
        application.full_clean()
        application._history_user = by
        application.save(update_fields=list(changes))
    return application


# --- Bills ----------------------------------------------------------------------------------


def _check_bill(bill: Bill, application: Application) -> None:
    """Business rules of a bill: §4 step 1 (the engine's), duplicates, one-stop settlements."""
    from claims import adapters, engine

    if bill.visit_type == VisitType.INPATIENT:
        bill.service_date = None
        missing = {
            name: _("住院票据须填写入院日期和出院日期。")
            for name in ("admitted", "discharged")
            if getattr(bill, name) is None
        }
    else:
        bill.admitted = bill.discharged = None
        missing = (
            {"service_date": _("门诊票据须填写就诊日期。")} if bill.service_date is None else {}
        )
    if missing:
        raise ValidationError(missing)
    try:
        engine.validate_bill(
            adapters.engine_bill(bill, area_code=application.area_id), selectors.today()
        )
    except engine.InvalidBill as exc:
        raise selectors.invalid_bill_error(exc) from exc
    if bill.out_of_catalog_cost > bill.total_cost - bill.policy_range_cost:
        raise ValidationError(
            {"out_of_catalog_cost": _("目录外费用不能大于医疗费总额减政策范围内费用。")}
        )
    # §9: identifiers are compared and stored normalized (NFKC, no whitespace or zero-width
    # characters), so "２０２６\u200b001" is the invoice 2026001.
    bill.invoice_number = normalize_identifier(bill.invoice_number)
    bill.setl_id = normalize_identifier(bill.setl_id)
    if not bill.invoice_number:
        raise ValidationError({"invoice_number": _("请填写发票号码。")})
    bill.year = bill.end_date.year

    others = Bill.objects.filter(active=True).exclude(pk=bill.pk)
    duplicate = (
        others.filter(institution=bill.institution, invoice_number=bill.invoice_number)
        .select_related("application")
        .first()
    )
    if duplicate is not None:
        raise ValidationError(
            {
                "invoice_number": _(
                    "该发票（%(institution)s，发票号 %(invoice)s）已在申请 #%(application)s"
                    " 中受理或报销，不能重复报销。"
                )
                % {
                    "institution": bill.institution.name,
                    "invoice": bill.invoice_number,
                    "application": duplicate.application_id,
                }
            }
        )
    if bill.setl_id:
        _check_settlement(bill, application, others)


def _check_settlement(bill: Bill, application: Application, others) -> None:
    """DOMAIN §7: a bill whose one-stop settlement already carries maf_pay > 0 is refused."""
    from monitoring.models import Settlement

    try:
        from monitoring.selectors import settlement_by_setl_id
    except ImportError:  # pragma: no cover
        settlement = Settlement.objects.filter(setl_id=bill.setl_id).first()
    else:
        settlement = settlement_by_setl_id(bill.setl_id)
    if settlement is not None:
        if settlement.certno != application.person.id_number:
            raise ValidationError({"setl_id": _("该结算ID不属于本申请人。")})
        paid = settlement.maf_pay + sum(
            Settlement.objects.filter(
                init_setl_id=settlement.setl_id, refd_setl_flag=True
            ).values_list("maf_pay", flat=True),
            Decimal("0"),
        )
        if paid > 0:
            raise ValidationError({"setl_id": _("该笔费用已在一站式结算中获得医疗救助。")})
    used = others.filter(setl_id=bill.setl_id).first()
    if used is not None:
        raise ValidationError(
            {
                "setl_id": _("该结算ID已在申请 #%(application)s 中使用，不能重复报销。")
                % {"application": used.application_id}
            }
        )


def bill_add(*, application: Application, by, **fields) -> Bill:
    """Add a bill to a draft; refused when invalid or already reimbursed (invariant of Bill)."""
    with transaction.atomic():
        application = _locked(application)
        check_allowed(by, "claims.add_bill", region_of(application))
        if not application.is_editable:
            _refuse(application, _("添加票据"))
        bill = Bill(application=application, **{k: fields[k] for k in fields if k in BILL_FIELDS})
        _check_bill(bill, application)
        bill._history_user = by
        try:
            with transaction.atomic():
                bill.save()
        except IntegrityError as exc:  # a concurrent intake of the same invoice won
            raise ValidationError(
                {"invoice_number": _("该发票或结算ID已在其他申请中受理，不能重复报销。")}
            ) from exc
    return bill


def bill_update(*, bill: Bill, by, **fields) -> Bill:
    with transaction.atomic():
        application = _locked(bill.application)
        check_allowed(by, "claims.change_bill", region_of(application))
        if not application.is_editable:
            _refuse(application, _("修改票据"))
        for name, value in fields.items():
            if name in BILL_FIELDS:
                setattr(bill, name, value)
        _check_bill(bill, application)
        bill._history_user = by
        try:
            with transaction.atomic():
                bill.save()
        except IntegrityError as exc:
            raise ValidationError(
                {"invoice_number": _("该发票或结算ID已在其他申请中受理，不能重复报销。")}
            ) from exc
    return bill


def bill_delete(*, bill: Bill, by) -> None:
    with transaction.atomic():
        application = _locked(bill.application)
        check_allowed(by, "claims.delete_bill", region_of(application))
        if not application.is_editable:
            _refuse(application, _("删除票据"))
        bill._history_user = by
        bill.delete()


# --- Attachments ----------------------------------------------------------------------------

# Accepted scans, recognised by their first bytes (never by the name or the browser's type).
MAGIC = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
)


def sniff_content_type(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, suffix in MAGIC:
        if head.startswith(magic):
            return content_type, suffix
    return None


def attachment_add(*, application: Application, upload, by, description: str = "") -> Attachment:
    """Store a scanned document of a draft: PDF, JPEG or PNG by content, within the size limit."""
    limit = settings.UPLOAD_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"file": _("文件过大（上限 %(mb)s MB）。") % {"mb": round(limit / 1024 / 1024, 1)}}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    sniffed = sniff_content_type(head)
    if sniffed is None:
        raise ValidationError({"file": _("只接受 PDF、JPEG 或 PNG 格式的扫描件。")})
    content_type, suffix = sniffed
    active = None
    if content_type == "application/pdf":
        active = pdf_has_active_content(upload.read())
        upload.seek(0)
    with transaction.atomic():
        application = _locked(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if application.status not in Application.OPEN_STATUSES:
            _refuse(application, _("上传材料"))
        original = (upload.name or "scan").rsplit("/", 1)[-1][:200]
        attachment = Attachment(
            application=application,
            original_name=original,
            content_type=content_type,
            size=upload.size,
            description=description,
            uploaded_by=by,
            active_content=active,
        )
        # The stored name is ours; the user's file name is only displayed.
        attachment.file.save(f"application-{application.pk}{suffix}", upload, save=False)
        attachment._history_user = by
        attachment.save()
    return attachment


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
        bill.steps = result.step_lines(_)
        if bill.topup_of:  # a top-up of a partly paid record (补发, §11)
            from claims.topup import paid_step

            bill.steps.append(paid_step(bill))
        bill.save(update_fields=[*RESULT_FIELDS, "paid_before"])


def _save_totals(application: Application, assessment) -> list[str]:
    application.assistance = money(assessment.assistance)
    application.tilted_assistance = money(assessment.tilted_assistance)
    application.total = money(assessment.total)
    return ["assistance", "tilted_assistance", "total"]


def application_submit(*, application: Application, by) -> Application:
    """Draft → submitted, with a preliminary assessment saved on the bills (预审)."""
    with transaction.atomic():
        application = _locked(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if application.status != S.DRAFT:
            _refuse(application, _("提交"))
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
        application = _locked(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if application.status != S.SUBMITTED:
            _refuse(application, _("撤回"))
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
        application = _locked(application)
        check_allowed(by, "claims.approve_application", region_of(application))
        if application.status != S.SUBMITTED:
            _refuse(application, _("审批"))
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
        application = _locked(application)
        check_allowed(by, "claims.approve_application", region_of(application))
        if application.status != S.SUBMITTED:
            _refuse(application, _("作出不予救助决定"))
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
    if paid_on > selectors.today():
        raise ValidationError({"paid_on": _("支付日期不能晚于今天。")})
    with transaction.atomic():
        application = _locked(application)
        check_allowed(by, "claims.record_payment", region_of(application))
        if application.status != S.APPROVED:
            _refuse(application, _("登记支付"))
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
