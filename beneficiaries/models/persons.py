from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import case_history


class Household(models.Model):
    """A family (户): members share the income tests of DOMAIN §3."""

    region = models.ForeignKey(
        "core.Region", verbose_name=_("户籍所在区划"), on_delete=models.PROTECT
    )
    address = models.CharField(_("住址"), max_length=200, blank=True)
    members_count = models.PositiveSmallIntegerField(_("家庭人口数"), default=1)
    annual_income = models.DecimalField(
        _("家庭年收入"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = case_history()
    region_lookup = "region"

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")

    def __str__(self):
        return _("家庭 %(id)s") % {"id": self.pk}


class Person(models.Model):
    """A person known to the portal: a beneficiary, an applicant or an insured person."""

    class Sex(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")

    class Residence(models.TextChoices):
        RURAL = "rural", _("农村牧区")
        URBAN = "urban", _("城镇")

    id_number = models.CharField(_("公民身份号码"), max_length=18, unique=True)
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    phone = models.CharField(_("联系电话"), max_length=30, blank=True, db_index=True)
    region = models.ForeignKey(
        "core.Region",
        verbose_name=_("户籍所在区划"),
        on_delete=models.PROTECT,
        related_name="persons",
    )
    residence = models.CharField(
        _("城乡属性"), max_length=10, choices=Residence.choices, default=Residence.URBAN
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("家庭"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )
    relation = models.CharField(_("与户主关系"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = case_history()
    region_lookup = "region"

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        ordering = ["-id"]
        permissions = [("reveal_id_number", _("查看完整身份证号码"))]
        # Lists filter by region and page by id (newest first): one index serves both.
        indexes = [models.Index(fields=["region", "-id"], name="person_region_id_idx")]

    def __str__(self):
        return self.name
