"""Clearing pages (DOMAIN §10): list and compute, detail with approve/pay, drill-down to the
settlements behind a line, the 清算单 PDF per payee and the Excel export.

Each view opens with `_clearing(request, area, pk)` (another area's clearing is a 404);
every rule (roles, region, maker-checker, open period) is the service's, shown as messages.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.audit import audit_event
from core.dates import shanghai_today
from core.listing import Listing
from core.models import AuditEvent
from core.scoping import can_write, scoped
from funds import clearing as services
from funds.clearing_refile import refiled_since_clearing
from funds.lists import CLEARING_COLUMNS
from funds.models import Clearing, ClearingLine
from funds.views import _errors, _fund

VIEW = "funds.view_clearing"


class ComputeForm(forms.Form):
    period = forms.RegexField(
        label=gettext_lazy("清算月份"), regex=r"^[0-9]{4}-[0-9]{2}$", max_length=7
    )


class PayForm(forms.Form):
    paid_on = forms.DateField(label=gettext_lazy("支付日期"))
    reference = forms.CharField(label=gettext_lazy("转账凭证号"), max_length=40, required=False)


def _clearing(request, area: str, pk: int) -> Clearing:
    fund = _fund(request, area)
    queryset = scoped(Clearing.objects.filter(fund=fund), request.user)
    return get_object_or_404(queryset.select_related("fund__area"), pk=pk)


@login_required
@permission_required(VIEW, raise_exception=True)
def clearing_list(request, area: str):
    fund = _fund(request, area)
    if request.method == "POST":
        form = ComputeForm(request.POST)
        if form.is_valid():
            try:
                result = services.clearing_compute(
                    area_code=fund.area_id, period=form.cleaned_data["period"], by=request.user
                )
            except ValidationError as exc:
                _errors(request, exc)
            else:
                if result.clearing is None:
                    messages.info(request, _("该月没有需要清算的结算记录。"))
                else:
                    messages.success(request, _("清算单已计算（草稿），请由另一人审核。"))
                    return redirect("funds:clearing_detail", fund.area_id, result.clearing.pk)
    else:
        form = ComputeForm(initial={"period": request.GET.get("period", "")})
    listing = Listing(request.GET, CLEARING_COLUMNS)
    clearings = listing.sort(
        scoped(Clearing.objects.filter(fund=fund), request.user).select_related(
            "computed_by", "approved_by", "paid_by"
        )
    )
    if listing.exporting:
        return listing.export(
            clearings,
            filename="clearings",
            sheet_title=_("清算单"),
            by=request.user,
            request=request,
        )
    context = {
        "fund": fund,
        "clearings": clearings,
        "listing": listing,
        "form": form,
        "can_compute": request.user.has_perm("funds.compute_clearing")
        and can_write(request.user, fund.area_id),
    }
    return render(request, "funds/clearing_list.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
def clearing_detail(request, area: str, pk: int):
    clearing = _clearing(request, area, pk)
    writable = can_write(request.user, clearing.fund.area_id)
    context = {
        "fund": clearing.fund,
        "clearing": clearing,
        "payees": services.clearing_payees(clearing),
        "pay_form": PayForm(initial={"paid_on": shanghai_today()}),
        "can_approve": writable and request.user.has_perm("funds.approve_clearing"),
        "can_pay": writable and request.user.has_perm("funds.pay_clearing"),
        "history": clearing.history.select_related("history_user").order_by("-history_date"),
        # a draft follows the dictionary (recomputed); an approved or paid one keeps its amounts
        "refiled": 0
        if clearing.status == Clearing.Status.DRAFT
        else refiled_since_clearing(clearing),
    }
    return render(request, "funds/clearing_detail.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def clearing_approve(request, area: str, pk: int):
    clearing = _clearing(request, area, pk)
    try:
        services.clearing_approve(clearing=clearing, by=request.user)
        messages.success(request, _("清算单已审核。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:clearing_detail", area, pk)


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def clearing_pay(request, area: str, pk: int):
    clearing = _clearing(request, area, pk)
    form = PayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的支付日期。"))
        return redirect("funds:clearing_detail", area, pk)
    try:
        services.clearing_pay(
            clearing=clearing,
            by=request.user,
            paid_on=form.cleaned_data["paid_on"],
            reference=form.cleaned_data["reference"],
        )
        messages.success(request, _("清算支付已登记并记账。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:clearing_detail", area, pk)


@login_required
@permission_required(VIEW, raise_exception=True)
def clearing_line(request, area: str, pk: int, line: int):
    """Drill-down: the settlements a line holds."""
    clearing = _clearing(request, area, pk)
    line = get_object_or_404(ClearingLine, clearing=clearing, pk=line)
    settlements = services.line_settlements(line)
    page = Paginator(settlements, 50).get_page(request.GET.get("page"))
    context = {"fund": clearing.fund, "clearing": clearing, "line": line, "page": page}
    return render(request, "funds/clearing_line.html", context)


def _audit_print(request, clearing: Clearing, fmt: str, **detail) -> None:
    audit_event(
        by=request.user,
        action=AuditEvent.Action.PRINT if fmt == "pdf" else AuditEvent.Action.EXPORT,
        obj=clearing,
        request=request,
        period=clearing.period,
        format=fmt,
        **detail,
    )


@login_required
@permission_required(VIEW, raise_exception=True)
def clearing_pdf(request, area: str, pk: int, payee: str):
    """The 清算单 of one payee (an institution, or the cross-area settlement)."""
    from funds import exports_clearing

    clearing = _clearing(request, area, pk)
    group = next((p for p in services.clearing_payees(clearing) if p.payee == payee), None)
    if group is None:
        raise Http404
    _audit_print(request, clearing, "pdf", payee=payee)
    pdf = exports_clearing.statement_pdf(clearing, group, by=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="clearing-{clearing.fund.area_id}-{clearing.period}-{payee}.pdf"'
    )
    return response


@login_required
@permission_required(VIEW, raise_exception=True)
@require_POST
def clearing_pdf_batch(request, area: str, pk: int):
    """The 清算单 of the selected payees (or all, with `all`) as one PDF document."""
    from funds import exports_clearing

    clearing = _clearing(request, area, pk)
    payees = services.clearing_payees(clearing)
    if not request.POST.get("all"):
        chosen = set(request.POST.getlist("payee"))
        payees = [p for p in payees if p.payee in chosen]
    if not payees:
        messages.error(request, _("请选择要打印清算单的收款方。"))
        return redirect("funds:clearing_detail", area, pk)
    _audit_print(request, clearing, "pdf", payees=[p.payee for p in payees])
    pdf = exports_clearing.statements_pdf(clearing, payees, by=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="clearing-{clearing.fund.area_id}-{clearing.period}.pdf"'
    )
    return response


@login_required
@permission_required(VIEW, raise_exception=True)
def clearing_xlsx(request, area: str, pk: int):
    """The lines and the settlements behind each line, as a workbook."""
    from funds import exports_clearing

    clearing = _clearing(request, area, pk)
    _audit_print(request, clearing, "xlsx")
    response = HttpResponse(
        exports_clearing.clearing_xlsx(clearing),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="clearing-{clearing.fund.area_id}-{clearing.period}.xlsx"'
    )
    return response
