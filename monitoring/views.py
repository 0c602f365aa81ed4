"""Monitoring pages: the alert work queue, settlement uploads, check runs (DOMAIN §7, §9)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models.functions import Coalesce
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from core.audit import audit_event
from core.choices import Category
from core.dates import shanghai_today
from core.exports import safe_row
from core.listing import Column, Listing
from core.models import AuditEvent, Region, User
from core.scoping import can_write, region_of, scoped
from monitoring import selectors, services
from monitoring.checks import CheckAlreadyRunning, interrupt_stale_runs
from monitoring.forms import (
    AssignForm,
    NoteForm,
    ReopenForm,
    RunCheckForm,
    TransitionForm,
    UploadForm,
)
from monitoring.models import Alert, CheckRun, SettlementImport


def _assignees(user):
    """Users of the viewer's coordination area who work alerts."""
    users = User.objects.filter(is_active=True).order_by("name", "username")
    region = user.region
    if region is None:
        return users.none() if not user.is_superuser else users
    area = region.coordination_area or region
    if region.level == region.Level.PROVINCE:
        return users
    return (
        users.filter(region__code__startswith=area.prefix)
        .filter(groups__permissions__codename="change_alert")
        .distinct()
    )


ALERT_COLUMNS = [
    Column("kind", _l("类型"), ("kind", "watch")),
    Column("name", _l("姓名/名称"), ("name",)),
    Column("certno", _l("证件号码/机构编码")),
    Column("year", _l("期间"), ("period", "subject")),
    Column("burden", _l("个人负担/金额"), (Coalesce("burden", "amount"),)),
    Column("threshold", _l("监测线"), ("threshold",)),
    Column("region", _l("区划"), ("region_id",)),
    Column("assignee", _l("经办人"), ("assignee__name",)),
    Column("status", _l("状态"), ("status",)),
    Column("updated", _l("更新"), ("updated_at",)),
]


def _get_alert(request, pk) -> Alert:
    return get_object_or_404(
        scoped(Alert.objects.select_related("region", "assignee", "person"), request.user), pk=pk
    )


@login_required
@permission_required("monitoring.view_alert", raise_exception=True)
def index(request):
    """The work queue of the user's region."""
    assignees = list(_assignees(request.user))
    alert_filter = selectors.AlertFilter(request.GET, user=request.user, assignees=assignees)
    listing = Listing(request.GET, ALERT_COLUMNS)
    page = Paginator(listing.sort(alert_filter.qs), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/alert_list.html",
        {
            "form": alert_filter.form,
            "page": page,
            "listing": listing,
            "query": listing.query,
            "assign_form": AssignForm(assignees=_assignees(request.user)),
            "can_change": request.user.has_perm("monitoring.change_alert"),
            "can_export": request.user.has_perm("monitoring.export_alerts"),
        },
    )


@login_required
@permission_required("monitoring.view_alert", raise_exception=True)
def alert_detail(request, pk: int):
    alert = _get_alert(request, pk)
    settlements = None
    manual_bills = None
    if alert.kind == Alert.Kind.HIGH_COST:
        settlements = selectors.settlements_behind(alert)
        if alert.evidence.get("bills"):
            manual_bills = selectors.manual_bills_behind(alert)
    elif alert.evidence.get("setl_ids"):
        settlements = selectors.settlements_by_setl_ids(alert.evidence["setl_ids"])
    writable = request.user.has_perm("monitoring.change_alert") and can_write(
        request.user, region_of(alert)
    )
    history = alert.notes.select_related("created_by").order_by("-created_at", "-id")
    held = [Category(c).label for c in alert.evidence.get("categories", []) if c in Category.values]
    return render(
        request,
        "monitoring/alert_detail.html",
        {
            "alert": alert,
            "settlements": settlements,
            "manual_bills": manual_bills,
            "history": history,
            "held": held,
            "writable": writable,
            "transition_form": TransitionForm(),
            "allowed": services.TRANSITIONS.get(alert.status, set()),
            "assign_form": AssignForm(
                assignees=_assignees(request.user), initial={"assignee": alert.assignee_id}
            ),
            "note_form": NoteForm(),
            "can_reopen": alert.status in services.REOPENABLE,
            "reopen_form": ReopenForm(),
            "person_visible": alert.person_id is not None
            and request.user.has_perm("beneficiaries.view_person"),
        },
    )


