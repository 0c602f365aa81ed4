from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate, pre_delete
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("基础设置")

    def ready(self):
        # checks and regions register themselves; tasks gives core.chunked its chunk task.
        from core import audit, checks, regions, roles, signin, tasks, user_services  # noqa: F401

        audit.connect_signals()
        signin.connect_signals()
        # Users are deactivated, never deleted (DOMAIN §8: "who" in every record survives).
        pre_delete.connect(
            user_services.refuse_user_delete,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="core.user_services.refuse_user_delete",
        )
        # Roles are groups whose permissions follow core.roles.ROLE_PERMISSIONS; they are
        # re-synced after every migrate so a new app's permissions reach its roles.
        post_migrate.connect(roles.sync_roles_after_migrate)
