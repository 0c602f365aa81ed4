"""Reconciliation pages: importing the month's statement, matching by hand, and finishing
with the balance-reconciliation statement (余额调节表) and its PDF. Every rule is in
`funds.reconciliation`, `funds.matching` and `funds.balance_statement`; finishing shows the
statement (outstanding items, both balances) before the accountant confirms."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.audit import audit_event
from core.dates import shanghai_today
from core.models import AuditEvent
from core.money import format_money
from core.scoping import can_write
from funds import balance_statement, matching, reconciliation, selectors
from funds.forms import AdjustForm, StatementForm
from funds.models import BalanceStatement, Reconciliation, StatementLine
from funds.views import _errors, _fund, _month


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
@permission_required("funds.view_reconciliation", raise_exception=True)
def reconciliation_list(request, area: str):
    fund = _fund(request, area)
    form = StatementForm(
        request.POST or None,
        request.FILES or None,
        initial={"period": selectors.latest_day(fund).strftime("%Y-%m")},
    )
    if request.method == "POST":
        if not request.user.has_perm("funds.add_reconciliation"):
            raise PermissionDenied
        if form.is_valid():
            year, month = _month(form.cleaned_data["period"], shanghai_today())
            upload = form.cleaned_data["file"]
            try:
                if not can_write(request.user, fund.area_id):
                    raise ValidationError(_("您只能处理本统筹地区的对账。"))
                result = reconciliation.statement_reconcile(
                    fund=fund,
                    year=year,
                    month=month,
                    file_or_path=upload,
                    filename=upload.name,
                    by=request.user,
                )
            except reconciliation.StatementError as exc:
                form.add_error("file", str(exc))
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if result["errors"]:
                    return render(
                        request,
                        "funds/reconciliation_list.html",
                        {
                            "fund": fund,
                            "form": form,
                            "result": result,
                            "recons": Reconciliation.objects.filter(fund=fund),
                        },
                    )
                messages.success(
                    request,
                    _("对账单已导入：%(lines)d 行，自动匹配 %(matched)d 行。")
                    % {"lines": result["lines"], "matched": result["matched"]},
                )
                recon = Reconciliation.objects.get(fund=fund, year=year, month=month)
                return redirect("funds:reconciliation_detail", area=area, pk=recon.pk)
    recons = Reconciliation.objects.filter(fund=fund).select_related("done_by", "imported_by")
    return render(
        request,
        "funds/reconciliation_list.html",
        {"fund": fund, "form": form, "recons": recons, "result": None},
    )


@login_required
@permission_required("funds.view_reconciliation", raise_exception=True)
def reconciliation_detail(request, area: str, pk: int):
    fund = _fund(request, area)
    recon = get_object_or_404(Reconciliation, fund=fund, pk=pk)
    sides = reconciliation.reconciliation_sides(recon)
    return render(
        request,
        "funds/reconciliation_detail.html",
        {
            "fund": fund,
            "recon": recon,
            **sides,
            "unmatched_ledger_in_period": [
                leg
                for leg in sides["unmatched_legs"]
                if sides["period_first"] <= leg.booked_on <= sides["period_last"]
            ],
            "adjust_form": AdjustForm(),
            "balance_report": _balance_report(recon),
            "can_change": recon.status == Reconciliation.Status.OPEN
            and request.user.has_perm("funds.change_reconciliation")
            and can_write(request.user, fund.area_id),
        },
    )


def _balance_report(recon: Reconciliation):
    """The 余额调节表 the month was finished with, as signed (None: finished without one)."""
    statement = getattr(recon, "balance_statement", None)
    return balance_statement.stored_report(statement) if statement is not None else None


def _recon_action(request, area, pk):
    fund = _fund(request, area)
    return get_object_or_404(Reconciliation, fund=fund, pk=pk)


@login_required
@permission_required("funds.change_reconciliation", raise_exception=True)
@require_POST
def reconciliation_match(request, area: str, pk: int):
    recon = _recon_action(request, area, pk)
    try:
        line_ids = [int(x) for x in request.POST.getlist("line")]
        leg_ids = [int(x) for x in request.POST.getlist("leg")]
        matching.match_manual(recon=recon, line_ids=line_ids, leg_ids=leg_ids, by=request.user)
        messages.success(request, _("已手工匹配。"))
    except ValueError:
        messages.error(request, _("选择无效。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:reconciliation_detail", area=area, pk=pk)


@login_required
@permission_required("funds.change_reconciliation", raise_exception=True)
@require_POST
def reconciliation_unmatch(request, area: str, pk: int, match: int):
    recon = _recon_action(request, area, pk)
    found = get_object_or_404(recon.matches, pk=match)
    try:
        matching.match_undo(match=found, by=request.user, request=request)
        messages.success(request, _("已取消匹配。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:reconciliation_detail", area=area, pk=pk)


@login_required
@permission_required("funds.change_reconciliation", raise_exception=True)
@require_POST
def reconciliation_rematch(request, area: str, pk: int):
    recon = _recon_action(request, area, pk)
    try:
        count = matching.reconciliation_rematch(recon=recon, by=request.user)
        messages.success(request, _("重新自动匹配：新增 %(n)d 项。") % {"n": count})
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:reconciliation_detail", area=area, pk=pk)


@login_required
@permission_required("funds.add_transaction", raise_exception=True)
@require_POST
def reconciliation_adjust(request, area: str, pk: int, line: int):
    recon = _recon_action(request, area, pk)
    statement_line = get_object_or_404(StatementLine, reconciliation=recon, pk=line)
    form = AdjustForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请选择对方科目。"))
        voucher = matching.line_adjust(
            line=statement_line,
            counter=form.cleaned_data["counter"],
            memo=form.cleaned_data["memo"],
            by=request.user,
        )
        messages.success(
            request,
            _("调整分录已录入（凭证 #%(pk)d），复核记账后请点“重新自动匹配”。")
            % {"pk": voucher.pk},
        )
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:reconciliation_detail", area=area, pk=pk)


@login_required
@permission_required("funds.change_reconciliation", raise_exception=True)
@require_POST
def reconciliation_done(request, area: str, pk: int):
    recon = _recon_action(request, area, pk)
    try:
        balance_statement.reconciliation_done(recon=recon, by=request.user)
        messages.success(request, _("对账已完成。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:reconciliation_detail", area=area, pk=pk)


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
                balance_statement.reconciliation_done(
                    recon=recon, by=request.user, statement_balance=balance
                )
            except ValidationError as exc:
                _errors(request, exc)
            else:
                messages.success(request, _("对账已完成。"))
                return redirect("funds:reconciliation_detail", area=area, pk=pk)
    report = balance_statement.balance_report(recon, balance)
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
