"""Policy simulation pages (测算, DOMAIN §12): ask for a run, watch it, read the result.

Thin: the form checks the shape (JSON), `claims.simulation_runs` checks the rules; another
area's run is a 404 (`scoped`).
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims import simulation_adopt, simulation_report
from claims.forms import _bootstrap
from claims.models import SimulationRun
from claims.simulation import SimulationError, policy_document, policy_for_year
from claims.simulation_forms import SimulationForm
from claims.simulation_runs import simulation_allowed, simulation_run_request
from core.dates import shanghai_today
from core.models import Region
from core.scoping import can_write, scoped

VIEW_PERMISSION = "claims.run_simulation"


def _user_areas(user) -> list[tuple[str, str]]:
    areas = Region.objects.filter(level=Region.Level.CITY).order_by("code")
    return [(a.code, f"{a.code} {a.name}") for a in areas if simulation_allowed(user, a.code)]


def _chosen(data, areas) -> tuple[str | None, int]:
    """The area and year asked for (GET to load a policy, POST to run), else the defaults."""
    codes = [code for code, _label in areas]
    area = data.get("area") if data.get("area") in codes else (codes[0] if codes else None)
    try:
        year = int(data.get("year") or shanghai_today().year)
    except ValueError:
        year = shanghai_today().year
    return area, year


def _base(area: str | None, year: int) -> tuple[dict | None, str]:
    """The policy in force as the draft's starting point, or why there is none."""
    if area is None:
        return None, ""
    try:
        return policy_document(policy_for_year(area, year)), ""
    except SimulationError as exc:
        return None, str(exc)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def simulation_list(request):
    runs = scoped(SimulationRun.objects.select_related("area", "created_by"), request.user)
    areas = _user_areas(request.user)
    if request.method == "POST" and not areas:
        raise PermissionDenied(_("您只能测算本统筹地区的政策。"))
    area, year = _chosen(request.POST if request.method == "POST" else request.GET, areas)
    base, no_base = _base(area, year)
    form = SimulationForm(
        request.POST or None,
        request.FILES or None,
        user_areas=areas,
        base=base,
        initial={"area": area, "year": year},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = simulation_run_request(
                area_code=data["area"],
                year=data["year"],
                draft=form.draft_document(),
                note=data["note"],
                by=request.user,
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            return redirect("claims:simulation_detail", pk=run.pk)
    context = {"form": form, "runs": runs[:50], "can_run": bool(areas), "no_base": no_base}
    return render(request, "claims/simulation_list.html", context)


def _run(request, pk: int) -> SimulationRun:
    """A run of the user's scope (another area's run is a 404)."""
    runs = scoped(SimulationRun.objects.select_related("area", "created_by"), request.user)
    return get_object_or_404(runs, pk=pk)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def simulation_detail(request, pk: int):
    run = _run(request, pk)
    rows = simulation_report.report(run)
    context = {
        "run": run,
        **rows,
        "chart": simulation_report.comparison_chart(simulation_report.chart_rows(rows))
        if rows["totals"]
        else "",
        "draft_json": json.dumps(run.draft, ensure_ascii=False, indent=2),
        "working": run.status in (SimulationRun.Status.QUEUED, SimulationRun.Status.RUNNING),
        "can_adopt": run.status == SimulationRun.Status.SUCCESS
        and run.adopted_policy_id is None
        and _may_adopt(request.user, run),
    }
    return render(request, "claims/simulation_detail.html", context)


def _may_adopt(user, run: SimulationRun) -> bool:
    return user.has_perm(simulation_adopt.PERMISSION) and can_write(user, run.area_id)


class AdoptForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("新政策名称"), max_length=100)
    confirm = forms.BooleanField(
        label=gettext_lazy("我已核对以上参数，确认保存为下一期政策"), required=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def simulation_adopt_view(request, pk: int):
    """Confirmation page (every parameter of the new version), then the service on POST."""
    run = _run(request, pk)
    if not _may_adopt(request.user, run):
        raise PermissionDenied(_("您不能为本统筹地区保存政策。"))
    try:
        plan = simulation_adopt.adoption_plan(run)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("claims:simulation_detail", pk=run.pk)
    form = AdoptForm(request.POST or None, initial={"name": plan.policy.name})
    if request.method == "POST" and form.is_valid():
        try:
            policy = simulation_adopt.simulation_adopt(
                run=run, by=request.user, name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("已保存为 %(start)s 起生效的政策“%(name)s”。")
                % {"start": policy.valid_from, "name": policy.name},
            )
            return redirect("claims:simulation_detail", pk=run.pk)
    params, categories = simulation_adopt.plan_rows(plan)
    context = {"run": run, "plan": plan, "form": form, "params": params, "categories": categories}
    return render(request, "claims/simulation_adopt.html", context)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def simulation_xlsx(request, pk: int):
    """The finished run as an Excel workbook (every text cell formula-safe)."""
    run = _run(request, pk)
    if run.status != SimulationRun.Status.SUCCESS:
        raise Http404(_("测算尚未完成。"))
    response = HttpResponse(
        simulation_report.run_xlsx(run),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="simulation-{run.area_id}-{run.year}-{run.pk}.xlsx"'
    )
    return response
