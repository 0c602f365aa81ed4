from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """Django admin whose default site (`admin.site`) is core.admin_site.PortalAdminSite."""

    default_site = "core.admin_site.PortalAdminSite"