@login_required
@permission_required("monitoring.change_alert", raise_exception=True)
@require_POST
def alert_transition(request, pk: int):
    alert = _get_alert(request, pk)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            services.alert_transition(
                alert=alert,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
            messages.success(request, _("预警状态已更新。"))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("请选择新状态。"))
    return redirect("monitoring:alert_detail", pk=alert.pk)


@login_required
@permission_required("monitoring.change_alert", raise_exception=True)
@require_POST
def alert_reopen(request, pk: int):
    """Dismissed/resolved → open, with the reason; the service checks status, role and region."""
    alert = _get_alert(request, pk)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("重新打开预警须填写原因。"))
        return redirect("monitoring:alert_detail", pk=alert.pk)
    try:
        services.alert_reopen(alert=alert, reason=form.cleaned_data["reason"], by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("预警已重新打开。"))
    return redirect("monitoring:alert_detail", pk=alert.pk)


@login_required
@permission_required("monitoring.change_alert", raise_exception=True)
@require_POST
def alert_note(request, pk: int):
    alert = _get_alert(request, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.alert_add_note(alert=alert, text=form.cleaned_data["text"], by=request.user)
        messages.success(request, _("备注已保存。"))
    else:
        messages.error(request, _("请填写备注内容。"))
    return redirect("monitoring:alert_detail", pk=alert.pk)


@login_required
@permission_required("monitoring.change_alert", raise_exception=True)
@require_POST
def alert_assign(request):
    """Assign one alert (from its page) or many (ticked in the queue)."""
    ids = [int(v) for v in request.POST.getlist("alert") if v.isdigit()]
    alerts = list(scoped(Alert.objects.all(), request.user).filter(pk__in=ids))
    if not alerts:
        messages.error(request, _("请先勾选要指派的预警。"))
        return redirect(request.POST.get("next") or "monitoring:index")
    form = AssignForm(request.POST, assignees=_assignees(request.user))
    if not form.is_valid():
        messages.error(request, _("请选择经办人。"))
    else:
        try:
            changed = services.alert_assign(
                alerts=alerts, assignee=form.cleaned_data["assignee"], by=request.user
            )
            messages.success(request, _("已指派 %(n)s 条预警。") % {"n": changed})
        except PermissionDenied as exc:
            messages.error(request, str(exc) or _("您只能修改本辖区的记录。"))
    target = request.POST.get("next") or ""
    if not target.startswith("/"):
        target = reverse("monitoring:index")
    return redirect(target)


@login_required
@permission_required("monitoring.export_alerts", raise_exception=True)
def alert_export(request):
    """The filtered queue as an Excel workbook for referral; the export is logged."""
    import openpyxl

    alert_filter = selectors.AlertFilter(
        request.GET, user=request.user, assignees=_assignees(request.user)
    )
    listing = Listing(request.GET, ALERT_COLUMNS)
    alerts = alert_filter.qs.order_by("certno", "subject", "id")
    if listing.key:  # the order the queue was showing
        alerts = listing.sort(alert_filter.qs)
    cleaned = alert_filter.form.cleaned_data if alert_filter.is_valid() else {"status": "active"}
    full_id = request.user.has_perm("monitoring.export_alerts_full_id")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("预警"))
    sheet.append(selectors.alert_export_header(display=True))
    count = 0
    for row in selectors.alert_export_rows(alerts, full_id=full_id, display=True):
        sheet.append(safe_row(row))
        count += 1
    audit_event(
        by=request.user,
        action=AuditEvent.Action.EXPORT,
        request=request,
        what="alerts",
        filters={k: str(v) for k, v in cleaned.items() if v not in (None, "")},
        rows=count,
        full_id=full_id,
    )
    response = HttpResponse(
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="alerts-{stamp}.xlsx"'
    book.save(response)
    return response


# --- Settlement uploads -------------------------------------------------------------------

IMPORT_COLUMNS = [
    Column("file", _l("文件"), ("file_name",), lambda b: b.file_name),
    Column("created", _l("上传"), ("created_at",), lambda b: b.created_at),
    Column("by", _l("上传人"), (), lambda b: str(b.created_by or _("命令行"))),
    Column("status", _l("状态"), ("status",), lambda b: b.get_status_display()),
    Column("rows", _l("行数"), ("rows",), lambda b: b.rows),
    Column("imported", _l("导入"), ("imported",), lambda b: b.imported),
    Column("skipped", _l("跳过"), ("skipped",), lambda b: b.skipped),
    Column("errors", _l("错误"), ("error_count",), lambda b: b.error_count),
]


@login_required
@permission_required("monitoring.view_settlement", raise_exception=True)
def imports(request):
    can_upload = request.user.has_perm("monitoring.add_settlementimport")
    form = UploadForm()
    if request.method == "POST":
        if not can_upload:
            raise PermissionDenied
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                batch = services.settlement_upload(
                    uploaded_file=form.cleaned_data["file"], by=request.user
                )
            except ValidationError as exc:
                form.add_error("file", exc.messages[0])
            else:
                return redirect("monitoring:import_detail", pk=batch.pk)
    services.interrupt_stale_imports()
    listing = Listing(request.GET, IMPORT_COLUMNS)
    rows = listing.sort(selectors.imports_for(request.user))
    if listing.exporting:
        return listing.export(
            rows,
            filename="imports",
            sheet_title=_("结算明细导入"),
            by=request.user,
            request=request,
        )
    page = Paginator(rows, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "monitoring/import_list.html",
        {
            "form": form,
            "page": page,
            "can_upload": can_upload,
            "listing": listing,
            "query": listing.query,
        },
    )


def _get_import(request, pk) -> SettlementImport:
    return get_object_or_404(selectors.imports_for(request.user), pk=pk)


@login_required
@permission_required("monitoring.view_settlement", raise_exception=True)
def import_detail(request, pk: int):
    services.interrupt_stale_imports(pk=pk)
    batch = _get_import(request, pk)
    return render(
        request,
        "monitoring/import_detail.html",
        {
            "batch": batch,
            # The errors were stored when the file was checked; the page never re-reads it.
            "page": Paginator(batch.errors, 100).get_page(request.GET.get("page")),
            "can_confirm": request.user.has_perm("monitoring.add_settlementimport")
            and batch.status
            in (SettlementImport.Status.VALIDATED, SettlementImport.Status.INTERRUPTED),
        },
    )


@login_required
@permission_required("monitoring.view_settlement", raise_exception=True)
def import_status(request, pk: int):
    services.interrupt_stale_imports(pk=pk)
    batch = _get_import(request, pk)
    return JsonResponse(
        {
            "status": batch.status,
            "status_display": batch.get_status_display(),
            "phase": batch.phase,
            "percent": batch.percent,
            "busy": batch.is_busy,
            "rows": batch.rows,
        }
    )


@login_required
@permission_required("monitoring.add_settlementimport", raise_exception=True)
@require_POST
def import_confirm(request, pk: int):
    batch = _get_import(request, pk)
    try:
        services.settlement_import_confirm(batch=batch, by=request.user)
        messages.success(request, _("已开始导入。"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("monitoring:import_detail", pk=batch.pk)


# --- Check runs -----------------------------------------------------------------------------


def _run_regions(user):
    region = user.region
    if user.is_superuser or region is None or region.level == region.Level.PROVINCE:
        return Region.objects.filter(level__in=[Region.Level.CITY, Region.Level.COUNTY])
    return Region.objects.filter(code__startswith=region.prefix)


@login_required
@permission_required("monitoring.view_checkrun", raise_exception=True)
def runs(request):
    can_run = request.user.has_perm("monitoring.run_check")
    regions = _run_regions(request.user)
    form = RunCheckForm(initial={"period": f"{shanghai_today():%Y}"}, regions=regions)
    if request.method == "POST":
        if not can_run:
            raise PermissionDenied
        form = RunCheckForm(request.POST, regions=regions)
        if form.is_valid():
            try:
                services.check_start(
                    name=form.cleaned_data["check"],
                    period=form.cleaned_data["period"],
                    area=form.cleaned_data["area"],
                    by=request.user,
                )
            except CheckAlreadyRunning as exc:
                messages.error(request, str(exc))
                return redirect("monitoring:runs")
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                return redirect("monitoring:runs")
            messages.success(request, _("检查已提交，完成后在下方列表中显示结果。"))
            return redirect("monitoring:runs")
    interrupt_stale_runs()  # a run whose worker died shows as interrupted, and may run again
    page = Paginator(selectors.runs_for(request.user), 30).get_page(request.GET.get("page"))
    names = dict(Region.objects.filter(code__in={r.area for r in page}).values_list("code", "name"))
    for run in page:
        run.area_name = names.get(run.area, run.area)
    return render(
        request,
        "monitoring/run_list.html",
        {
            "form": form,
            "page": page,
            "can_run": can_run,
            "running": CheckRun.Outcome.RUNNING,
        },
    )
