from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import Category


class Enrollment(models.Model):
    """A person's basic-insurance enrollment for one year (DOMAIN §5).

    Deliberately not unique per person and year: a person enrolled twice (多保/重复参保) is a
    fact the monthly cross-check must be able to see (DOMAIN §7).
    """

    class Scheme(models.TextChoices):
        RESIDENT = "resident", _("城乡居民医保")
        EMPLOYEE = "employee", _("职工医保")

    class PaidHow(models.TextChoices):
        SELF = "self", _("个人缴费")
        SUBSIDY = "subsidy", _("资助参保")
        BOTH = "both", _("个人缴费+资助")

    person = models.ForeignKey(
        "beneficiaries.Person",
        verbose_name=_("人员"),
        on_delete=models.PROTECT,
        related_name="enrollments",
    )
    year = models.PositiveSmallIntegerField(_("参保年度"))
    scheme = models.CharField(_("险种"), max_length=10, choices=Scheme.choices)
    area = models.ForeignKey(
        "core.Region", verbose_name=_("参保地"), on_delete=models.PROTECT, related_name="+"
    )
    paid_how = models.CharField(
        _("缴费方式"), max_length=10, choices=PaidHow.choices, default=PaidHow.SELF
    )
    paid_date = models.DateField(_("缴费日期"), null=True, blank=True)
    benefit_start = models.DateField(_("待遇享受期起始日"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = case_history()
    region_lookup = "person__region"

    class Meta:
        verbose_name = _("参保登记")
        verbose_name_plural = _("参保登记")
        ordering = ["person", "-year", "id"]
        indexes = [
            models.Index(fields=["person", "year"], name="enrollment_person_year_idx"),
            models.Index(fields=["year", "scheme"], name="enrollment_year_scheme_idx"),
        ]

    def __str__(self):
        return f"{self.person} {self.year} {self.get_scheme_display()}"


class SubsidyBatch(models.Model):
    """One run of the enrollment-subsidy computation for an area and year (DOMAIN §5).

    Created as a draft (the preview is computed live), then confirmed once: confirming claims
    the batch with a conditional update, so two users confirming at once pay once.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("待确认")
        CONFIRMED = "confirmed", _("已确认")

    area = models.ForeignKey(
        "core.Region",
        verbose_name=_("区划"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    year = models.PositiveSmallIntegerField(_("资助年度"))
    as_of = models.DateField(_("身份认定截止日"))
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    count = models.PositiveIntegerField(_("资助人数"), default=0)
    total = models.DecimalField(_("资助总额"), max_digits=14, decimal_places=2, default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("确认人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    history = case_history()
    region_lookup = "area"

    class Meta:
        verbose_name = _("资助参保批次")
        verbose_name_plural = _("资助参保批次")
        ordering = ["-id"]
        permissions = [
            ("confirm_subsidybatch", _("确认资助参保批次")),
            ("export_subsidybatch", _("导出资助参保名单")),
        ]

    def __str__(self):
        return _("%(year)s年度资助参保（%(area)s）#%(id)s") % {
            "year": self.year,
            "area": self.area.name,
            "id": self.pk,
        }


class Subsidy(models.Model):
    """The enrollment subsidy (资助参保) paid for one person and year.

    Invariant (W 三(二) 不得重复资助): at most one per person and year, enforced by the database.
    """

    class Rule(models.TextChoices):
        FULL = "full", _("全额资助")
        FIXED = "fixed", _("定额资助")

    person = models.ForeignKey(
        "beneficiaries.Person",
        verbose_name=_("人员"),
        on_delete=models.PROTECT,
        related_name="subsidies",
    )
    year = models.PositiveSmallIntegerField(_("资助年度"))
    category = models.CharField(_("资助身份类别"), max_length=30, choices=Category.choices)
    rule = models.CharField(_("资助方式"), max_length=10, choices=Rule.choices)
    amount = models.DecimalField(_("资助金额"), max_digits=14, decimal_places=2)
    identity = models.ForeignKey(
        "beneficiaries.Identity",
        verbose_name=_("依据身份"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    batch = models.ForeignKey(
        SubsidyBatch, verbose_name=_("批次"), on_delete=models.PROTECT, related_name="subsidies"
    )
    area = models.ForeignKey(
        "core.Region", verbose_name=_("统筹地区"), on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = case_history()
    region_lookup = "person__region"

    class Meta:
        verbose_name = _("资助参保")
        verbose_name_plural = _("资助参保")
        ordering = ["batch", "id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "year"], name="subsidy_once_per_year")
        ]

    def __str__(self):
        return f"{self.person} {self.year} {self.amount}"
