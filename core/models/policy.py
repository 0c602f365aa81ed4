from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import Category
from core.money import money

# R(三): the fixed enrollment subsidy is at least 45% of the resident contribution standard.
MIN_FIXED_SUBSIDY_SHARE = Decimal("0.45")

POLICY_IN_USE = _(
    "该政策已被救助测算、审批或监测扫描使用，不能删除，其类别标准也不能修改；"
    "如需调整，请设定本政策的失效日期，并新建下一版本政策。"
)

_non_negative = MinValueValidator(Decimal("0"), message=_("金额不能为负数。"))
_ratio_range = [
    MinValueValidator(Decimal("0"), message=_("比例应在 0 到 1 之间（即 0%%–100%%）。")),
    MaxValueValidator(Decimal("1"), message=_("比例应在 0 到 1 之间（即 0%%–100%%）。")),
]


def _money(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=14, decimal_places=2, validators=[_non_negative], **kwargs
    )


def _ratio(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name,
        max_digits=5,
        decimal_places=4,
        validators=_ratio_range,
        help_text=_("以小数填写，例如 0.75 表示 75%。"),
        **kwargs,
    )


class PolicyQuerySet(models.QuerySet):
    def in_force(self, area, day) -> "Policy | None":
        """The policy of coordination area `area` (a Region or its code) in force on `day`."""
        area_code = getattr(area, "code", area)
        return (
            self.filter(area_id=area_code, valid_from__lte=day)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
            .prefetch_related("categories")
            .first()
        )


class Policy(models.Model):
    """The medical-assistance parameters of one coordination area for one period (DOMAIN §2).

    Set by the city medical security bureau; never hard-coded. Periods of one area do not
    overlap, so exactly one policy (or none) is in force on a day.
    """

    area = models.ForeignKey(
        "core.Region",
        verbose_name=_("统筹地区"),
        on_delete=models.PROTECT,
        related_name="policies",
        limit_choices_to={"level": 2},
    )
    name = models.CharField(_("名称"), max_length=100)
    document = models.CharField(_("政策依据"), max_length=200, blank=True)
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)

    all_resident_income = _money(_("上年全体居民人均可支配收入"))
    rural_income = _money(_("上年农村牧区常住居民人均可支配收入"))
    min_living_standard = _money(_("低保标准（元/人·年）"))

    annual_cap = _money(
        _("年度救助限额"), null=True, blank=True, help_text=_("门诊和住院共用；留空表示不设限额。")
    )
    tilted_deductible = _money(_("倾斜救助起付标准"))
    tilted_ratio = _ratio(_("倾斜救助比例"))

    contribution_standard = _money(_("居民医保个人缴费标准"))

    impoverishment_threshold = _ratio(
        _("因病致贫监测线（占农村居民收入比例）"), default=Decimal("1.00")
    )
    poverty_return_threshold = _ratio(
        _("因病返贫监测线（占农村居民收入比例）"), default=Decimal("0.50")
    )
    out_of_catalog_limit_level2 = _ratio(_("二级机构目录外费用占比上限"), default=Decimal("0.05"))
    out_of_catalog_limit_level3 = _ratio(_("三级机构目录外费用占比上限"), default=Decimal("0.10"))
    processing_days_limit = models.PositiveSmallIntegerField(_("办理时限（工作日）"), default=20)

    objects = PolicyQuerySet.as_manager()
    history = case_history()

    class Meta:
        verbose_name = _("救助政策")
        verbose_name_plural = _("救助政策")
        ordering = ["area", "-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="policy_period_ordered",
            )
        ]

    def __str__(self):
        return f"{self.area.name} {self.name}"

    def clean(self):
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("失效日期不能早于生效日期。")})
        if self.area_id and self.valid_from:
            overlapping = Policy.objects.filter(area_id=self.area_id).exclude(pk=self.pk)
            if self.valid_to:
                overlapping = overlapping.filter(valid_from__lte=self.valid_to)
            overlapping = overlapping.filter(
                Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from)
            )
            clash = overlapping.first()
            if clash:
                raise ValidationError(
                    _("与同一统筹地区的政策“%(name)s”（%(start)s 起）期间重叠。")
                    % {"name": clash.name, "start": clash.valid_from}
                )

    def is_used(self) -> bool:
        """Whether an assessment, approval or scan used this policy (DOMAIN §8).

        Every record that keeps the policy it used points here with on_delete=PROTECT (bills
        the engine assessed, monitoring runs); a used policy is only superseded, never deleted.
        """
        if self.pk is None:
            return False
        for relation in self._meta.related_objects:
            if relation.on_delete is not models.PROTECT or relation.related_model is PolicyCategory:
                continue
            if relation.related_model._base_manager.filter(**{relation.field.name: self}).exists():
                return True
        return False

    @property
    def poverty_return_line(self) -> Decimal:
        """DOMAIN §7: R × 50%, rounded half-up to 0.01."""
        return money(self.rural_income * self.poverty_return_threshold)

    @property
    def impoverishment_line(self) -> Decimal:
        return money(self.rural_income * self.impoverishment_threshold)

    def category_rules(self) -> dict[str, "PolicyCategory"]:
        return {rule.category: rule for rule in self.categories.all()}

    def rank(self) -> list[str]:
        """Categories from the highest rank down (就高不就低); categories with no rule last."""
        ranked = sorted(self.categories.all(), key=lambda r: r.rank)
        order = [r.category for r in ranked]
        return order + [c for c in Category.values if c not in order]


