"""Access helpers: one call opens each view (404 for other regions, 403 for read-only)."""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404

from beneficiaries.models import Person
from core.scoping import check_writable, scoped


def get_person(request, pk: int) -> Person:
    return get_object_or_404(
        scoped(Person.objects.select_related("region", "household"), request.user), pk=pk
    )


def get_writable(request, queryset, pk: int):
    """A record of the user's region that they may change (regional users: 403)."""
    obj = get_object_or_404(scoped(queryset, request.user), pk=pk)
    check_writable(request.user, obj)
    return obj


def form_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form (field errors where the field exists)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for message in exc.messages:
            form.add_error(None, message)
