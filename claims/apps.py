from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = _("救助申请")

    def ready(self):
        from claims import simulation_chunks  # noqa: F401 (registers the 测算 chunked job, core.chunked)
