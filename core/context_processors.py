from django.conf import settings


def portal(request):
    from core.two_factor import second_factor_satisfied

    user = getattr(request, "user", None)
    return {
        "PORTAL_NAME": settings.PORTAL_NAME,
        "AGENCY_NAME": _agency(user),
        # Until a privileged user has verified the second factor, the navigation is hidden.
        "second_factor_pending": bool(user and not second_factor_satisfied(user)),
    }


def _agency(user) -> str:
    """The agency of the user's coordination area (the footer); the default for others."""
    from core.regions import agency_name

    region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
    return agency_name(region.coordination_area if region else None)
