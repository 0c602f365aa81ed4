"""Writes on an application's bills and attachments (a service module: each change takes
`by=`, checks role and region itself, and runs in one transaction under the application's row
lock). Bills and attachments change only while the application is a draft (P §19)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from claims import selectors
from claims.models import Application, Attachment, Bill
from claims.pdfscan import pdf_has_active_content
from claims.services import locked_application, refuse_move
from core.choices import VisitType
from core.dates import shanghai_today
from core.identifiers import normalize_identifier
from core.scoping import check_allowed, region_of

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
            adapters.engine_bill(bill, area_code=application.area_id), shanghai_today()
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
    from monitoring.selectors import settlement_by_setl_id, settlement_paid

    settlement = settlement_by_setl_id(bill.setl_id)
    if settlement is not None:
        if settlement.certno != application.person.id_number:
            raise ValidationError({"setl_id": _("该结算ID不属于本申请人。")})
        if settlement_paid(settlement) > 0:
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
        application = locked_application(application)
        check_allowed(by, "claims.add_bill", region_of(application))
        if not application.is_editable:
            refuse_move(application, _("添加票据"))
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
        application = locked_application(bill.application)
        check_allowed(by, "claims.change_bill", region_of(application))
        if not application.is_editable:
            refuse_move(application, _("修改票据"))
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
        application = locked_application(bill.application)
        check_allowed(by, "claims.delete_bill", region_of(application))
        if not application.is_editable:
            refuse_move(application, _("删除票据"))
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
        application = locked_application(application)
        check_allowed(by, "claims.change_application", region_of(application))
        if application.status not in Application.OPEN_STATUSES:
            refuse_move(application, _("上传材料"))
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
