"""Corrections (DOMAIN §11): re-assessment runs, top-up/recovery proposals, recovery cases.

A proposal is an alert of kind `reassessment` in the work queue (monitoring.Alert) with its
figures here: the record (a manual bill or a one-stop settlement), what was paid, what the
engine's replay under the current identities says is due, and both sets of steps. A recovery
case (追回) is the case a caseworker opens from a recovery proposal; its money goes through
the ledger (receivable on approval, repayment as expense reversal or 4009 income).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import Category

ZERO = Decimal("0.00")


def _money(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


class ReassessmentRun(models.Model):
    """One after-commit re-assessment of the persons an identity change touched.

    `person_years` is [[person_id, year], …]; it is done in chunks of CHUNK_SIZE persons, one
    Celery task each; `chunks_done` is the progress the roster page shows.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("复核中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    roster_batch = models.ForeignKey(
        "beneficiaries.RosterBatch",
        verbose_name=_("名单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reassessment_runs",
    )
    person_years = models.JSONField(_("人员年度"), default=list)
    # {person_id: {identity_id: [category, start, end] | null}}: identities before the change
    before_identities = models.JSONField(_("变更前身份"), default=dict, blank=True)
    persons = models.PositiveIntegerField(_("人数"), default=0)
    chunks_total = models.PositiveIntegerField(_("分段总数"), default=0)
    chunks_done = models.PositiveIntegerField(_("已完成分段"), default=0)
    proposals = models.PositiveIntegerField(_("新建建议"), default=0)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    error = models.TextField(_("错误信息"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("待遇复核")
        verbose_name_plural = _("待遇复核")
        ordering = ["-id"]

    def __str__(self):
        return f"#{self.pk} {self.chunks_done}/{self.chunks_total}"

    @property
    def percent_done(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.chunks_done / self.chunks_total) if self.chunks_total else 0


class Proposal(models.Model):
    """A top-up (补发) or recovery (追回) proposal for one record of a person's year.

    Invariant: one proposal per (person, year, record, version); the live one of a record is
    the latest version whose alert is not superseded. A later re-assessment with the same
    amount changes nothing; one with another amount supersedes it (status + `superseded_by`).
    """

    class Direction(models.TextChoices):
        TOP_UP = "top_up", _("补发")
        RECOVERY = "recovery", _("追回")

    alert = models.OneToOneField(
        "monitoring.Alert",
        verbose_name=_("预警"),
        on_delete=models.PROTECT,
        related_name="proposal",
    )
    person = models.ForeignKey(
        "beneficiaries.Person",
        verbose_name=_("人员"),
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    record = models.CharField(_("记录"), max_length=60)  # "bill:12" or "setl:<setl_id>"
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    bill = models.ForeignKey(
        "claims.Bill",
        verbose_name=_("票据"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="proposals",
    )
    setl_id = models.CharField(_("结算ID"), max_length=40, blank=True)
    visit_type = models.CharField(_("就医类别"), max_length=20)
    end_date = models.DateField(_("就医日期"))
    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices)
    paid = _money(_("已支付"))
    due = _money(_("应支付"))
    difference = _money(_("差额"))  # due − paid: > 0 top-up, < 0 recovery
    category_before = models.CharField(_("原适用类别"), max_length=30, blank=True)
    category_after = models.CharField(_("现适用类别"), max_length=30, blank=True)
    before_steps = models.JSONField(_("原测算过程"), default=list)
    after_steps = models.JSONField(_("复核测算过程"), default=list)
    superseded_by = models.ForeignKey(
        "self",
        verbose_name=_("被替代为"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supersedes",
    )
    application = models.ForeignKey(
        "claims.Application",
        verbose_name=_("补发申请"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposals",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    region_lookup = "person__region"

    class Meta:
        verbose_name = _("补发/追回建议")
        verbose_name_plural = _("补发/追回建议")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "year", "record", "version"], name="proposal_once_per_version"
            )
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.record} {self.difference}"

    @property
    def amount(self) -> Decimal:
        return abs(self.difference)

    def shown_before_steps(self) -> list[str]:
        """The paid assessment's steps in the active language."""
        return _shown(self.before_steps)

    def shown_after_steps(self) -> list[str]:
        """The re-assessment's steps in the active language."""
        return _shown(self.after_steps)

    @property
    def category_before_label(self) -> str:
        """The category the paid assessment applied, by its name (the code if unknown)."""
        return dict(Category.choices).get(self.category_before, self.category_before)

    @property
    def category_after_label(self) -> str:
        return dict(Category.choices).get(self.category_after, self.category_after)


def _shown(steps: list) -> list[str]:
    """Step records rendered with gettext; lines stored as text (older rows) as they are."""
    from django.utils.translation import gettext

    from claims.engine_text import format_message

    return [
        format_message(step["msgid"], step["params"], gettext) if isinstance(step, dict) else step
        for step in steps
    ]


class RecoveryCase(models.Model):
    """A recovery (追回) of an overpaid benefit: proposed → approved → notified → repaid.

    Maker-checker (DOMAIN §8): whoever proposed it does not approve it. Approval posts the
    receivable; the accountant records repayments (partial ones allowed) until it is repaid.
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待审批")
        APPROVED = "approved", _("已审批")
        NOTIFIED = "notified", _("已通知")
        REPAID = "repaid", _("已追回")
        CANCELLED = "cancelled", _("已撤销")

    # Statuses in which the overpayment counts as being recovered (re-assessment nets it).
    LIVE = (Status.PROPOSED, Status.APPROVED, Status.NOTIFIED, Status.REPAID)

    proposal = models.OneToOneField(
        Proposal, verbose_name=_("建议"), on_delete=models.PROTECT, related_name="recovery"
    )
    person = models.ForeignKey(
        "beneficiaries.Person",
        verbose_name=_("人员"),
        on_delete=models.PROTECT,
        related_name="recovery_cases",
    )
    area = models.ForeignKey(
        "core.Region", verbose_name=_("统筹地区"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("待遇年度"))
    visit_type = models.CharField(_("就医类别"), max_length=20)
    amount = _money(_("追回金额"))
    repaid = _money(_("已追回金额"), default=ZERO)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    notice_number = models.CharField(_("通知书编号"), max_length=30, blank=True)
    benefit_alert = models.ForeignKey(
        "monitoring.Alert",
        verbose_name=_("身份终止后享受待遇预警"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recovery_cases",
    )
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    notified_at = models.DateTimeField(_("通知时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = case_history()
    region_lookup = "person__region"

    class Meta:
        verbose_name = _("追回案件")
        verbose_name_plural = _("追回案件")
        ordering = ["-id"]

    def __str__(self):
        return _("%(person)s %(year)s 年追回 #%(id)s") % {
            "person": self.person,
            "year": self.year,
            "id": self.pk,
        }

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.repaid


class Repayment(models.Model):
    """Money returned on a recovery case, recorded by the fund accountant (财务)."""

    case = models.ForeignKey(
        RecoveryCase,
        verbose_name=_("追回案件"),
        on_delete=models.PROTECT,
        related_name="repayments",
    )
    amount = _money(_("金额"))
    paid_on = models.DateField(_("到账日期"))
    reference = models.CharField(_("凭证号"), max_length=60)
    # "reversal": a reversal of the year's benefit expense; "income": 400901 跨年度追回待遇.
    posting = models.CharField(_("记账方式"), max_length=10)
    voucher = models.ForeignKey(
        "funds.Transaction", verbose_name=_("凭证"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    region_lookup = "case__person__region"

    class Meta:
        verbose_name = _("追回款")
        verbose_name_plural = _("追回款")
        ordering = ["case", "id"]

    def __str__(self):
        return f"{self.case_id}: {self.amount}"
