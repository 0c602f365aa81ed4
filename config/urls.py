from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy

from core import auth_views as core_auth_views
from core import region_views
from core import views as core_views

admin.site.site_header = settings.PORTAL_NAME
admin.site.site_title = settings.PORTAL_NAME
admin.site.index_title = gettext_lazy("系统管理")

# Error pages in the portal's layout (core.error_views; 405: core.middleware).
handler400 = "core.error_views.bad_request"
handler403 = "core.error_views.permission_denied"
handler404 = "core.error_views.page_not_found"
handler500 = "core.error_views.server_error"

urlpatterns = [
    path("", core_views.dashboard, name="dashboard"),
    path("favicon.ico", core_views.favicon, name="favicon"),
    path("region/", region_views.region_dashboard, name="region_dashboard"),
    path("policies/copy/", region_views.policy_copy_view, name="policy_copy"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/2fa/", core_auth_views.two_factor_enrol, name="two_factor_enrol"),
    path("account/2fa/verify/", core_auth_views.two_factor_verify, name="two_factor_verify"),
    path(
        "account/password/",
        core_auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "account/password/done/",
        core_auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("beneficiaries/", include("beneficiaries.urls")),
    path("claims/", include("claims.urls")),
    path("funds/", include("funds.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("admin/", admin.site.urls),
]
