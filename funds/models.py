"""The medical-assistance fund's books (P §22–27, DOMAIN §6): a double-entry ledger.

Vocabulary, for an accountant:

- A **Fund** is the medical-assistance fund of one coordination area (盟市), with its own
  books (单独建账、独立核算、专款专用, P §22).
- A **Subject** (会计科目) is a line of the chart of accounts, shared by every fund. Two of them
  are the fund's bank accounts (资产类): 财政专户存款 (fiscal special account) and 支出户存款
  (expense account); the others are income subjects (收入类, with their level detail
  中央/自治区/市/县 where P §24 asks for it) and expense subjects (支出类).
- A **Transaction** (记账凭证) is one business event; its **Legs** (分录) each hit one subject
  with a signed amount: debit (借) positive, credit (贷) negative. The legs of a transaction
  always sum to zero. A bank account's balance is the sum of its legs (debit balance); an
  income subject's total is minus the sum of its legs, an expense subject's the sum.

Examples (X in yuan):

    central fiscal subsidy arrives   财政专户存款 +X   财政补贴收入—中央 −X
    inpatient benefit paid           住院救助支出 +X   支出户存款 −X
    transfer to the expense account  支出户存款 +X     财政专户存款 −X
    interest earned                  支出户存款 +i     利息收入 −i
    interest swept (P §24 last para) 财政专户存款 +i   支出户存款 −i

The ledger is append-only: legs are never changed or deleted, a correction is a reversing
transaction (its legs are the original's negated). Manual entries wait for a second person's
approval; until then they hold their proposed legs in `draft` and have no legs at all, so every
leg in the table is posted and reports never need to look at a status.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import Category, VisitType


class Fund(models.Model):
    """The medical-assistance fund of a coordination area (one per city-level region)."""

    area = models.OneToOneField(
        "core.Region",
        verbose_name=_("统筹地区"),
        on_delete=models.PROTECT,
        related_name="fund",
        primary_key=True,
    )
    name = models.CharField(_("基金名称"), max_length=100)
    fiscal_account_no = models.CharField(_("财政专户账号"), max_length=40, blank=True)
    expense_account_no = models.CharField(_("支出户账号"), max_length=40, blank=True)

    region_lookup = "area"

    class Meta:
        verbose_name = _("医疗救助基金")
        verbose_name_plural = _("医疗救助基金")
        ordering = ["area"]

    def __str__(self):
        return self.name


class Subject(models.Model):
    """A line of the chart of accounts (P §24); seeded by a data migration, shared by all funds."""

    class Kind(models.TextChoices):
        ACCOUNT = "account", _("资产（银行账户）")
        INCOME = "income", _("收入")
        EXPENSE = "expense", _("支出")

    class Level(models.TextChoices):
        CENTRAL = "central", _("中央")
        REGIONAL = "regional", _("自治区")
        CITY = "city", _("市")
        COUNTY = "county", _("县")

    # Codes the services post to (the chart itself lives in the data migration).
    FISCAL = "1003"
    EXPENSE_ACCOUNT = "1004"
    FISCAL_SUBSIDY = "4002"
    INTEREST = "4004"
    INPATIENT = "500101"
    OUTPATIENT = "500102"
    SUBSIDY = "500103"

    code = models.CharField(_("科目编码"), max_length=10, primary_key=True)
    name = models.CharField(_("科目名称"), max_length=50)
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级科目"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    level = models.CharField(_("级次"), max_length=10, choices=Level.choices, blank=True)
    postable = models.BooleanField(_("末级科目"), default=True)

    class Meta:
        verbose_name = _("会计科目")
        verbose_name_plural = _("会计科目")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.full_name}"

    @property
    def full_name(self) -> str:
        if self.parent_id:
            return f"{self.parent.name}—{self.name}"
        return self.name


class Transaction(models.Model):
    """A journal voucher (记账凭证): one event, legs summing to zero. See the module docstring."""

    class Kind(models.TextChoices):
        INCOME = "income", _("收入")
        TRANSFER = "transfer", _("账户划转")
        INTEREST = "interest", _("利息收入")
        SWEEP = "sweep", _("利息缴存财政专户")
        EXPENSE = "expense", _("其他支出")
        BENEFIT = "benefit", _("待遇支出（自动）")
        ADJUSTMENT = "adjustment", _("对账调整")
        REVERSAL = "reversal", _("冲销")

    class Status(models.TextChoices):
        PENDING = "pending", _("待复核")
        POSTED = "posted", _("已记账")
        REJECTED = "rejected", _("已退回")

    fund = models.ForeignKey(
        Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="transactions"
    )
    booked_on = models.DateField(_("记账日期"))
    kind = models.CharField(_("业务类型"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.POSTED
    )
    reference = models.CharField(_("凭证号"), max_length=40, blank=True)
    memo = models.CharField(_("摘要"), max_length=200)
    # Idempotency of automatic postings: "claims.bill:12", "beneficiaries.subsidy:7".
    key = models.CharField(_("业务键"), max_length=100, null=True, blank=True, unique=True)
    category = models.CharField(
        _("救助对象类别"), max_length=30, choices=Category.choices, blank=True
    )
    visit_type = models.CharField(
        _("就诊类型"), max_length=30, choices=VisitType.choices, blank=True
    )
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("冲销凭证"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversed_by",
    )
    # Proposed legs of a pending manual entry: [{"subject": "1003", "amount": "100.00"}, …].
    draft = models.JSONField(_("待复核分录"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("制单人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("制单时间"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("复核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    reject_reason = models.CharField(_("退回原因"), max_length=200, blank=True)

    history = case_history()
    region_lookup = "fund__area"

    class Meta:
        verbose_name = _("记账凭证")
        verbose_name_plural = _("记账凭证")
        ordering = ["-booked_on", "-id"]
        permissions = [("approve_transaction", _("复核记账凭证"))]
        indexes = [models.Index(fields=["fund", "booked_on"])]

    def __str__(self):
        return f"{self.booked_on} {self.memo}"

    def save(self, *args, **kwargs):
        # Append-only: a posted voucher is never changed (a correction is a reversal).
        if getattr(self, "_loaded_status", None) in (self.Status.POSTED, self.Status.REJECTED):
            raise ValidationError(_("已记账或已退回的凭证不能修改，请做冲销凭证。"))
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def delete(self, *args, **kwargs):
        raise ValidationError(_("记账凭证不能删除，请做冲销凭证。"))

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = getattr(instance, "status", None)
        return instance

    @property
    def amount(self):
        """The voucher's size: the sum of its debit legs (or of its draft's)."""
        from decimal import Decimal

        if self.status == self.Status.POSTED:
            legs = [leg.amount for leg in self.legs.all()]
        else:
            legs = [Decimal(line["amount"]) for line in self.draft]
        return sum((a for a in legs if a > 0), Decimal("0.00"))


class Leg(models.Model):
    """One line of a posted voucher: a subject and a signed amount (debit +, credit −).

    `fund` and `booked_on` repeat the voucher's so reports sum one table through one index.
    Never updated or deleted (model here, triggers on PostgreSQL; see migration 0002).
    """

    transaction = models.ForeignKey(
        Transaction, verbose_name=_("凭证"), on_delete=models.PROTECT, related_name="legs"
    )
    fund = models.ForeignKey(
        Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="+"
    )
    booked_on = models.DateField(_("记账日期"))
    subject = models.ForeignKey(
        Subject, verbose_name=_("科目"), on_delete=models.PROTECT, related_name="legs"
    )
    amount = models.DecimalField(_("金额（借正贷负）"), max_digits=14, decimal_places=2)

    region_lookup = "fund__area"

    class Meta:
        verbose_name = _("分录")
        verbose_name_plural = _("分录")
        ordering = ["transaction_id", "id"]
        indexes = [
            models.Index(
                # Month ranges first, then subject and amount: the report's sums are
                # index-only scans over the month's rows (covering, on both databases).
                fields=["fund", "booked_on", "subject", "amount"],
                name="funds_leg_month",
            )
        ]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="funds_leg_nonzero")]

    def __str__(self):
        return f"{self.subject_id} {self.amount}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError(_("分录不能修改。"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("分录不能删除。"))


class Period(models.Model):
    """An accounting month of a fund. No row, or status open: entries may be dated in it."""

    class Status(models.TextChoices):
        OPEN = "open", _("未结账")
        CLOSED = "closed", _("已结账")

    fund = models.ForeignKey(
        Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="periods"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    month = models.PositiveSmallIntegerField(_("月份"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结账人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("结账时间"), null=True, blank=True)
    reopen_reason = models.CharField(_("反结账原因"), max_length=200, blank=True)

    history = case_history()
    region_lookup = "fund__area"

    class Meta:
        verbose_name = _("会计期间")
        verbose_name_plural = _("会计期间")
        ordering = ["fund", "year", "month"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "month"], name="funds_period_unique")
        ]
        permissions = [("close_period", _("结账")), ("reopen_period", _("反结账"))]

    def __str__(self):
        return f"{self.year}-{self.month:02d}"


class PeriodBalance(models.Model):
    """Snapshot at close: the sum of a subject's legs up to the end of a closed month.

    A cache for speed only (balances are always derivable from legs); removed on reopen.
    """

    fund = models.ForeignKey(Fund, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    cumulative = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("期末余额快照")
        verbose_name_plural = _("期末余额快照")
        constraints = [
            models.UniqueConstraint(
                fields=["fund", "year", "month", "subject"], name="funds_periodbalance_unique"
            )
        ]

    def __str__(self):
        return f"{self.year}-{self.month:02d} {self.subject_id} {self.cumulative}"


class Budget(models.Model):
    """The year's budget of one subject (预算数), for budget-vs-actual."""

    fund = models.ForeignKey(
        Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="budgets"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    subject = models.ForeignKey(
        Subject, verbose_name=_("科目"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("预算金额"), max_digits=14, decimal_places=2)

    history = case_history()
    region_lookup = "fund__area"

    class Meta:
        verbose_name = _("预算")
        verbose_name_plural = _("预算")
        ordering = ["fund", "year", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "subject"], name="funds_budget_unique")
        ]

    def __str__(self):
        return f"{self.year} {self.subject_id} {self.amount}"


