"""Policy simulation pages (测算, DOMAIN §12): ask for a run, watch it, read the result.

Thin: the form checks the shape (JSON), `claims.simulation_runs` checks the rules; another
area's run is a 404 (`scoped`).
"""

import json

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims.forms import _bootstrap
from claims.models import SimulationRun
from claims.simulation import SimulationError, policy_document, policy_for_year, result_rows
from claims.simulation_runs import simulation_allowed, simulation_run_request
from core.choices import Category
from core.dates import shanghai_today
from core.models import Region
from core.scoping import scoped

VIEW_PERMISSION = "core.view_policy"


class SimulationForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("统筹地区"))
    year = forms.IntegerField(label=gettext_lazy("测算年度"), min_value=2000, max_value=2100)
    draft = forms.CharField(
        label=gettext_lazy("测算政策（JSON）"),
        widget=forms.Textarea(attrs={"rows": 16, "class": "form-control font-monospace"}),
        help_text=gettext_lazy(
            "格式与 assess 命令输入中的 policy 相同；默认是现行政策，修改参数后提交。"
        ),
    )
    note = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        areas = Region.objects.filter(level=Region.Level.CITY).order_by("code")
        self.fields["area"].choices = [
            (a.code, f"{a.code} {a.name}") for a in areas if simulation_allowed(user, a.code)
        ]
        _bootstrap(self)

    def clean_draft(self):
        try:
            # Amounts stay text (never float); the service validates them as `assess` does.
            return json.loads(self.cleaned_data["draft"], parse_float=str)
        except ValueError as exc:
            raise ValidationError(_("不是有效的 JSON（%(error)s）。") % {"error": exc}) from None


def _initial(form: SimulationForm) -> dict:
    """Start from the policy in force in the first area for this year."""
    year = shanghai_today().year
    initial = {"year": year}
    if form.fields["area"].choices:
        area = form.fields["area"].choices[0][0]
        try:
            document = policy_document(policy_for_year(area, year))
            initial["draft"] = json.dumps(document, ensure_ascii=False, indent=2)
        except SimulationError:
            pass
    return initial


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def simulation_list(request):
    runs = scoped(SimulationRun.objects.select_related("area", "created_by"), request.user)
    form = SimulationForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if not form.fields["area"].choices:
            raise PermissionDenied(_("您只能测算本统筹地区的政策。"))
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = simulation_run_request(
                    area_code=data["area"],
                    year=data["year"],
                    draft=data["draft"],
                    note=data["note"],
                    by=request.user,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("draft", message)
            else:
                return redirect("claims:simulation_detail", pk=run.pk)
    elif form.fields["area"].choices:
        form = SimulationForm(initial=_initial(form), user=request.user)
    context = {"form": form, "runs": runs[:50], "can_run": bool(form.fields["area"].choices)}
    return render(request, "claims/simulation_list.html", context)


@login_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def simulation_detail(request, pk: int):
    run = get_object_or_404(
        scoped(SimulationRun.objects.select_related("area", "created_by"), request.user), pk=pk
    )
    totals, categories = result_rows(run.result) if run.result else ([], [])
    labels = {
        "assistance": _("基本救助"),
        "tilted": _("倾斜救助"),
        "total": _("救助合计"),
        "persons_assisted": _("获救助人数"),
        "persons_at_cap": _("达到年度限额人数"),
    }
    category_labels = dict(Category.choices)
    context = {
        "run": run,
        "totals": [(labels[key], *rest) for key, *rest in totals],
        "categories": [(category_labels.get(c, c), *rest) for c, *rest in categories],
        "draft_json": json.dumps(run.draft, ensure_ascii=False, indent=2),
        "working": run.status in (SimulationRun.Status.QUEUED, SimulationRun.Status.RUNNING),
    }
    return render(request, "claims/simulation_detail.html", context)
