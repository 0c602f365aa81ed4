from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from beneficiaries.models import Identity, Person
from core.models import Policy
from core.scoping import scoped


@login_required
def dashboard(request):
    user = request.user
    today = timezone.localdate()
    area = user.region.coordination_area if user.region else None
    context = {
        "today": today,
        "persons_count": scoped(Person.objects.all(), user).count(),
        "active_identities_count": scoped(Identity.objects.open_on(today), user).count(),
        "policy": Policy.objects.in_force(area, today) if area else None,
    }
    return render(request, "core/dashboard.html", context)