class PolicyCategory(models.Model):
    """Deductible, ratio, rank and enrollment subsidy of one category under a policy."""

    class Subsidy(models.TextChoices):
        NONE = "none", _("不资助")
        FULL = "full", _("全额资助")
        FIXED = "fixed", _("定额资助")

    policy = models.ForeignKey(
        Policy, verbose_name=_("政策"), on_delete=models.CASCADE, related_name="categories"
    )
    category = models.CharField(_("救助对象类别"), max_length=30, choices=Category.choices)
    rank = models.PositiveSmallIntegerField(
        _("优先级"), help_text=_("1 为最高；多重身份按“就高不就低”取优先级最高者。")
    )
    deductible = _money(_("年度起付标准"))
    ratio = _ratio(_("救助比例"))
    subsidy = models.CharField(
        _("资助参保方式"), max_length=10, choices=Subsidy.choices, default=Subsidy.NONE
    )
    subsidy_amount = _money(_("定额资助金额"), null=True, blank=True)

    history = case_history()

    class Meta:
        verbose_name = _("类别标准")
        verbose_name_plural = _("类别标准")
        ordering = ["policy", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "category"], name="policy_category_once"),
            models.UniqueConstraint(fields=["policy", "rank"], name="policy_rank_once"),
        ]

    def __str__(self):
        return self.get_category_display()

    def save(self, *args, **kwargs):
        # The rules a used policy applied stay as they were applied (DOMAIN §8).
        if self.policy_id and self.policy.is_used():
            raise ValidationError(POLICY_IN_USE)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.policy_id and self.policy.is_used():
            raise ValidationError(POLICY_IN_USE)
        return super().delete(*args, **kwargs)

    def clean(self):
        if self.subsidy == self.Subsidy.FIXED:
            if self.subsidy_amount is None:
                raise ValidationError({"subsidy_amount": _("定额资助须填写资助金额。")})
            try:
                standard = self.policy.contribution_standard
            except Policy.DoesNotExist:
                standard = None
            minimum = None if standard is None else money(standard * MIN_FIXED_SUBSIDY_SHARE)
            if minimum is not None and self.subsidy_amount < minimum:
                raise ValidationError(
                    {
                        "subsidy_amount": _(
                            "定额资助不得低于居民医保个人缴费标准的45%%（%(minimum)s 元）。"
                        )
                        % {"minimum": minimum}
                    }
                )

    def subsidy_for(self, contribution_standard: Decimal) -> Decimal:
        """The enrollment subsidy of one person of this category (W 三(二))."""
        if self.subsidy == self.Subsidy.FULL:
            return contribution_standard
        if self.subsidy == self.Subsidy.FIXED:
            return min(self.subsidy_amount or Decimal("0"), contribution_standard)
        return Decimal("0.00")
