from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .audit import HistoricalAuditBase

USER_NOT_DELETABLE = _("用户不能删除，只能停用：历史记录中的经办人、审核人须保留。")


class UserHistoricalRecords(HistoricalRecords):
    """History of users with their groups and permissions: a row per real change of them."""

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs):
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if action != "post_clear" and not pk_set:
            return  # e.g. granting a role the user already holds: nothing changed
        if reverse:
            # Changed from the group's (or permission's) side: the users are in pk_set.
            if pk_set:
                for user in User.objects.filter(pk__in=pk_set):
                    self.create_historical_record(user, "~")
            return
        super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)


class User(AbstractUser):
    """A portal user. Their region bounds what case data they see (DOMAIN §8).

    Users are deactivated, never deleted (`core.user_services.user_deactivate`): every
    history row and record names who did it. Their changes, groups (roles) and permissions
    included, keep a history with the acting user and client IP like the case data.
    """

    name = models.CharField(_("姓名"), max_length=50, blank=True)
    region = models.ForeignKey(
        "core.Region",
        verbose_name=_("所属区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )

    # The password hash stays out of the history; a login (last_login) writes no history row.
    history = UserHistoricalRecords(
        bases=[HistoricalAuditBase],
        m2m_fields=["groups", "user_permissions"],
        excluded_fields=["password", "last_login"],
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and set(update_fields) <= {"last_login"}:
            self.skip_history_when_saving = True
            try:
                return super().save(*args, **kwargs)
            finally:
                del self.skip_history_when_saving
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(USER_NOT_DELETABLE)

    def get_full_name(self):
        return self.name or self.username

    def __str__(self):
        return self.name or self.username

    def has_role(self, role: str) -> bool:
        return self.groups.filter(name=role).exists()
