from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A portal user. Their region bounds what case data they see (DOMAIN §8)."""

    name = models.CharField(_("姓名"), max_length=50, blank=True)
    region = models.ForeignKey(
        "core.Region",
        verbose_name=_("所属区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def get_full_name(self):
        return self.name or self.username

    def __str__(self):
        return self.name or self.username

    def has_role(self, role: str) -> bool:
        return self.groups.filter(name=role).exists()
