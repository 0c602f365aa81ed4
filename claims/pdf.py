"""The approval form (医疗救助审批表) as PDF, made with WeasyPrint.

Rendering goes through core.pdf (one shared FontConfiguration). A batch is one HTML document
with page breaks and one write_pdf call.
"""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import CSS

from core import idnumber
from core.money import format_money, to_chinese_capitals
from core.pdf import render_pdf, stylesheet
from core.regions import agency_name

_STYLESHEET: CSS | None = None


def _stylesheet() -> CSS:
    global _STYLESHEET
    if _STYLESHEET is None:
        _STYLESHEET = stylesheet(render_to_string("claims/pdf/approval_form.css"))
    return _STYLESHEET


def form_context(application) -> dict:
    """What one form shows; amounts formatted here, in one place."""
    bills = list(application.bills.select_related("institution").order_by("id"))
    person = application.person
    categories = sorted({b.get_category_display() for b in bills if b.category})
    return {
        "application": application,
        "agency": agency_name(application.area),
        "person": person,
        "masked_id": idnumber.mask(person.id_number),
        "categories": "、".join(categories) or "—",
        "bills": bills,
        "total_figures": format_money(application.total),
        "total_capitals": to_chinese_capitals(application.total),
        "assistance": format_money(application.assistance),
        "tilted": format_money(application.tilted_assistance),
        "submitted_on": (
            timezone.localdate(application.submitted_at) if application.submitted_at else None
        ),
        "decided_on": (
            timezone.localdate(application.decided_at) if application.decided_at else None
        ),
    }


def render_forms(applications) -> bytes:
    """One PDF holding the approval form of each application, each starting on a new page."""
    html = render_to_string(
        "claims/pdf/approval_form.html",
        {
            "forms": [form_context(a) for a in applications],
            "agency": settings.AGENCY_NAME,
            "printed_at": timezone.localtime(),
        },
    )
    return render_pdf(html, stylesheets=[_stylesheet()])
