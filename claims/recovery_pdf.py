"""The recovery notice (追回通知书, DOMAIN §11) as PDF, through core.pdf (one FontConfiguration)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from core import idnumber
from core.money import format_money, to_chinese_capitals
from core.pdf import render_pdf, stylesheet
from core.regions import agency_name

_STYLESHEET = None


def _stylesheet():
    global _STYLESHEET
    if _STYLESHEET is None:
        _STYLESHEET = stylesheet(render_to_string("claims/corrections/recovery_notice.css"))
    return _STYLESHEET


def notice_context(case) -> dict:
    """What the notice shows; amounts formatted here, in one place."""
    proposal = case.proposal
    return {
        "case": case,
        "proposal": proposal,
        "person": case.person,
        "masked_id": idnumber.mask(case.person.id_number),
        "amount_figures": format_money(case.amount),
        "amount_capitals": to_chinese_capitals(case.amount),
        "outstanding": format_money(case.outstanding),
        "paid": format_money(proposal.paid),
        "due": format_money(proposal.due),
        "agency": agency_name(case.area),
        "approved_on": timezone.localdate(case.approved_at) if case.approved_at else None,
        "printed_at": timezone.localtime(),
    }


def render_notice(case) -> bytes:
    html = render_to_string("claims/corrections/recovery_notice.html", notice_context(case))
    return render_pdf(html, stylesheets=[_stylesheet()])
