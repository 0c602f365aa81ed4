"""Fund pages: overview, vouchers (maker-checker), periods, budget, reconciliation, reports.

Each view opens with `_fund(request, area)`: another area's fund is a 404, like a record of
another region. Business rules live in services/reconciliation; views show their messages.
"""

import re
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.audit import audit_event
from core.listing import Listing
from core.models import AuditEvent
from core.periods import split_period
from core.scoping import can_write
from funds import charts, reconciliation, selectors, services
from funds.forms import AdjustForm, EntryForm, RejectForm, ReopenForm, ReverseForm, StatementForm
from funds.lists import VOUCHER_COLUMNS
from funds.models import Budget, Reconciliation, StatementLine, Subject, Transaction


def _fund(request, area: str):
    return get_object_or_404(selectors.funds_for(request.user), area_id=area)


def _errors(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _month(value: str | None, default: date) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value or "")
    if match and 1 <= int(match.group(2)) <= 12:
        return int(match.group(1)), int(match.group(2))
    return default.year, default.month


# --- Overview ---------------------------------------------------------------------------


@login_required
@permission_required("funds.view_fund", raise_exception=True)
def index(request):
    funds = list(selectors.funds_for(request.user))
    if len(funds) == 1:
        return redirect("funds:fund", area=funds[0].area_id)
    rows = [
        {"fund": f, "balances": selectors.account_balances(f, timezone.localdate())} for f in funds
    ]
    return render(request, "funds/index.html", {"rows": rows})


@login_required
@permission_required("funds.view_fund", raise_exception=True)
def fund_detail(request, area: str):
    fund = _fund(request, area)
    latest = selectors.latest_day(fund)
    year = int(request.GET.get("year") or latest.year)
    series = selectors.monthly_series(fund, year)
    context = {
        "fund": fund,
        "today": latest,
        "balances": selectors.account_balances(fund, latest),
        "year": year,
        "series": series,
        "chart": charts.monthly_bars(series),
        "pending": selectors.pending_entries(request.user).filter(fund=fund)[:10],
        "recent": Transaction.objects.filter(fund=fund, status=Transaction.Status.POSTED)
        .select_related("created_by")
        .prefetch_related("legs")
        .order_by("-booked_on", "-id")[:10],
        "can_write": can_write(request.user, fund.area_id),
    }
    return render(request, "funds/fund_detail.html", context)


@login_required
@permission_required("funds.view_fund", raise_exception=True)
def subjects(request):
    chart = Subject.objects.select_related("parent").order_by("code")
    return render(request, "funds/subjects.html", {"subjects": chart})


# --- Vouchers ---------------------------------------------------------------------------


@login_required
@permission_required("funds.view_transaction", raise_exception=True)
def transaction_list(request, area: str):
    fund = _fund(request, area)
    listing = Listing(request.GET, VOUCHER_COLUMNS)
    vouchers = listing.sort(selectors.voucher_list(fund, request.user, request.GET))
    if listing.exporting:
        return listing.export(
            vouchers,
            filename="vouchers",
            sheet_title=_("记账凭证"),
            by=request.user,
            request=request,
        )
    page = Paginator(vouchers, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "funds/transaction_list.html",
        {
            "fund": fund,
            "page": page,
            "listing": listing,
            "query": listing.query,
            "status": request.GET.get("status", ""),
            "month": request.GET.get("month", ""),
            "kind": request.GET.get("kind", ""),
            "statuses": Transaction.Status.choices,
            "kinds": Transaction.Kind.choices,
        },
    )


@login_required
@permission_required("funds.view_transaction", raise_exception=True)
def transaction_detail(request, area: str, pk: int):
    fund = _fund(request, area)
    voucher = get_object_or_404(
        Transaction.objects.select_related("created_by", "approved_by", "reverses"),
        fund=fund,
        pk=pk,
    )
    return render(
        request,
        "funds/transaction_detail.html",
        {
            "fund": fund,
            "voucher": voucher,
            "source": selectors.voucher_source(voucher),
            "legs": voucher.legs.select_related("subject__parent"),
            "draft": selectors.draft_lines(voucher),
            "reject_form": RejectForm(),
            "reverse_form": ReverseForm(initial={"booked_on": timezone.localdate()}),
            "reversed_by": Transaction.objects.filter(reverses=voucher).first(),
            "can_write": can_write(request.user, fund.area_id),
        },
    )


