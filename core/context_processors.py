from django.conf import settings


def portal(request):
    from core.two_factor import second_factor_satisfied

    user = getattr(request, "user", None)
    return {
        "PORTAL_NAME": settings.PORTAL_NAME,
        "AGENCY_NAME": settings.AGENCY_NAME,
        # Until a privileged user has verified the second factor, the navigation is hidden.
        "second_factor_pending": bool(user and not second_factor_satisfied(user)),
    }
