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

import dataclasses
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from claims import adapters, bills, services
from claims.models import Application, Bill, Institution, Proposal
from claims.recovery import _alert_status, _live_proposal
from core.dates import shanghai_today
from core.money import format_money
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

    row = Settlement.objects.filter(setl_id=proposal.setl_id, refd_setl_flag=False).first()
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


def record_paid(application: Application, record: str) -> tuple[Decimal, Decimal]:
    """(basic, tilted) the record of a top-up already got: the decided bill's assistance or the
    settlement's net maf_pay (all of it counts as basic, §4), plus decided earlier top-ups."""
    person = application.person
    basic = tilted = ZERO
    kind, _sep, key = record.partition(":")
    if kind == "bill":
        original = Bill.objects.filter(
            pk=int(key),
            active=True,
            covered=True,
            application__status__in=Application.DECIDED_STATUSES,
        ).first()
        if original is not None:
            basic, tilted = original.assistance, original.tilted_assistance
    else:
        for item in adapters.net_settlements(_settlement_rows(person, key)):
            if item["setl_id"] == key:
                basic = item["maf_pay"]
    for bill in Bill.objects.filter(
        application__person=person,
        application__status__in=Application.DECIDED_STATUSES,
        topup_of=record,
        active=True,
    ).exclude(application=application):
        basic += bill.assistance
        tilted += bill.tilted_assistance
    return basic, tilted


def _settlement_rows(person, setl_id: str) -> list:
    """The settlement `setl_id` of the person and its reversals."""
    from monitoring.models import Settlement

    return list(
        Settlement.objects.filter(certno=person.id_number)
        .filter(Q(setl_id=setl_id) | Q(init_setl_id=setl_id))
        .order_by("enddate", "setl_time", "id")
    )


def deduct_paid(application: Application, bills: list[Bill], results: list) -> list:
    """The engine's results for `bills` with what each top-up's record already got deducted.

    Sets `paid_before` on the bills (saved with the result); refuses when nothing is due now."""
    adjusted = []
    for bill, result in zip(bills, results, strict=True):
        if not bill.topup_of:
            adjusted.append(result)
            continue
        basic, tilted = record_paid(application, bill.topup_of)
        due, bill.paid_before = _due_and_paid(application, bill, result, basic + tilted)
        topup = due - bill.paid_before
        if topup <= 0:
            raise ValidationError(
                _(
                    "票据 %(invoice)s：按现有身份应付 %(due)s 元，原记录已支付 %(paid)s 元，无需补发。"
                )
                % {
                    "invoice": bill.invoice_number,
                    "due": format_money(due),
                    "paid": format_money(bill.paid_before),
                }
            )
        # The basic part (toward the cap) is what the visit's basic assistance grew by, within
        # the top-up; the rest is tilted (no cap). Neither is negative.
        added = max(ZERO, min(result.assistance - basic, topup))
        adjusted.append(
            dataclasses.replace(
                result, assistance=added, tilted_assistance=topup - added, total=topup
            )
        )
    return adjusted


def decided_topups(person, year: int) -> dict[str, tuple[Decimal, Decimal]]:
    """Record → (basic assistance, total) the decided top-ups of partly paid records added."""
    added: dict[str, tuple[Decimal, Decimal]] = {}
    for record, basic, total in (
        Bill.objects.filter(
            application__person=person,
            application__status__in=Application.DECIDED_STATUSES,
            year=year,
            active=True,
        )
        .exclude(topup_of="")
        .values_list("topup_of", "assistance", "total")
    ):
        before = added.get(record, (ZERO, ZERO))
        added[record] = (before[0] + basic, before[1] + total)
    return added


def _due_and_paid(application: Application, bill: Bill, result, paid: Decimal):
    """What the record is due now and what it counts as paid. A bill: the engine's assessment
    of the visit, against what the record and its decided top-ups got. A one-stop settlement:
    the proposal's figures — the counter's payment moved by what the identity change did (§11;
    the counter's own figure is not ours to correct), against what was paid or being paid
    when it was proposed (so two top-ups of one settlement pay their own differences in
    whatever order they are approved)."""
    if not bill.topup_of.startswith("setl:"):
        return result.total, paid
    proposal = (
        Proposal.objects.filter(application=application, record=bill.topup_of)
        .order_by("-version")
        .first()
    )
    return (proposal.due, proposal.paid) if proposal is not None else (result.total, paid)


def paid_step_record(bill: Bill) -> dict:
    """The last step of a top-up's assessment (what was paid, what is paid now), stored like
    the engine's steps (claims.engine_text.step_record) and rendered in the reader's language."""
    return {
        "msgid": gettext_noop("应付 %(due)s 元，已支付 %(paid)s 元，本次补发 %(topup)s 元。"),
        "params": {
            "due": format_money(bill.paid_before + bill.total),
            "paid": format_money(bill.paid_before),
            "topup": format_money(bill.total),
        },
    }


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
