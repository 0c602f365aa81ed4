import importlib

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.templatetags.static import static

from core.dates import shanghai_today
from core.models import Policy

# Each app contributes a card: `<app>.selectors.dashboard_context(user)` and the partial
# `templates/<app>/_dashboard.html`, shown for users who may view that app's records.
DASHBOARD_APPS = [
    ("beneficiaries", "beneficiaries.view_person"),
    ("claims", "claims.view_application"),
    ("funds", "funds.view_fund"),
    ("monitoring", "monitoring.view_alert"),
]


def _dashboard_panels(user) -> tuple[list[str], dict]:
    panels, context = [], {}
    for app, permission in DASHBOARD_APPS:
        if not user.has_perm(permission):
            continue
        selectors = importlib.import_module(f"{app}.selectors")  # core imports no app statically
        if not hasattr(selectors, "dashboard_context"):
            continue
        try:
            select_template([f"{app}/_dashboard.html"])
        except TemplateDoesNotExist:
            continue
        context.update(selectors.dashboard_context(user))
        panels.append(f"{app}/_dashboard.html")
    return panels, context


@login_required
def dashboard(request):
    user = request.user
    today = shanghai_today()
    area = user.region.coordination_area if user.region else None
    panels, context = _dashboard_panels(user)
    context.update(
        {
            "today": today,
            "panels": panels,
            "policy": Policy.objects.in_force(area, today) if area else None,
        }
    )
    return render(request, "core/dashboard.html", context)


def favicon(request):
    """Browsers ask for /favicon.ico on their own: send them to the (hashed) static icon."""
    return redirect(static("favicon.svg"))
