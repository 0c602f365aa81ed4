from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from beneficiaries import services
from beneficiaries.forms import (
    EnrollmentForm,
    IdentityChangeForm,
    IdentityForm,
    IdentityTerminateForm,
)
from beneficiaries.models import Identity, Person
from beneficiaries.views.access import form_errors, get_writable


@login_required
@permission_required("beneficiaries.add_identity", raise_exception=True)
def identity_create(request, pk: int):
    person = get_writable(request, Person.objects.select_related("region"), pk)
    form = IdentityForm(
        request.POST or None, user=request.user, initial={"region": person.region_id}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.identity_grant(person=person, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已认定救助身份。"))
            return redirect("beneficiaries:person_detail", person.pk)
    return render(
        request,
        "beneficiaries/form.html",
        {"form": form, "title": _("认定救助身份"), "person": person},
    )


@login_required
@permission_required("beneficiaries.change_identity", raise_exception=True)
def identity_change(request, pk: int):
    identity = get_writable(request, Identity.objects.select_related("person"), pk)
    initial = {"start": identity.start, "end": identity.end, "document": identity.document}
    form = IdentityChangeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.identity_change(
                identity=identity,
                start=data["start"],
                end=data["end"],
                clear_end=data["end"] is None,
                document=data["document"],
                reason=data["reason"],
                by=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已变更救助身份。"))
            return redirect("beneficiaries:person_detail", identity.person_id)
    return render(
        request,
        "beneficiaries/form.html",
        {"form": form, "title": _("变更救助身份"), "person": identity.person, "identity": identity},
    )


@login_required
@permission_required("beneficiaries.change_identity", raise_exception=True)
def identity_terminate(request, pk: int):
    identity = get_writable(request, Identity.objects.select_related("person"), pk)
    form = IdentityTerminateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.identity_terminate(
                identity=identity,
                end=form.cleaned_data["end"],
                reason=form.cleaned_data["reason"],
                by=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已终止救助身份。"))
            return redirect("beneficiaries:person_detail", identity.person_id)
    return render(
        request,
        "beneficiaries/form.html",
        {"form": form, "title": _("终止救助身份"), "person": identity.person, "identity": identity},
    )


@login_required
@permission_required("beneficiaries.add_enrollment", raise_exception=True)
def enrollment_create(request, pk: int):
    person = get_writable(request, Person.objects.select_related("region"), pk)
    form = EnrollmentForm(request.POST or None, user=request.user, person=person)
    if request.method == "POST" and form.is_valid():
        try:
            services.enrollment_record(person=person, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, _("已登记参保信息。"))
            return redirect("beneficiaries:person_detail", person.pk)
    return render(
        request,
        "beneficiaries/form.html",
        {"form": form, "title": _("登记参保"), "person": person},
    )
