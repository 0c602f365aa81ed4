"""Domain vocabularies shared by every app (DOMAIN §1)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    """救助对象类别, listed from the highest rank down (W 三(二)(三), P §17)."""

    DESTITUTE = "destitute", _("特困人员")
    SUBSISTENCE = "subsistence", _("低保对象")
    POVERTY_RISK = "poverty_risk", _("易返贫致贫人口")
    NEAR_SUBSISTENCE = "near_subsistence", _("低保边缘家庭成员")
    ILLNESS_IMPOVERISHED = "illness_impoverished", _("因病致贫重病患者")
    OTHER_SPECIAL = "other_special", _("其他特殊困难人员")


class VisitType(models.TextChoices):
    INPATIENT = "inpatient", _("住院")
    CHRONIC_OUTPATIENT = "chronic_outpatient", _("门诊慢特病")
    GENERAL_OUTPATIENT = "general_outpatient", _("普通门诊")


class Department(models.TextChoices):
    """Departments that recognise identities and send rosters (DOMAIN §3, §9.1)."""

    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    RURAL_REVITALIZATION = "rural_revitalization", _("乡村振兴")
    DISABLED_FEDERATION = "disabled_federation", _("残联")
    TRADE_UNION = "trade_union", _("总工会")
    OTHER = "other", _("其他")
