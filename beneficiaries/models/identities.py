from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import Category, Department

# P §15 (次月起不再享受) and §3: the one definition lives in core.coverage (pure).
from core.coverage import coverage_end, covers_day


class IdentityQuerySet(models.QuerySet):
    def open_on(self, day: date):
        """Identities recognised on `day` and not ended before it."""
        return self.filter(start__lte=day).filter(Q(end__isnull=True) | Q(end__gte=day))

    def covering(self, day: date):
        """Identities that cover an outpatient bill on `day` (start ≤ day ≤ coverage end): the
        ORM form of core.coverage.covers_day (tests/core/test_coverage.py compares them)."""
        first_of_month = day.replace(day=1)
        return self.filter(start__lte=day).filter(Q(end__isnull=True) | Q(end__gte=first_of_month))

    def overlapping(self, start: date, end: date | None):
        """Identities whose period [start, end] meets the given one (open ends are infinite)."""
        qs = self.filter(Q(end__isnull=True) | Q(end__gte=start))
        if end is not None:
            qs = qs.filter(start__lte=end)
        return qs


class Identity(models.Model):
    """An assistance identity (救助身份) of a person: category and validity (DOMAIN §3).

    Nothing is deleted: a termination sets `end`, a change keeps its history (who, when and
    why: the reason is the history row's change reason).
    """

    person = models.ForeignKey(
        "beneficiaries.Person",
        verbose_name=_("人员"),
        on_delete=models.PROTECT,
        related_name="identities",
    )
    category = models.CharField(_("救助对象类别"), max_length=30, choices=Category.choices)
    start = models.DateField(_("认定日期"))
    end = models.DateField(_("终止日期"), null=True, blank=True)
    department = models.CharField(
        _("认定部门"), max_length=30, choices=Department.choices, default=Department.CIVIL_AFFAIRS
    )
    document = models.CharField(_("认定文书"), max_length=200, blank=True)
    region = models.ForeignKey(
        "core.Region", verbose_name=_("认定区划"), on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.CharField(_("终止原因"), max_length=200, blank=True)
    # The department roster that last confirmed this identity (DOMAIN §7: identities not
    # confirmed by the latest department roster are flagged by the monthly check).
    last_roster = models.ForeignKey(
        "beneficiaries.RosterBatch",
        verbose_name=_("最近确认名单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = IdentityQuerySet.as_manager()
    history = case_history(excluded_fields=["last_roster"])
    region_lookup = "person__region"

    class Meta:
        verbose_name = _("救助身份")
        verbose_name_plural = _("救助身份")
        ordering = ["person", "-start"]
        indexes = [
            models.Index(fields=["category", "start"]),
            models.Index(fields=["department", "region", "end"], name="identity_roster_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="identity_end_not_before_start",
            )
        ]

    def __str__(self):
        return f"{self.person} {self.get_category_display()}"

    @property
    def coverage_end(self) -> date | None:
        return coverage_end(self.end) if self.end else None

    def is_open_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or self.end >= day)

    def covers(self, day: date) -> bool:
        """DOMAIN §3, outpatient: start ≤ day ≤ coverage end."""
        return covers_day(self, day)
