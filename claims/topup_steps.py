"""The pure steps of a top-up's assessment (补发 of a partly paid record, DOMAIN §11).

What the record already got, the engine's results less it, and the step text. Kept apart from
claims.topup (which creates the supplementary application through services and bills) so the
selectors and services that assess a top-up import no module that imports them.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from claims import adapters
from claims.models import Application, Bill, Proposal
from core.money import format_money

ZERO = Decimal("0.00")


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
