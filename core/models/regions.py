from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """An administrative division, keyed by its GB/T 2260 code.

    The code is hierarchical: 15xxxx is Inner Mongolia, 1503xx Wuhai, 150302 海勃湾区.
    The city (盟市) level is the coordination area (R(四): 盟市级统筹).
    """

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("自治区")
        CITY = 2, _("盟市")
        COUNTY = 3, _("旗县区")

    code = models.CharField(_("行政区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=50)
    level = models.PositiveSmallIntegerField(_("级别"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    valid_from = models.DateField(_("启用日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    @property
    def prefix(self) -> str:
        """The code prefix shared by this region and everything below it."""
        if self.level == self.Level.PROVINCE:
            return self.code[:2]
        if self.level == self.Level.CITY:
            return self.code[:4]
        return self.code

    def subtree_codes(self) -> list[str]:
        """Codes of this region and every region below it."""
        return list(
            Region.objects.filter(code__startswith=self.prefix).values_list("code", flat=True)
        )

    def contains(self, code: str) -> bool:
        return code.startswith(self.prefix)

    @property
    def coordination_area(self) -> "Region | None":
        """The city-level region whose fund and policy apply here (None for the province)."""
        if self.level == self.Level.CITY:
            return self
        if self.level == self.Level.COUNTY:
            return self.parent
        return None


class RegionAlias(models.Model):
    """A superseded GB/T 2260 code (撤盟设市, renamed or merged units) and the current unit
    that replaced it, so an old record's code still maps (`core.regions.resolve_region`)."""

    code = models.CharField(_("原行政区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("原名称"), max_length=50)
    successor = models.ForeignKey(
        Region,
        verbose_name=_("现行政区划"),
        on_delete=models.PROTECT,
        related_name="aliases",
    )
    valid_until = models.DateField(_("停用日期"), null=True, blank=True)
    source = models.CharField(_("依据"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("已撤销的区划代码")
        verbose_name_plural = _("已撤销的区划代码")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}（{self.code}）→ {self.successor_id}"
