"""Pages of the whole region (DOMAIN §8): the regional comparison dashboard, and starting an
area's policy as a copy of another."""

from datetime import date
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import region_charts, region_selectors
from core.choices import Category
from core.dates import shanghai_today
from core.models import Policy, Region
from core.policy_services import policy_copy
from core.scoping import can_write


def _is_regional(user) -> bool:
    region = user.region
    return user.is_superuser or (region is not None and region.level == Region.Level.PROVINCE)


def _link(name: str, args=(), **params) -> str:
    url = reverse(name, args=args)
    return f"{url}?{urlencode(params)}" if params else url


def _cell(value, url: str, money: bool = False) -> dict:
    return {"value": value, "url": url, "money": money}


def _rows(figures, year: int) -> dict:
    """The three tables of the page, each cell with the link to the area's filtered list."""
    from monitoring.models import Alert

    people, money, alerts = [], [], []
    for f in figures:
        code, prefix = f.area.code, f.prefix
        persons = [
            _cell(
                f.beneficiaries.get(c, 0),
                _link("beneficiaries:person_list", region=code, category=c, status="active"),
            )
            for c in Category.values
        ]
        persons.append(
            _cell(
                f.beneficiaries_total,
                _link("beneficiaries:person_list", region=code, status="active"),
            )
        )
        people.append({"area": f.area, "cells": persons})
        received = {"region": prefix, "from": f"{year}-01-01", "to": f"{year}-12-31"}
        fund = reverse("funds:fund", args=[code])
        money.append(
            {
                "area": f.area,
                "has_policy": f.has_policy,
                "cells": [
                    _cell(f.applications, _link("claims:index", **received)),
                    _cell(f.manual_paid, _link("claims:index", region=prefix, status="paid"), True),
                    _cell(f.onestop_paid, reverse("funds:clearing_list", args=[code]), True),
                    _cell(f.assistance_paid, _link("funds:report", args=[code]), True),
                    _cell(f.fund_balance, fund, True),
                ],
            }
        )
        kinds = [
            _cell(f.alerts.get(k, 0), _link("monitoring:index", kind=k, region=code))
            for k in Alert.Kind.values
        ]
        kinds.append(_cell(f.alerts_total, _link("monitoring:index", region=code)))
        alerts.append({"area": f.area, "cells": kinds})
    return {"people": people, "money": money, "alerts": alerts}


@login_required
def region_dashboard(request):
    """Regional (自治区) users compare the areas side by side; anyone else: 404 (§8)."""
    if not _is_regional(request.user):
        raise Http404
    from monitoring.models import Alert

    today = shanghai_today()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        year = today.year
    year = min(max(year, 2000), today.year)
    figures = region_selectors.area_comparison(year, today)
    context = {
        "year": year,
        "years": range(today.year, max(today.year - 6, 2019), -1),
        "today": today,
        "tables": _rows(figures, year),
        "totals": region_selectors.totals(figures),
        "categories": Category.choices,
        "kinds": Alert.Kind.choices,
        "chart": region_charts.assistance_bars(figures),
    }
    return render(request, "core/region_dashboard.html", context)


# --- Starting a policy as a copy ---------------------------------------------------------


class PolicyCopyForm(forms.Form):
    source = forms.ModelChoiceField(
        label=gettext_lazy("复制自"), queryset=Policy.objects.none(), empty_label=None
    )
    area = forms.ModelChoiceField(
        label=gettext_lazy("统筹地区"), queryset=Region.objects.none(), empty_label=None
    )
    valid_from = forms.DateField(
        label=gettext_lazy("生效日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    name = forms.CharField(
        label=gettext_lazy("名称"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("留空则为“某市医疗救助政策（某年起）”。"),
    )
    document = forms.CharField(label=gettext_lazy("政策依据"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = Policy.objects.select_related("area").order_by(
            "area", "-valid_from"
        )
        cities = Region.objects.filter(level=Region.Level.CITY).order_by("code")
        self.fields["area"].queryset = cities.filter(
            code__in=[c.code for c in cities if can_write(user, c.code)]
        )
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)


@login_required
@permission_required("core.add_policy", raise_exception=True)
def policy_copy_view(request):
    """An admin starts an area's policy from an existing one, then edits it in admin."""
    initial = {"valid_from": date(shanghai_today().year, 1, 1)}
    if request.GET.get("source", "").isdigit():
        initial["source"] = int(request.GET["source"])
    form = PolicyCopyForm(request.POST or None, initial=initial, user=request.user)
    if not form.fields["area"].queryset.exists():
        raise PermissionDenied(_("您没有可以设置政策的统筹地区。"))
    if request.method == "POST" and form.is_valid():
        try:
            policy = policy_copy(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("已建立“%(name)s”，请核对并修改各项参数。") % {"name": policy.name},
            )
            if request.user.is_staff:
                return redirect("admin:core_policy_change", policy.pk)
            return redirect("dashboard")
    return render(request, "core/policy_copy.html", {"form": form})
