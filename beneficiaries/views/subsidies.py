from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from beneficiaries.forms import SubsidyBatchForm
from beneficiaries.models import SubsidyBatch
from beneficiaries.selectors import cheap_page, subsidy_batches
from beneficiaries.subsidies import (
    subsidy_batch_confirm as confirm_batch,
)
from beneficiaries.subsidies import (
    subsidy_batch_create as create_batch,
)
from beneficiaries.subsidies import (
    subsidy_batch_export as export_batch,
)
from beneficiaries.subsidies import (
    subsidy_policy,
    subsidy_proposals,
)
from beneficiaries.views.access import form_errors, get_writable
from core.money import money
from core.scoping import can_write


@login_required
@permission_required("beneficiaries.view_subsidy", raise_exception=True)
def subsidy_batch_list(request):
    page = cheap_page(subsidy_batches(request.user).order_by("-id"), request.GET.get("page"))
    return render(request, "beneficiaries/subsidy_batch_list.html", {"page": page})


@login_required
@permission_required("beneficiaries.add_subsidybatch", raise_exception=True)
def subsidy_batch_create(request):
    form = SubsidyBatchForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            batch = create_batch(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            return redirect("beneficiaries:subsidy_batch_detail", batch.pk)
    return render(
        request,
        "beneficiaries/form.html",
        {
            "form": form,
            "title": _("资助参保测算"),
            "submit_label": _("生成预览"),
            "section_url": reverse("beneficiaries:subsidy_batch_list"),
            "section_label": _("资助参保"),
            "intro": _(
                "按统筹地区现行政策计算：特困人员全额资助，低保对象、返贫致贫人口定额资助；"
                "多重身份就高不就低，参加职工医保者不资助，同一人每年只资助一次。"
            ),
        },
    )


@login_required
@permission_required("beneficiaries.view_subsidy", raise_exception=True)
def subsidy_batch_detail(request, pk: int):
    batch = get_object_or_404(subsidy_batches(request.user), pk=pk)
    context = {"batch": batch}
    if batch.status == SubsidyBatch.Status.DRAFT:
        try:
            policy = subsidy_policy(batch.area, batch.year, batch.as_of)
            proposals = subsidy_proposals(area=batch.area, year=batch.year, as_of=batch.as_of)
        except ValidationError as exc:
            context["policy_error"] = " ".join(exc.messages)
        else:
            granted = [p for p in proposals if p.granted]
            context.update(
                policy=policy,
                granted=granted,
                refused=[p for p in proposals if not p.granted],
                total=money(sum((p.amount for p in granted), start=money(0))),
                can_confirm=request.user.has_perm("beneficiaries.confirm_subsidybatch")
                and can_write(request.user, batch.area_id),
            )
    else:
        subsidies = batch.subsidies.select_related("person", "person__region").order_by(
            "person__region_id", "person__id_number"
        )
        context["page"] = cheap_page(subsidies, request.GET.get("page"), per_page=50)
        context["can_export"] = request.user.has_perm("beneficiaries.export_subsidybatch")
    return render(request, "beneficiaries/subsidy_batch_detail.html", context)


@login_required
@permission_required("beneficiaries.confirm_subsidybatch", raise_exception=True)
@require_POST
def subsidy_batch_confirm(request, pk: int):
    batch = get_writable(request, SubsidyBatch.objects.select_related("area"), pk)
    try:
        batch = confirm_batch(batch=batch, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("已确认：资助 %(count)s 人，合计 %(total)s 元，已记入基金支出。")
            % {"count": batch.count, "total": batch.total},
        )
    return redirect("beneficiaries:subsidy_batch_detail", batch.pk)


@login_required
@permission_required("beneficiaries.export_subsidybatch", raise_exception=True)
def subsidy_batch_export(request, pk: int):
    batch = get_object_or_404(subsidy_batches(request.user), pk=pk)
    try:
        content = export_batch(batch=batch, by=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("beneficiaries:subsidy_batch_detail", batch.pk)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"subsidy_{batch.area_id}_{batch.year}_{batch.pk}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
