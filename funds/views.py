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
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.audit import audit_event
from core.dates import shanghai_today
from core.listing import Listing
from core.models import AuditEvent
from core.periods import split_period
from core.scoping import can_write
from funds import charts, periods, selectors, services
from funds.forms import EntryForm, RejectForm, ReopenForm, ReverseForm
from funds.lists import VOUCHER_COLUMNS
from funds.models import Budget, Subject, Transaction


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
    rows = [{"fund": f, "balances": selectors.account_balances(f, shanghai_today())} for f in funds]
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
            "reverse_form": ReverseForm(initial={"booked_on": shanghai_today()}),
            "reversed_by": Transaction.objects.filter(reverses=voucher).first(),
            "can_write": can_write(request.user, fund.area_id),
        },
    )


@login_required
@permission_required("funds.add_transaction", raise_exception=True)
def entry_new(request, area: str):
    fund = _fund(request, area)
    form = EntryForm(request.POST or None, initial={"booked_on": shanghai_today()})
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
        periods.period_close(fund=fund, year=year, month=month, by=request.user)
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
        periods.period_reopen(fund=fund, year=year, month=month, by=request.user, reason=reason)
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
        amounts = {s.code: request.POST.get(f"b_{s.code}", "") for s in subjects}
        try:
            periods.budget_save(fund=fund, year=year, amounts=amounts, by=request.user)
        except ValidationError as exc:
            _errors(request, exc)
        else:
            messages.success(request, _("预算已保存。"))
            return redirect("funds:budget", area=area, year=year)
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
