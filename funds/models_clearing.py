"""Clearing one-stop assistance with institutions (清算, P §14, §26–27, DOMAIN §10).

At the counter an institution advances the assistance of a one-stop settlement (`maf_pay`);
the agency pays it back monthly through a **Clearing** (清算单) of one coordination area and
month. A clearing has one **ClearingLine** per institution (`fixmedins_code`); the lines of
institutions outside the area are grouped under one payee, the region's cross-area
settlement (异地就医清算, P §27), so `payee` is either the institution's code or
`CROSS_AREA`. Each settlement row is held by at most one clearing: **ClearedSettlement** has
a unique settlement, so the database itself refuses to clear a row twice.

Workflow: draft (computed; recomputing replaces it) → approved (a second person) → paid (the
fund accountant, a third person; paying posts the benefit expense to the ledger).
"""

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import case_history

CROSS_AREA = "cross_area"


def _money(verbose_name):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=0)


class Clearing(models.Model):
    """The clearing statement (清算单) of one coordination area and month."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        APPROVED = "approved", _("已审核")
        PAID = "paid", _("已支付")

    fund = models.ForeignKey(
        "funds.Fund",  # by name: funds.models imports this module
        verbose_name=_("基金"),
        on_delete=models.PROTECT,
        related_name="clearings",
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    month = models.PositiveSmallIntegerField(_("月份"))
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    settlements = models.PositiveIntegerField(_("结算笔数"), default=0)
    reversals = models.PositiveIntegerField(_("退费笔数"), default=0)
    payees = models.PositiveIntegerField(_("收款方数"), default=0)
    medfee_sumamt = _money(_("医疗费总额"))
    inpatient = _money(_("住院救助金额"))
    outpatient = _money(_("门诊救助金额"))
    total = _money(_("清算金额合计"))
    cross_area = _money(_("其中异地就医清算"))
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("制单人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    computed_at = models.DateTimeField(_("制单时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("支付登记人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    paid_on = models.DateField(_("支付日期"), null=True, blank=True)
    payment_reference = models.CharField(_("转账凭证号"), max_length=40, blank=True)

    history = case_history()
    region_lookup = "fund__area"

    class Meta:
        verbose_name = _("清算单")
        verbose_name_plural = _("清算单")
        ordering = ["-year", "-month", "fund"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "month"], name="funds_clearing_unique")
        ]
        permissions = [
            ("compute_clearing", _("计算清算单")),
            ("approve_clearing", _("审核清算单")),
            ("pay_clearing", _("登记清算支付")),
        ]

    def __str__(self):
        return f"{self.fund_id} {self.period}"

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class ClearingLine(models.Model):
    """One institution's line of a clearing: what the fund owes it (a negative net: 应扣回)."""

    clearing = models.ForeignKey(
        Clearing, verbose_name=_("清算单"), on_delete=models.CASCADE, related_name="lines"
    )
    institution_code = models.CharField(_("定点医药机构编号"), max_length=30)
    institution_name = models.CharField(_("定点医药机构名称"), max_length=200)
    # The institution's code, or CROSS_AREA for an institution outside the area (P §27).
    payee = models.CharField(_("收款方"), max_length=30)
    settlements = models.PositiveIntegerField(_("结算笔数"), default=0)
    reversals = models.PositiveIntegerField(_("退费笔数"), default=0)
    medfee_sumamt = _money(_("医疗费总额"))
    inpatient = _money(_("住院救助金额"))
    outpatient = _money(_("门诊救助金额"))
    net = _money(_("清算净额"))

    region_lookup = "clearing__fund__area"

    class Meta:
        verbose_name = _("清算明细行")
        verbose_name_plural = _("清算明细行")
        ordering = ["clearing", "payee", "institution_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["clearing", "institution_code"], name="funds_clearingline_unique"
            )
        ]

    def __str__(self):
        return f"{self.institution_code} {self.net}"

    @property
    def is_cross_area(self) -> bool:
        return self.payee == CROSS_AREA


class LineBrinIndex(BrinIndex):
    """The holds' index on their line: BRIN on PostgreSQL, a plain index elsewhere (SQLite).

    A clearing's holds are written in one INSERT, in settlement order, right after its lines
    (consecutive ids): each block of heap pages holds one clearing's line ids, so a range
    index finds a clearing's holds (release, benefit report, drill-down) as well as a B-tree,
    without a B-tree insertion per hold at random places (a third of the computation's time
    at a million holds a month). A line's drill-down reads its clearing's holds."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return models.Index.create_sql(self, model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)


class ClearedSettlement(models.Model):
    """A settlement row held by a clearing line. The unique settlement is the exactly-once rule.

    Written set-based (one INSERT … SELECT per clearing, up to a million rows a month), so
    the two foreign keys carry no database constraint: a deferred FK trigger per row doubled
    the insert's time. Integrity holds by construction (the rows come from a SELECT of the
    settlements and lines; settlements are append-only and never deleted; a line's holds are
    deleted before the line). The settlement is the primary key: its unique index is what
    matters and stays.
    """

    # The primary key: its unique index is the exactly-once rule, and the only index a hold
    # adds besides the line's (no surrogate id, no sequence: a million holds a month).
    settlement = models.OneToOneField(
        "monitoring.Settlement",
        verbose_name=_("结算明细"),
        on_delete=models.PROTECT,
        related_name="cleared",
        db_constraint=False,
        primary_key=True,
    )
    line = models.ForeignKey(
        ClearingLine,
        verbose_name=_("清算明细行"),
        on_delete=models.CASCADE,
        related_name="held",
        db_constraint=False,
        db_index=False,  # a BRIN index (Meta): see LineBrinIndex
    )
    # The settlement's visit type when it was cleared: what the line's inpatient/outpatient
    # sums (and so the postings) used. Re-mapping a medical type later changes the
    # settlement's visit type (§9.2), not what was cleared and paid; the benefit report
    # splits paid clearings by this value, so its split always sums to the postings.
    visit_type = models.CharField(_("清算时就诊类型"), max_length=20, blank=True, default="")

    region_lookup = "line__clearing__fund__area"

    class Meta:
        verbose_name = _("已清算结算")
        verbose_name_plural = _("已清算结算")
        indexes = [
            LineBrinIndex(fields=["line"], name="funds_cleared_line_brin", autosummarize=True)
        ]

    def __str__(self):
        return f"{self.line_id} {self.settlement_id}"
