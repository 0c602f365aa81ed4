from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from beneficiaries.models import Person
from core.scoping import scoped


@login_required
@permission_required("beneficiaries.view_person", raise_exception=True)
def person_list(request):
    persons = scoped(Person.objects.select_related("region"), request.user).order_by("-id")
    page = Paginator(persons, 25).get_page(request.GET.get("page"))
    return render(request, "beneficiaries/person_list.html", {"page": page})


@login_required
@permission_required("beneficiaries.view_person", raise_exception=True)
def person_detail(request, pk: int):
    person = get_object_or_404(scoped(Person.objects.select_related("region"), request.user), pk=pk)
    identities = person.identities.select_related("region").order_by("-start")
    return render(
        request,
        "beneficiaries/person_detail.html",
        {"person": person, "identities": identities},
    )
