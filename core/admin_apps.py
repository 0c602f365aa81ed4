from axes import apps as axes_apps
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy
from django_celery_results.apps import CeleryResultConfig


class PortalAdminConfig(AdminConfig):
    """Django admin whose default site (`admin.site`) is core.admin_site.PortalAdminSite."""

    default_site = "core.admin_site.PortalAdminSite"


class CeleryResultsConfig(CeleryResultConfig):
    """django_celery_results with names in the portal's words (it ships no compiled Chinese,
    so the admin showed "CELERY RESULTS" and "task results" on a Chinese page)."""

    verbose_name = gettext_lazy("后台任务结果")

    def ready(self):
        super().ready()
        names = {
            "TaskResult": (gettext_lazy("任务结果"), gettext_lazy("任务结果")),
            "GroupResult": (gettext_lazy("任务组结果"), gettext_lazy("任务组结果")),
            "ChordCounter": (gettext_lazy("任务组计数"), gettext_lazy("任务组计数")),
        }
        for model in self.get_models():
            if model.__name__ in names:
                model._meta.verbose_name, model._meta.verbose_name_plural = names[model.__name__]


class AxesConfig(axes_apps.AppConfig):
    """django-axes (sign-in lockout) named in the portal's words, like the task results."""

    verbose_name = gettext_lazy("登录安全")

    def ready(self):
        super().ready()
        names = {
            "AccessAttempt": gettext_lazy("登录失败计数"),
            "AccessFailureLog": gettext_lazy("登录失败记录"),
            "AccessLog": gettext_lazy("登录记录"),
            "AccessAttemptExpiration": gettext_lazy("登录失败计数到期"),
        }
        for model in self.get_models():
            if model.__name__ in names:
                model._meta.verbose_name = model._meta.verbose_name_plural = names[model.__name__]
