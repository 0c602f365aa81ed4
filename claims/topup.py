"""Supplementary applications (补发, DOMAIN §11): a top-up proposal becomes an application.

The application is an ordinary one of kind `supplementary`, pre-filled with the record's bill,
so the usual flow does the rest: submit, maker-checker approval (the engine assesses it against
the year's records as they are now), the printed approval form, payment posting.

A record nothing was paid for (a bill of a rejected application, an uncovered bill, a
one-stop settlement with no assistance at the counter) is replaced by the copy: the engine's
assessment of the copy *is* the top-up. A record already partly paid is topped up instead: the
copy carries `topup_of` (the record) and is assessed as the visit — the record itself left out
of the year-to-date state — less what the record already got, as an explicit last step
("已支付 X 元，本次补发 Y 元"). Once decided, the copy is no visit of its own: the replay adds
its basic assistance to the record's (selectors.year_to_date_for), so the visit's deductibles
and cap count once.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from claims import bills, services
from claims.models import Application, Bill, Institution, Proposal
from claims.recovery import _alert_status, _live_proposal
from core.dates import shanghai_today
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


ZERO = Decimal("0.00")


def _suffix(proposal: Proposal) -> str:
    """ "-补发", then "-补发2", … for later top-ups of the same record (numbers stay unique)."""
    earlier = Bill.objects.filter(
        application__person=proposal.person, topup_of=proposal.record, active=True
    ).count()
    return "-补发" if not earlier else f"-补发{earlier + 1}"


def _bill_fields(proposal: Proposal) -> dict:
    """The pre-filled bill: a copy of the record's bill, or the settlement as a manual bill
    carrying its settlement ID (so the replay counts the visit once, as the bill). A partly
    paid settlement's copy carries no settlement ID: the settlement stays the visit."""
    partly_paid = proposal.paid != 0
    if proposal.bill_id is not None:
        bill = proposal.bill
        fields = {name: getattr(bill, name) for name in BILL_FIELDS}
        if bill.active:
            # The original stays; the copy is a new bill of the same visit, told apart by its
            # number.
            suffix = _suffix(proposal)
            fields["invoice_number"] = bill.invoice_number[: 40 - len(suffix)] + suffix
            fields["setl_id"] = ""
        return fields
    from monitoring.models import Settlement

    row = Settlement.objects.by_setl_id(proposal.setl_id).filter(refd_setl_flag=False).first()
    institution = Institution.objects.filter(code=row.fixmedins_code).first() if row else None
    if institution is None:
        raise ValidationError(_("结算记录的医药机构不在机构目录中，请先维护机构目录。"))
    inpatient = row.visit_type == "inpatient"
    return {
        "institution": institution,
        "visit_type": row.visit_type,
        "admitted": row.begndate if inpatient else None,
        "discharged": row.enddate if inpatient else None,
        "service_date": None if inpatient else row.enddate,
        "invoice_number": (f"结算{row.setl_id}"[:34] + _suffix(proposal))
        if partly_paid
        else f"结算{row.setl_id}"[:40],
        "setl_id": "" if partly_paid else row.setl_id,
        "total_cost": row.medfee_sumamt,
        "policy_range_cost": row.inscp_scp_amt,
        "basic_insurance_paid": row.hifp_pay,
        "critical_illness_paid": row.hifmi_pay,
        "out_of_catalog_cost": row.fulamt_ownpay_amt,
        "referred": True,
    }


def topup_refusal(proposal: Proposal) -> str | None:
    """Why this top-up cannot become a supplementary application (shown on the page), or None."""
    if proposal.paid < 0:
        return _("该记录已有追回，差额补发须人工办理。")
    return None


def proposal_to_application(*, proposal: Proposal, by) -> Application:
    """A caseworker turns a top-up proposal into a draft supplementary application (补发)."""
    from monitoring.models import Alert

    check_allowed(by, "claims.add_application", region_of(proposal))
    with transaction.atomic():
        proposal = _live_proposal(proposal, Proposal.Direction.TOP_UP)
        refusal = topup_refusal(proposal)
        if refusal:
            raise ValidationError(refusal)
        application = services.application_create(
            person=proposal.person,
            by=by,
            received_on=shanghai_today(),
            kind=Application.Kind.SUPPLEMENTARY,
            note=(_("补发：待遇复核建议 %(subject)s") % {"subject": proposal.alert.subject})[:500],
        )
        bill = bills.bill_add(application=application, by=by, **_bill_fields(proposal))
        if proposal.paid != 0:
            bill.topup_of = proposal.record
            bill.paid_before = proposal.paid
            bill.save(update_fields=["topup_of", "paid_before"])
        proposal.application = application
        proposal.save(update_fields=["application"])
        _alert_status(
            proposal.alert,
            Alert.Status.IN_PROGRESS,
            _("已生成补发申请 #%(id)s。") % {"id": application.pk},
            by,
        )
    return application


def supplementary_bill(proposal: Proposal) -> Bill | None:
    application = proposal.application
    return application.bills.first() if application else None
