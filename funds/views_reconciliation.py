"""Finishing a reconciliation with its balance-reconciliation statement (余额调节表), and the
statement's PDF. Every rule is `reconciliation.reconciliation_done`'s; the page shows the
statement (outstanding items, both balances) before the accountant confirms."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import audit_event
from core.models import AuditEvent
from core.money import format_money
from core.scoping import can_write
from funds import reconciliation
from funds.models import BalanceStatement, Reconciliation
from funds.views import _errors, _fund


class FinishForm(forms.Form):
    statement_balance = forms.DecimalField(
        label=gettext_lazy("对账单期末余额（元）"),
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=gettext_lazy("财政部门对账单上本期末的余额。"),
    )


def _recon(request, area: str, pk: int) -> Reconciliation:
    fund = _fund(request, area)
    return get_object_or_404(Reconciliation.objects.select_related("fund__area"), fund=fund, pk=pk)


@login_required
@permission_required("funds.change_reconciliation", raise_exception=True)
def reconciliation_finish(request, area: str, pk: int):
    """GET: the statement so far; POST `preview`: with the entered statement balance;
    POST `confirm`: finish (refused, with the reason, when the balances do not agree)."""
    recon = _recon(request, area, pk)
    if recon.status == Reconciliation.Status.DONE:
        return redirect("funds:reconciliation_detail", area=area, pk=pk)
    if not can_write(request.user, recon.fund.area_id):
        messages.error(request, _("您只能处理本统筹地区的对账。"))
        return redirect("funds:reconciliation_detail", area=area, pk=pk)
    form = FinishForm(request.POST or None)
    balance = None
    if request.method == "POST" and form.is_valid():
        balance = form.cleaned_data["statement_balance"]
        if "confirm" in request.POST:
            try:
                reconciliation.reconciliation_done(
                    recon=recon, by=request.user, statement_balance=balance
                )
            except ValidationError as exc:
                _errors(request, exc)
            else:
                messages.success(request, _("对账已完成。"))
                return redirect("funds:reconciliation_detail", area=area, pk=pk)
    report = reconciliation.balance_report(recon, balance)
    question = _(
        "完成 %(y)d年%(m)d月对账：账簿余额 %(book)s 元，未达账项 %(n)d 笔，调节后余额 %(adjusted)s 元。"
        "完成后本月对账不能再修改，确定？"
    ) % {
        "y": recon.year,
        "m": recon.month,
        "book": format_money(report.book_balance),
        "n": len(report.items),
        "adjusted": format_money(report.adjusted_book),
    }
    return render(
        request,
        "funds/reconciliation_finish.html",
        {"fund": recon.fund, "recon": recon, "report": report, "form": form, "confirm": question},
    )


@login_required
@permission_required("funds.view_reconciliation", raise_exception=True)
def balance_statement_pdf(request, area: str, pk: int):
    """The stored 余额调节表 of a finished month, as printed."""
    from funds import exports_reconciliation

    recon = _recon(request, area, pk)
    try:
        statement = recon.balance_statement
    except BalanceStatement.DoesNotExist:
        raise Http404 from None
    audit_event(
        by=request.user,
        action=AuditEvent.Action.PRINT,
        obj=recon,
        request=request,
        document="balance_statement",
        format="pdf",
    )
    pdf = exports_reconciliation.balance_statement_pdf(statement, by=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="balance-statement-{recon.fund.area_id}-{recon.year}-'
        f'{recon.month:02d}.pdf"'
    )
    return response
