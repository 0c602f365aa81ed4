from django.conf import settings


def portal(request):
    return {"PORTAL_NAME": settings.PORTAL_NAME, "AGENCY_NAME": settings.AGENCY_NAME}
