from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import Category, Department


class RosterBatch(models.Model):
    """One department roster (名单) for a region on a date (DOMAIN §9.1).

    Uploaded as a draft (the preview is planned from the stored file), then applied once in
    one transaction; the lines record what the roster did to each identity.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("待确认")
        APPLIED = "applied", _("已导入")

    department = models.CharField(_("来源部门"), max_length=30, choices=Department.choices)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("名单区划"), on_delete=models.PROTECT, related_name="+"
    )
    as_of = models.DateField(_("名单日期"))
    file = models.FileField(_("文件"), upload_to="rosters/%Y/%m/", blank=True)
    file_name = models.CharField(_("文件名"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    rows = models.PositiveIntegerField(_("行数"), default=0)
    new = models.PositiveIntegerField(_("新增"), default=0)
    changed = models.PositiveIntegerField(_("变更"), default=0)
    terminated = models.PositiveIntegerField(_("终止"), default=0)
    unchanged = models.PositiveIntegerField(_("未变"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    applied_at = models.DateTimeField(_("导入时间"), null=True, blank=True)
    # The draft's preview, planned once at upload (DOMAIN §9.1 counts, the first row errors,
    # the error count, or why the file is unusable); its rows are RosterPreviewRow.
    preview = models.JSONField(_("预览"), default=dict, blank=True)

    history = case_history(excluded_fields=["preview"])
    region_lookup = "region"

    class Meta:
        verbose_name = _("部门名单")
        verbose_name_plural = _("部门名单")
        ordering = ["-id"]
        indexes = [models.Index(fields=["department", "region", "status", "as_of"])]

    def __str__(self):
        return f"{self.get_department_display()} {self.region.name} {self.as_of:%Y-%m-%d}"


class RosterLine(models.Model):
    """What an applied roster did to one identity (a row of the file, or a termination)."""

    class Effect(models.TextChoices):
        NEW = "new", _("新增")
        CHANGED = "changed", _("变更")
        UNCHANGED = "unchanged", _("未变")
        TERMINATED = "terminated", _("终止")

    batch = models.ForeignKey(
        RosterBatch, verbose_name=_("名单"), on_delete=models.CASCADE, related_name="lines"
    )
    row = models.PositiveIntegerField(_("行号"), null=True, blank=True)
    effect = models.CharField(_("结果"), max_length=12, choices=Effect.choices)
    person = models.ForeignKey(
        "beneficiaries.Person", verbose_name=_("人员"), on_delete=models.PROTECT, related_name="+"
    )
    identity = models.ForeignKey(
        "beneficiaries.Identity",
        verbose_name=_("救助身份"),
        on_delete=models.PROTECT,
        related_name="roster_lines",
    )
    category = models.CharField(_("救助对象类别"), max_length=30, choices=Category.choices)
    start = models.DateField(_("认定日期"), null=True, blank=True)
    end = models.DateField(_("终止日期"), null=True, blank=True)
    before = models.JSONField(_("变更前"), default=dict, blank=True)

    class Meta:
        verbose_name = _("名单明细")
        verbose_name_plural = _("名单明细")
        ordering = ["batch", "row", "id"]

    def __str__(self):
        return f"{self.batch_id}:{self.row} {self.effect}"


class RosterPreviewRow(models.Model):
    """One planned effect of a draft roster, stored at upload so the preview pages through the
    database instead of re-reading the file (deleted when the roster is applied)."""

    batch = models.ForeignKey(
        RosterBatch, verbose_name=_("名单"), on_delete=models.CASCADE, related_name="preview_rows"
    )
    row = models.PositiveIntegerField(_("行号"), null=True, blank=True)
    effect = models.CharField(_("结果"), max_length=12, choices=RosterLine.Effect.choices)
    name = models.CharField(_("姓名"), max_length=100, blank=True)
    id_number = models.CharField(_("公民身份号码"), max_length=18, blank=True)
    category = models.CharField(_("救助对象类别"), max_length=30, choices=Category.choices)
    start = models.DateField(_("认定日期"), null=True, blank=True)
    end = models.DateField(_("终止日期"), null=True, blank=True)
    region_code = models.CharField(_("行政区划代码"), max_length=12, blank=True)
    new_person = models.BooleanField(_("新登记"), default=False)
    before = models.JSONField(_("变更前"), default=dict, blank=True)

    class Meta:
        verbose_name = _("名单预览明细")
        verbose_name_plural = _("名单预览明细")
        ordering = ["batch", "id"]
        indexes = [models.Index(fields=["batch", "effect", "id"])]

    def __str__(self):
        return f"{self.batch_id}:{self.row} {self.effect}"
