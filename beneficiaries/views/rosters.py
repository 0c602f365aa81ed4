from dataclasses import dataclass
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_POST

from beneficiaries.demo import DEMO_ROSTER_NAME
from beneficiaries.forms import RosterUploadForm
from beneficiaries.models import RosterBatch, RosterLine
from beneficiaries.roster import RosterFileError
from beneficiaries.roster_services import (
    roster_apply as apply_roster,
)
from beneficiaries.roster_services import (
    roster_batch_create,
    roster_batch_preview,
)
from beneficiaries.selectors import cheap_page, roster_batches
from beneficiaries.views.access import get_writable
from core.listing import Column, Listing
from core.scoping import can_write

PREVIEW_PAGE = 100  # preview rows a page


@dataclass
class StoredPreview:
    counts: dict
    errors: list[dict]  # the first row errors (beneficiaries.roster_services.STORED_ERRORS)
    error_count: int


_COUNTS = ("rows", "new", "changed", "terminated", "unchanged")


def _applied(batch, field):
    return getattr(batch, field) if batch.status == RosterBatch.Status.APPLIED else ""


ROSTER_COLUMNS = [
    Column("id", "#", ("id",), lambda b: b.pk),
    Column("department", _l("来源部门"), ("department",), lambda b: b.get_department_display()),
    Column("region", _l("名单区划"), ("region_id",), lambda b: b.region.name),
    Column("as_of", _l("名单日期"), ("as_of",), lambda b: b.as_of),
    Column("file", _l("文件"), ("file_name",), lambda b: b.file_name),
    Column("status", _l("状态"), ("status",), lambda b: b.get_status_display()),
    Column("rows", _l("行数"), ("rows",), lambda b: _applied(b, "rows")),
    Column("new", _l("新增"), ("new",), lambda b: _applied(b, "new")),
    Column("changed", _l("变更"), ("changed",), lambda b: _applied(b, "changed")),
    Column("terminated", _l("终止"), ("terminated",), lambda b: _applied(b, "terminated")),
    Column("unchanged", _l("未变"), ("unchanged",), lambda b: _applied(b, "unchanged")),
    Column("created", _l("上传"), ("created_at",), lambda b: b.created_at),
]


@login_required
@permission_required("beneficiaries.view_rosterbatch", raise_exception=True)
def roster_list(request):
    listing = Listing(request.GET, ROSTER_COLUMNS)
    rows = listing.sort(roster_batches(request.user).select_related("region", "created_by"))
    rows = rows if listing.key else rows.order_by("-id")
    if listing.exporting:
        return listing.export(
            rows, filename="rosters", sheet_title=_("部门名单"), by=request.user, request=request
        )
    page = cheap_page(rows, request.GET.get("page"))
    context = {"page": page, "listing": listing, "query": listing.query}
    return render(request, "beneficiaries/roster_list.html", context)


@login_required
@permission_required("beneficiaries.add_rosterbatch", raise_exception=True)
def roster_upload(request):
    form = RosterUploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        batch = roster_batch_create(
            name=upload.name,
            data=upload.read(),
            department=data["department"],
            region=data["region"],
            as_of=data["as_of"],
            by=request.user,
        )
        return redirect("beneficiaries:roster_detail", batch.pk)
    return render(
        request,
        "beneficiaries/form.html",
        {
            "form": form,
            "title": _("导入部门名单"),
            "multipart": True,
            "section_url": reverse("beneficiaries:roster_list"),
            "section_label": _("部门名单"),
            "demo_url": reverse("beneficiaries:roster_demo_file"),
            "submit_label": _("上传并预览"),
            "intro": _(
                "名单是该部门在所选区划的完整现行名单：名单中没有、但仍有效的本部门身份将被终止。"
                "上传后先预览，确认后才会写入。"
            ),
        },
    )


@login_required
@permission_required("beneficiaries.view_rosterbatch", raise_exception=True)
def roster_detail(request, pk: int):
    """A draft shows its preview (stored at upload, paged); an applied one its lines."""
    batch = get_object_or_404(roster_batches(request.user), pk=pk)
    context = {"batch": batch, "can_apply": False}
    if batch.status == RosterBatch.Status.DRAFT:
        try:
            preview = roster_batch_preview(batch)
        except OSError as exc:
            preview = {"file_error": str(exc)}
        if preview.get("file_error"):
            context["file_error"] = preview["file_error"]
        else:
            plan = StoredPreview(preview["counts"], preview["errors"], preview["error_count"])
            context["plan"] = plan
            context["confirm"] = _(
                "导入 %(department)s %(date)s 名单（%(rows)s 行）：新增身份 %(new)s 人，"
                "变更 %(changed)s 人，终止 %(terminated)s 人，未变 %(unchanged)s 人。确定导入？"
            ) % {
                "department": batch.get_department_display(),
                "date": f"{batch.as_of:%Y-%m-%d}",
                **{k: plan.counts.get(k, 0) for k in _COUNTS},
            }
            context["can_apply"] = (
                not plan.error_count
                and request.user.has_perm("beneficiaries.add_rosterbatch")
                and can_write(request.user, batch.region_id)
            )
            effect = request.GET.get("effect", "errors" if plan.error_count else "")
            if effect == "errors":
                rows = plan.errors
            else:
                rows = batch.preview_rows.order_by("id")
                if effect in RosterLine.Effect.values:
                    rows = rows.filter(effect=effect)
                else:
                    effect = ""
            context["effect"] = effect
            context["effects"] = RosterLine.Effect.choices
            context["preview_page"] = Paginator(rows, PREVIEW_PAGE).get_page(
                request.GET.get("page")
            )
            context["query"] = f"effect={effect}" if effect else ""
    else:
        lines = batch.lines.select_related("person", "identity").order_by("effect", "row", "id")
        effect = request.GET.get("effect")
        if effect in RosterLine.Effect.values:
            lines = lines.filter(effect=effect)
        context["effect"] = effect
        context["effects"] = RosterLine.Effect.choices
        context["page"] = cheap_page(lines, request.GET.get("page"), per_page=50)
        context["query"] = f"effect={effect}" if effect else ""
    return render(request, "beneficiaries/roster_detail.html", context)


@login_required
@permission_required("beneficiaries.add_rosterbatch", raise_exception=True)
@require_POST
def roster_apply(request, pk: int):
    batch = get_writable(request, RosterBatch.objects.select_related("region"), pk)
    try:
        plan = apply_roster(batch=batch, by=request.user)
    except (ValidationError, RosterFileError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        counts = plan.counts
        messages.success(
            request,
            _(
                "名单已导入：新增 %(new)s，变更 %(changed)s，终止 %(terminated)s，未变 %(unchanged)s。"
            )
            % counts,
        )
    return redirect("beneficiaries:roster_detail", batch.pk)


DEMO_ROSTER = Path(__file__).resolve().parent.parent / "demo_data" / DEMO_ROSTER_NAME


@login_required
@permission_required("beneficiaries.add_rosterbatch", raise_exception=True)
def roster_demo_file(request):
    """The demo civil-affairs roster of 海勃湾区 (2023-07-01), to try the import with."""
    return FileResponse(DEMO_ROSTER.open("rb"), as_attachment=True, filename=DEMO_ROSTER_NAME)
