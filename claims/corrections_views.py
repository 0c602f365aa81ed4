"""Pages of corrections (DOMAIN §11): the proposal queue, a proposal with its before/after steps
and its action, a recovery case with its notice PDF and repayment form.

Each view opens with one scoped access helper (another region's record is a 404) and calls a
service for every change; a service's ValidationError is flashed in Chinese.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from claims import recovery, topup
from claims.models import Proposal, RecoveryCase
from core.scoping import can_write, scoped
from monitoring.models import Alert


def _proposal(request, pk: int) -> Proposal:
    rows = Proposal.objects.select_related("alert", "person", "bill", "application")
    return get_object_or_404(scoped(rows, request.user), pk=pk)


def _case(request, pk: int) -> RecoveryCase:
    rows = RecoveryCase.objects.select_related("person", "proposal", "proposal__alert", "area")
    return get_object_or_404(scoped(rows, request.user), pk=pk)


def _flash(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
@permission_required("monitoring.view_alert", raise_exception=True)
def proposal_list(request):
    """The alert queue's kind `reassessment`: open ones first; filters by status and direction."""
    rows = scoped(Proposal.objects.select_related("alert", "person"), request.user)
    status = request.GET.get("status", "active")
    if status == "active":
        rows = rows.filter(alert__status__in=Alert.ACTIVE)
    elif status in Alert.Status.values:
        rows = rows.filter(alert__status=status)
    direction = request.GET.get("direction")
    if direction in Proposal.Direction.values:
        rows = rows.filter(direction=direction)
    run = request.GET.get("run", "")
    if run.isdigit():
        from claims.models import ReassessmentRun

        pairs = ReassessmentRun.objects.filter(pk=run).values_list("person_years", flat=True)
        persons = {p for value in pairs for p, _y in value}
        rows = rows.filter(person_id__in=persons)
    page = Paginator(rows.order_by("-id"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "claims/corrections/proposal_list.html",
        {
            "page": page,
            "status": status,
            "direction": direction,
            "statuses": [("active", _("待处理")), *Alert.Status.choices],
            "directions": Proposal.Direction.choices,
        },
    )


@login_required
@permission_required("monitoring.view_alert", raise_exception=True)
def proposal_detail(request, pk: int):
    proposal = _proposal(request, pk)
    writable = can_write(request.user, proposal.person.region_id)
    case = RecoveryCase.objects.filter(proposal=proposal).first()
    return render(
        request,
        "claims/corrections/proposal_detail.html",
        {
            "proposal": proposal,
            "alert": proposal.alert,
            "case": case,
            "can_act": writable
            and request.user.has_perm("claims.add_application")
            and proposal.alert.is_active
            and not proposal.application_id
            and case is None,
            "topup_refusal": topup.topup_refusal(proposal),
            "successor": proposal.superseded_by,
        },
    )


@login_required
@permission_required("claims.add_application", raise_exception=True)
@require_POST
def proposal_act(request, pk: int):
    """补发 → a draft supplementary application; 追回 → a recovery case (待审批)."""
    proposal = _proposal(request, pk)
    try:
        if proposal.direction == Proposal.Direction.TOP_UP:
            application = topup.proposal_to_application(proposal=proposal, by=request.user)
        else:
            case = recovery.recovery_open(proposal=proposal, by=request.user)
    except ValidationError as exc:
        _flash(request, exc)
        return redirect("claims:proposal_detail", proposal.pk)
    if proposal.direction == Proposal.Direction.TOP_UP:
        messages.success(request, _("已生成补发申请，请核对票据后提交审批。"))
        return redirect("claims:application_detail", application.pk)
    messages.success(request, _("已立追回案件，等待审核人审批。"))
    return redirect("claims:recovery_detail", case.pk)


@login_required
@permission_required("claims.view_application", raise_exception=True)
def recovery_detail(request, pk: int):
    case = _case(request, pk)
    user = request.user
    writable = can_write(user, case.person.region_id)
    S = RecoveryCase.Status
    return render(
        request,
        "claims/corrections/recovery_detail.html",
        {
            "case": case,
            "proposal": case.proposal,
            "repayments": case.repayments.select_related("voucher", "recorded_by"),
            "can_approve": writable
            and case.status == S.PROPOSED
            and user.has_perm("claims.approve_application")
            and recovery.approve_refusal(case, user) is None,
            "approve_refusal": recovery.approve_refusal(case, user),
            "can_notify": writable
            and case.status == S.APPROVED
            and user.has_perm("claims.print_application"),
            "can_repay": writable
            and case.status in (S.APPROVED, S.NOTIFIED)
            and user.has_perm("claims.record_payment")
            and recovery.repay_refusal(case, user) is None,
            "can_print": case.status != S.PROPOSED and user.has_perm("claims.view_application"),
        },
    )


@login_required
@require_POST
def recovery_approve(request, pk: int):
    case = _case(request, pk)
    try:
        recovery.recovery_approve(case=case, by=request.user)
        messages.success(request, _("追回案件已审批，应收追回待遇款已记账。"))
    except ValidationError as exc:
        _flash(request, exc)
    return redirect("claims:recovery_detail", case.pk)


@login_required
@require_POST
def recovery_notify(request, pk: int):
    case = _case(request, pk)
    try:
        recovery.recovery_notify(case=case, by=request.user)
        messages.success(request, _("已登记追回通知书送达。"))
    except ValidationError as exc:
        _flash(request, exc)
    return redirect("claims:recovery_detail", case.pk)


@login_required
@require_POST
def recovery_repay(request, pk: int):
    case = _case(request, pk)
    try:
        recovery.recovery_repay(
            case=case,
            amount=_amount(request.POST.get("amount")),
            paid_on=_day(request.POST.get("paid_on")),
            reference=request.POST.get("reference", ""),
            by=request.user,
        )
        messages.success(request, _("已登记追回款并记账。"))
    except ValidationError as exc:
        _flash(request, exc)
    return redirect("claims:recovery_detail", case.pk)


def _amount(value) -> Decimal:
    try:
        return Decimal((value or "").replace(",", "").strip())
    except InvalidOperation as exc:
        raise ValidationError({"amount": _("请填写正确的金额。")}) from exc


def _day(value) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError as exc:
        raise ValidationError({"paid_on": _("请填写正确的日期（YYYY-MM-DD）。")}) from exc


@login_required
@permission_required("claims.view_application", raise_exception=True)
def recovery_pdf(request, pk: int):
    from claims import recovery_pdf as pdf  # WeasyPrint loads with the first print only
    from core.audit import audit_event

    case = _case(request, pk)
    if case.status == RecoveryCase.Status.PROPOSED:
        messages.error(request, _("追回案件审批后才能打印通知书。"))
        return redirect("claims:recovery_detail", case.pk)
    content = pdf.render_notice(case)
    audit_event(by=request.user, action="print", obj=case, request=request)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{case.notice_number}.pdf"'
    return response
