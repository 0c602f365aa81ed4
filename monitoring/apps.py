from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("监测预警")

    def ready(self):
        from monitoring import scan_chunks  # noqa: F401 (registers the high-cost scan chunked job, core.chunked)
