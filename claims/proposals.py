"""Proposals of the re-assessment (DOMAIN §11): creating, superseding, following up.

A proposal acted on — turned into a supplementary application (补发) or a recovery case (追回)
— is never superseded; what it will still pay decides whether a later change leaves a
remainder, which becomes a new proposal noting the earlier one (claims.corrections).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.models import Application, Bill
from claims.models_corrections import Proposal
from core.money import format_money

ZERO = Decimal("0.00")


@dataclass
class RecordResult:
    """One record of the year: what was paid, what is due now, and both sets of steps."""

    record: str
    visit_type: str
    end_date: date
    paid: Decimal
    due: Decimal
    before_steps: list[str]
    after_steps: list[str]
    category_before: str = ""
    category_after: str = ""
    bill: Bill | None = None
    setl_id: str = ""
    known: bool = True  # False: a settlement whose before-change figure is not known

    @property
    def difference(self) -> Decimal:
        return self.due - self.paid


def acted_on(proposal: Proposal) -> bool:
    return proposal.application_id is not None or hasattr(proposal, "recovery")


def _still_to_pay(proposal: Proposal) -> Decimal | None:
    """What an acted-on proposal has yet to add to the record's payments (0: nothing more, its
    money is already in the year as paid or recovered), or None when its approval re-assesses
    the record and so takes any later change itself (a supplementary bill under way)."""
    application = proposal.application
    if application is None or application.status in (
        *Application.DECIDED_STATUSES,
        Application.Status.REJECTED,
    ):
        return ZERO
    if proposal.record.startswith("setl:") and proposal.paid != 0:
        return proposal.difference  # pays the proposal's figure (claims.topup_steps._due_and_paid)
    return None


def acted_by_record(person, year: int) -> dict[str, list[Proposal]]:
    acted: dict[str, list[Proposal]] = {}
    rows = Proposal.objects.filter(person=person, year=year).filter(
        Q(application__isnull=False) | Q(recovery__isnull=False)
    )
    for proposal in rows.select_related("alert", "application").order_by("version"):
        acted.setdefault(proposal.record, []).append(proposal)
    return acted


def pending_amount(acted: list[Proposal], result: RecordResult | None) -> Decimal | None:
    """What the acted-on proposals of a record will still pay; None (after a note on the one
    under way) when an approval still to come re-assesses the record anyway."""
    pending = ZERO
    for proposal in acted:
        amount = _still_to_pay(proposal)
        if amount is None:
            if result is not None and result.difference != proposal.difference:
                _note(
                    proposal.alert,
                    _("复核后差额为 %(amount)s 元：补发申请 #%(id)s 审批时按现有身份重新测算。")
                    % {
                        "amount": format_money(result.difference),
                        "id": proposal.application_id,
                    },
                )
            return None
        pending += amount
    return pending


def next_version(person, year: int, record: str) -> int:
    versions = Proposal.objects.filter(person=person, year=year, record=record)
    return 1 + max(versions.values_list("version", flat=True), default=0)


def _note(alert, text: str) -> None:
    from monitoring.models import AlertNote

    if not AlertNote.objects.filter(alert=alert, text=text).exists():
        AlertNote.objects.create(alert=alert, text=text)


def note_follows(new: Proposal, earlier: Proposal) -> None:
    """The new proposal is the remainder after one already acted on: say which."""
    done = (
        _("补发申请 #%(id)s") % {"id": earlier.application_id}
        if earlier.application_id
        else _("追回案件 #%(id)s") % {"id": earlier.recovery.pk}
    )
    _note(
        new.alert,
        _("前一建议 %(subject)s 已办理（%(done)s）；本建议为其后身份变更产生的差额。")
        % {"subject": earlier.alert.subject, "done": done},
    )
    new.alert.evidence = {**new.alert.evidence, "follows": earlier.alert.subject}
    new.alert.save(update_fields=["evidence", "updated_at"])


def create_proposal(person, year: int, result: RecordResult, version: int) -> Proposal:
    from monitoring.models import Alert

    top_up = result.difference > 0
    amount = format_money(abs(result.difference))
    message = (
        _("补发 %(amount)s 元（已付 %(paid)s，应付 %(due)s）")
        if top_up
        else _("追回 %(amount)s 元（已付 %(paid)s，应付 %(due)s）")
    ) % {
        "amount": amount,
        "paid": format_money(result.paid),
        "due": format_money(result.due),
    }
    alert = Alert.objects.create(
        kind=Alert.Kind.REASSESSMENT,
        year=year,
        period=str(year),
        certno=person.id_number,
        subject=f"{result.record}/v{version}",
        name=person.name,
        person=person,
        region=person.region,
        amount=result.difference,
        message=message[:300],
        evidence={"record": result.record, "paid": str(result.paid), "due": str(result.due)},
    )
    return Proposal.objects.create(
        alert=alert,
        person=person,
        year=year,
        record=result.record,
        version=version,
        bill=result.bill,
        setl_id=result.setl_id,
        visit_type=result.visit_type,
        end_date=result.end_date,
        direction=Proposal.Direction.TOP_UP if top_up else Proposal.Direction.RECOVERY,
        paid=result.paid,
        due=result.due,
        difference=result.difference,
        category_before=result.category_before,
        category_after=result.category_after,
        before_steps=result.before_steps,
        after_steps=result.after_steps,
    )


def supersede(old: Proposal, new: Proposal | None) -> None:
    from monitoring.models import Alert, AlertNote

    alert = old.alert
    status_from = alert.status
    alert.status = Alert.Status.SUPERSEDED
    alert.closed_at = timezone.now()
    alert.status_reason = (
        _("已被新的复核结果替代（%(subject)s）。") % {"subject": new.alert.subject}
        if new
        else _("复核后已无差额。")
    )
    alert.save(update_fields=["status", "closed_at", "status_reason", "updated_at"])
    AlertNote.objects.create(
        alert=alert, text=alert.status_reason, status_from=status_from, status_to=alert.status
    )
    if new is not None:
        old.superseded_by = new
        old.save(update_fields=["superseded_by"])
