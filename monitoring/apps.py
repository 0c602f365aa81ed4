from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("监测预警")

    def ready(self):
        # Register the chunked jobs (core.chunked): the high-cost scan, the monthly cross checks.
        from monitoring import check_chunks, scan_chunks  # noqa: F401
