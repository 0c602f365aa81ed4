from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class HistoricalAuditBase(models.Model):
    """Extra columns on every simple-history table: where a change came from (DOMAIN §8)."""

    ip_address = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """An auditable action that is not a model change: an ID reveal, an export, a print."""

    class Action(models.TextChoices):
        REVEAL_ID = "reveal_id", _("查看完整身份证号")
        EXPORT = "export", _("导出")
        PRINT = "print", _("打印")
        POLICY_RESCAN = "policy_rescan", _("政策变更触发重算")
        LOGIN_LOCKOUT = "login_lockout", _("登录失败锁定")
        SECOND_FACTOR_RESET = "second_factor_reset", _("重置双因素认证")
        MATCH_UNDO = "match_undo", _("取消对账匹配")

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        null=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    action = models.CharField(_("操作"), max_length=30, choices=Action.choices)
    object_type = models.CharField(_("对象类型"), max_length=50, blank=True)
    object_id = models.CharField(_("对象"), max_length=50, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("来源IP"), null=True, blank=True)

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user or _('系统')} {self.get_action_display()}"