@login_required
@permission_required("funds.add_transaction", raise_exception=True)
def entry_new(request, area: str):
    fund = _fund(request, area)
    form = EntryForm(request.POST or None, initial={"booked_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            voucher = services.entry_propose(
                fund=fund,
                kind=data["kind"],
                booked_on=data["booked_on"],
                account=data["account"],
                counter=data["counter"],
                amount=data["amount"],
                memo=data["memo"],
                reference=data["reference"],
                by=request.user,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("凭证已录入，等待复核。"))
            return redirect("funds:transaction_detail", area=area, pk=voucher.pk)
    return render(request, "funds/entry_form.html", {"fund": fund, "form": form})


@login_required
@permission_required("funds.approve_transaction", raise_exception=True)
@require_POST
def entry_approve(request, area: str, pk: int):
    fund = _fund(request, area)
    voucher = get_object_or_404(Transaction, fund=fund, pk=pk)
    try:
        services.entry_approve(voucher=voucher, by=request.user)
        messages.success(request, _("凭证已复核记账。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:transaction_detail", area=area, pk=pk)


@login_required
@permission_required("funds.approve_transaction", raise_exception=True)
@require_POST
def entry_reject(request, area: str, pk: int):
    fund = _fund(request, area)
    voucher = get_object_or_404(Transaction, fund=fund, pk=pk)
    form = RejectForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请填写退回原因。"))
        services.entry_reject(voucher=voucher, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, _("凭证已退回。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:transaction_detail", area=area, pk=pk)


@login_required
@permission_required("funds.add_transaction", raise_exception=True)
@require_POST
def entry_reverse(request, area: str, pk: int):
    fund = _fund(request, area)
    voucher = get_object_or_404(Transaction, fund=fund, pk=pk)
    form = ReverseForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("请填写冲销原因和日期。"))
        if not can_write(request.user, fund.area_id):
            raise ValidationError(_("您只能为本统筹地区的基金记账。"))
        reversal = services.transaction_reverse(
            voucher=voucher,
            by=request.user,
            memo=_("冲销：%(memo)s（%(why)s）")
            % {"memo": voucher.memo, "why": form.cleaned_data["memo"]},
            booked_on=form.cleaned_data["booked_on"],
        )
        messages.success(request, _("冲销凭证已录入，等待复核。"))
        return redirect("funds:transaction_detail", area=area, pk=reversal.pk)
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:transaction_detail", area=area, pk=pk)


# --- Periods and budget -----------------------------------------------------------------


@login_required
@permission_required("funds.view_fund", raise_exception=True)
def period_list(request, area: str):
    fund = _fund(request, area)
    year = int(request.GET.get("year") or selectors.latest_day(fund).year)
    return render(
        request,
        "funds/period_list.html",
        {
            "fund": fund,
            "year": year,
            "months": selectors.period_overview(fund, year),
            "reopen_form": ReopenForm(),
            "can_close": request.user.has_perm("funds.close_period"),
            "can_reopen": request.user.has_perm("funds.reopen_period"),
        },
    )


@login_required
@permission_required("funds.close_period", raise_exception=True)
@require_POST
def period_close(request, area: str, year: int, month: int):
    fund = _fund(request, area)
    try:
        services.period_close(fund=fund, year=year, month=month, by=request.user)
        messages.success(request, _("%(y)d年%(m)d月已结账。") % {"y": year, "m": month})
    except ValidationError as exc:
        _errors(request, exc)
    return redirect(f"{_url('funds:period_list', area)}?year={year}")


@login_required
@permission_required("funds.reopen_period", raise_exception=True)
@require_POST
def period_reopen(request, area: str, year: int, month: int):
    fund = _fund(request, area)
    form = ReopenForm(request.POST)
    try:
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        services.period_reopen(fund=fund, year=year, month=month, by=request.user, reason=reason)
        messages.success(request, _("%(y)d年%(m)d月已反结账。") % {"y": year, "m": month})
    except ValidationError as exc:
        _errors(request, exc)
    return redirect(f"{_url('funds:period_list', area)}?year={year}")


def _url(name, area):
    from django.urls import reverse

    return reverse(name, kwargs={"area": area})


@login_required
@permission_required("funds.view_budget", raise_exception=True)
def budget(request, area: str, year: int | None = None):
    fund = _fund(request, area)
    year = year or selectors.latest_day(fund).year
    subjects = list(
        Subject.objects.exclude(kind=Subject.Kind.ACCOUNT).select_related("parent").order_by("code")
    )
    current = {b.subject_id: b.amount for b in Budget.objects.filter(fund=fund, year=year)}
    if request.method == "POST":
        if not request.user.has_perm("funds.change_budget"):
            raise PermissionDenied
        try:
            for s in subjects:
                raw = (request.POST.get(f"b_{s.code}") or "").strip().replace(",", "")
                if raw == "" and s.code not in current:
                    continue
                services.budget_set(
                    fund=fund, year=year, subject=s.code, amount=raw or "0", by=request.user
                )
            messages.success(request, _("预算已保存。"))
            return redirect("funds:budget", area=area, year=year)
        except (ValidationError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                _errors(request, exc)
            else:
                messages.error(request, _("预算金额格式错误。"))
    rows = [{"subject": s, "amount": current.get(s.code)} for s in subjects]
    return render(
        request,
        "funds/budget.html",
        {
            "fund": fund,
            "year": year,
            "rows": rows,
            "can_change": request.user.has_perm("funds.change_budget")
            and can_write(request.user, fund.area_id),
        },
    )


# --- Reconciliation ---------------------------------------------------------------------


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
            year, month = _month(form.cleaned_data["period"], timezone.localdate())
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
            "can_change": recon.status == Reconciliation.Status.OPEN
            and request.user.has_perm("funds.change_reconciliation")
            and can_write(request.user, fund.area_id),
        },
    )


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
        reconciliation.match_manual(
            recon=recon, line_ids=line_ids, leg_ids=leg_ids, by=request.user
        )
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
        reconciliation.match_undo(match=found, by=request.user, request=request)
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
        count = reconciliation.reconciliation_rematch(recon=recon, by=request.user)
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
        voucher = reconciliation.line_adjust(
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
        reconciliation.reconciliation_done(recon=recon, by=request.user)
        messages.success(request, _("对账已完成。"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("funds:reconciliation_detail", area=area, pk=pk)


# --- Reports ----------------------------------------------------------------------------


def _report_period(value: str) -> tuple[int, int | None]:
    """(year, month or None for the whole year); anything else is refused, never read as
    another month (`2023-13`, `abc`, `0000`)."""
    parts = split_period(value, one_digit_month=True)
    if parts is None:
        raise ValidationError(
            _("报表期间“%(period)s”无效：请填写年份 YYYY 或月份 YYYY-MM（月份 01–12）。")
            % {"period": value}
        )
    return parts


def _report(request, fund):
    """The report the `period` parameter asks for (none: the latest month with entries).
    Raises ValidationError for a malformed period."""
    period = request.GET.get("period", "").strip()
    if not period:
        latest = selectors.latest_day(fund)
        return selectors.month_report(fund, latest.year, latest.month)
    year, month = _report_period(period)
    if month is None:
        return selectors.year_report(fund, year)
    return selectors.month_report(fund, year, month)


def _report_refused(request, fund, exc: ValidationError):
    """A malformed period: the report page (portal layout) with the error, status 400 —
    also for the Excel and PDF links, which then give no file."""
    return render(
        request,
        "funds/report.html",
        {
            "fund": fund,
            "report": None,
            "period": request.GET.get("period", ""),
            "period_errors": exc.messages,
        },
        status=400,
    )


@login_required
@permission_required("funds.view_fund", raise_exception=True)
def report(request, area: str):
    fund = _fund(request, area)
    try:
        report = _report(request, fund)
    except ValidationError as exc:
        return _report_refused(request, fund, exc)
    return render(
        request,
        "funds/report.html",
        {"fund": fund, "report": report, "period": report.period_param},
    )


@login_required
@permission_required("funds.view_fund", raise_exception=True)
def report_xlsx(request, area: str):
    from funds import exports  # WeasyPrint and openpyxl load only when exporting

    fund = _fund(request, area)
    try:
        report = _report(request, fund)
    except ValidationError as exc:
        return _report_refused(request, fund, exc)
    audit_event(
        by=request.user,
        action=AuditEvent.Action.EXPORT,
        obj=fund,
        request=request,
        report=report.period_param,
        format="xlsx",
    )
    response = HttpResponse(
        exports.report_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="fund-report-{fund.area_id}-{report.period_param}.xlsx"'
    )
    return response


@login_required
@permission_required("funds.view_fund", raise_exception=True)
def report_pdf(request, area: str):
    from funds import exports  # WeasyPrint and openpyxl load only when exporting

    fund = _fund(request, area)
    try:
        report = _report(request, fund)
    except ValidationError as exc:
        return _report_refused(request, fund, exc)
    audit_event(
        by=request.user,
        action=AuditEvent.Action.PRINT,
        obj=fund,
        request=request,
        report=report.period_param,
        format="pdf",
    )
    response = HttpResponse(
        exports.report_pdf(report, by=request.user), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        f'inline; filename="fund-report-{fund.area_id}-{report.period_param}.pdf"'
    )
    return response
