from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.translation import gettext_lazy


class PortalAdminSite(AdminSite):
    """Django admin for verified sessions only (DOMAIN §8: second factor for admins).

    Like django-otp's OTPAdminSite, but signing in goes through the portal's own login and
    verification pages, so there is one sign-in door with the lockout and the second factor.
    """

    site_header = settings.PORTAL_NAME
    site_title = settings.PORTAL_NAME
    index_title = gettext_lazy("系统管理")
    empty_value_display = "—"  # not "None" or "-" for an empty field

    def has_permission(self, request):
        from core.two_factor import second_factor_satisfied

        return super().has_permission(request) and second_factor_satisfied(request.user)

    def login(self, request, extra_context=None):
        next_url = request.GET.get("next") or resolve_url("admin:index")
        return redirect_to_login(next_url, resolve_url(settings.LOGIN_URL))