class Reconciliation(models.Model):
    """The month's reconciliation of the fiscal special account with finance (P §23, §9.3)."""

    class Status(models.TextChoices):
        OPEN = "open", _("对账中")
        DONE = "done", _("已完成")

    fund = models.ForeignKey(
        Fund, verbose_name=_("基金"), on_delete=models.PROTECT, related_name="reconciliations"
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    month = models.PositiveSmallIntegerField(_("月份"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    filename = models.CharField(_("对账单文件"), max_length=200, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("导入人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    imported_at = models.DateTimeField(_("导入时间"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("对账人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    history = case_history()
    region_lookup = "fund__area"

    class Meta:
        verbose_name = _("对账")
        verbose_name_plural = _("对账")
        ordering = ["-year", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["fund", "year", "month"], name="funds_recon_unique")
        ]

    def __str__(self):
        return f"{self.fund} {self.year}-{self.month:02d}"


class Match(models.Model):
    """A group of statement lines and ledger legs found to be the same money (amounts net)."""

    class Kind(models.TextChoices):
        AUTO = "auto", _("自动")
        MANUAL = "manual", _("手工")

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="matches"
    )
    kind = models.CharField(_("方式"), max_length=10, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("对账匹配")
        verbose_name_plural = _("对账匹配")

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class StatementLine(models.Model):
    """A row of the finance department's statement (财政专户对账单)."""

    class Direction(models.TextChoices):
        CREDIT = "credit", _("收入")
        DEBIT = "debit", _("支出")

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="lines"
    )
    row = models.PositiveIntegerField(_("行号"))
    date = models.DateField(_("日期"))
    reference = models.CharField(_("凭证号"), max_length=40, blank=True)
    memo = models.CharField(_("摘要"), max_length=200, blank=True)
    direction = models.CharField(_("方向"), max_length=10, choices=Direction.choices)
    amount = models.DecimalField(_("金额"), max_digits=14, decimal_places=2)
    match = models.ForeignKey(
        Match, null=True, blank=True, on_delete=models.SET_NULL, related_name="lines"
    )

    class Meta:
        verbose_name = _("对账单行")
        verbose_name_plural = _("对账单行")
        ordering = ["row"]

    def __str__(self):
        return f"{self.row} {self.date} {self.amount}"

    @property
    def signed_amount(self):
        """As a leg of the fiscal special account: money in (收入) is a debit (+)."""
        return self.amount if self.direction == self.Direction.CREDIT else -self.amount

    signed = signed_amount  # the name the matcher uses for parsed and stored lines alike


class MatchedLeg(models.Model):
    """A fiscal-account leg taken by a match; a leg is matched at most once (unique)."""

    match = models.ForeignKey(Match, on_delete=models.CASCADE, related_name="matched_legs")
    leg = models.OneToOneField(Leg, on_delete=models.PROTECT, related_name="matched")

    class Meta:
        verbose_name = _("已匹配分录")
        verbose_name_plural = _("已匹配分录")

    def __str__(self):
        return f"{self.match_id} {self.leg_id}"


# Clearing with institutions (DOMAIN §10) lives in its own module; imported here so Django
# registers its models with the funds app.
from funds.models_clearing import ClearedSettlement, Clearing, ClearingLine  # noqa: E402, F401
from funds.models_reconciliation import BalanceStatement  # noqa: E402, F401
