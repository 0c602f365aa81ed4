"""Claims: applications for assistance, their bills, attachments and the approval workflow.

An application moves draft → submitted → approved/rejected → paid (DOMAIN §4, P §19, §21);
every move is one service in `claims/services.py` that writes a Transition row. Bills keep the
engine's assessment (amounts and the rendered steps) as it was at approval.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import Category, VisitType

_non_negative = MinValueValidator(Decimal("0"), message=_("金额不能为负数。"))


def _money(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=14, decimal_places=2, validators=[_non_negative], **kwargs
    )


class Institution(models.Model):
    """A medical institution of the register (定点医药机构目录).

    `code` is the platform's fixmedins_code, so settlements and bills name the same place.
    The region code may lie outside Inner Mongolia, so it is plain text, not a Region.
    """

    class Level(models.IntegerChoices):
        ONE = 1, _("一级")
        TWO = 2, _("二级")
        THREE = 3, _("三级")

    code = models.CharField(_("机构编码"), max_length=30, unique=True)
    name = models.CharField(_("机构名称"), max_length=200)
    level = models.PositiveSmallIntegerField(_("机构等级"), choices=Level.choices)
    admdvs = models.CharField(_("所在区划代码"), max_length=6)
    designated = models.BooleanField(_("定点医药机构"), default=True)

    history = case_history()

    class Meta:
        verbose_name = _("医药机构")
        verbose_name_plural = _("医药机构")
        ordering = ["admdvs", "-level", "name"]

    def __str__(self):
        return self.name

    @property
    def in_region(self) -> bool:
        """Inside Inner Mongolia (区内): tilted assistance applies (W 三(四))."""
        return self.admdvs.startswith("15")

    def in_coordination_area(self, area_code: str) -> bool:
        """Inside the person's coordination area (the same city: first 4 digits)."""
        return bool(area_code) and self.admdvs[:4] == area_code[:4]


class Application(models.Model):
    """An application for medical assistance (手工报销 / 依申请救助) of one person."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("待审批")
        APPROVED = "approved", _("已审批")
        REJECTED = "rejected", _("不予救助")
        PAID = "paid", _("已支付")

    class Kind(models.TextChoices):
        REIMBURSEMENT = "reimbursement", _("手工（零星）报销")
        ON_APPLICATION = "on_application", _("依申请救助")
        SUPPLEMENTARY = "supplementary", _("补发")

    class Channel(models.TextChoices):
        COUNTER = "counter", _("窗口受理")
        ENTRUSTED = "entrusted", _("乡镇（苏木）、村（嘎查）代办")
        OTHER = "other", _("其他")

    class Document(models.TextChoices):
        ID_CARD = "id_card", _("身份证")
        INVOICES = "invoices", _("医疗费用发票")
        EXPENSE_LIST = "expense_list", _("费用清单")
        DISCHARGE_SUMMARY = "discharge_summary", _("出院小结或诊断证明")
        SETTLEMENT_SLIP = "settlement_slip", _("医保结算单")
        REFERRAL = "referral", _("转诊或异地就医备案证明")
        BANK_ACCOUNT = "bank_account", _("银行账户")

    # Statuses in which the case is still being processed (the processing-time limit runs).
    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED)
    # Statuses whose bills count as reimbursed (year-to-date state, duplicate invoices).
    DECIDED_STATUSES = (Status.APPROVED, Status.PAID)

    person = models.ForeignKey(
        "beneficiaries.Person",
        verbose_name=_("申请人"),
        on_delete=models.PROTECT,
        related_name="applications",
    )
    area = models.ForeignKey(
        "core.Region",
        verbose_name=_("统筹地区"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": 2},
    )
    kind = models.CharField(
        _("申请类型"), max_length=20, choices=Kind.choices, default=Kind.REIMBURSEMENT
    )
    channel = models.CharField(
        _("受理渠道"), max_length=20, choices=Channel.choices, default=Channel.COUNTER
    )
    received_on = models.DateField(_("受理日期"))
    documents = models.JSONField(_("已收材料"), default=list, blank=True)
    bank_name = models.CharField(_("开户银行"), max_length=100, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=40, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)

    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    form_number = models.CharField(_("审批表编号"), max_length=30, blank=True)

    assistance = _money(_("基本救助"), default=Decimal("0"))
    tilted_assistance = _money(_("倾斜救助"), default=Decimal("0"))
    total = _money(_("救助金额"), default=Decimal("0"))

    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_comment = models.CharField(_("审核意见"), max_length=500, blank=True)
    approver_name = models.CharField(
        _("审批人"),
        max_length=50,
        blank=True,
        help_text=_("在审批表上签批的负责人；留空则打印签字栏。"),
    )
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("支付登记人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    paid_on = models.DateField(_("支付日期"), null=True, blank=True)
    payment_reference = models.CharField(_("转账凭证号"), max_length=60, blank=True)

    history = case_history()
    region_lookup = "person__region"

    class Meta:
        verbose_name = _("救助申请")
        verbose_name_plural = _("救助申请")
        ordering = ["-received_on", "-id"]
        permissions = [
            ("approve_application", _("审批救助申请")),
            ("print_application", _("打印救助审批表")),
            ("record_payment", _("登记救助金支付")),
        ]
        indexes = [models.Index(fields=["status", "received_on"], name="application_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["form_number"],
                condition=~Q(form_number=""),
                name="application_form_number_once",
            )
        ]

    def __str__(self):
        return _("%(person)s 的救助申请 #%(id)s") % {"person": self.person, "id": self.pk}

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    def document_labels(self) -> list[str]:
        labels = dict(self.Document.choices)
        return [labels[d] for d in self.documents if d in labels]


class Bill(models.Model):
    """A bill (票据) of an application: the inputs of DOMAIN §4 and, once assessed, the result.

    Invariant: an invoice (institution + invoice number) and a settlement ID are reimbursed at
    most once: unique among the bills of applications that are not rejected (`active`).
    """

    application = models.ForeignKey(
        Application, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="bills"
    )
    active = models.BooleanField(_("有效"), default=True, editable=False)
    institution = models.ForeignKey(
        Institution, verbose_name=_("医药机构"), on_delete=models.PROTECT, related_name="bills"
    )
    visit_type = models.CharField(_("就医类别"), max_length=20, choices=VisitType.choices)
    admitted = models.DateField(_("入院日期"), null=True, blank=True)
    discharged = models.DateField(_("出院日期"), null=True, blank=True)
    service_date = models.DateField(_("就诊日期"), null=True, blank=True)
    year = models.PositiveSmallIntegerField(_("费用年度"), editable=False)
    invoice_number = models.CharField(_("发票号码"), max_length=40)
    setl_id = models.CharField(
        _("结算ID"), max_length=40, blank=True, help_text=_("医保结算单上的结算ID（如有）。")
    )
    total_cost = _money(_("医疗费总额"))
    policy_range_cost = _money(_("政策范围内费用"))
    basic_insurance_paid = _money(_("基本医保支付"))
    critical_illness_paid = _money(_("大病保险支付"))
    out_of_catalog_cost = _money(_("目录外费用"), default=Decimal("0"))
    referred = models.BooleanField(_("已办理转诊或异地就医备案"), default=False)

    # The engine's result (DOMAIN §4 step 8: every step kept).
    assessed_at = models.DateTimeField(_("测算时间"), null=True, blank=True)
    covered = models.BooleanField(_("符合救助条件"), null=True, blank=True)
    reason = models.CharField(_("不予救助原因"), max_length=30, blank=True)
    category = models.CharField(_("适用类别"), max_length=30, choices=Category.choices, blank=True)
    self_pay = _money(_("政策范围内个人自付"), default=Decimal("0"))
    deductible_applied = _money(_("扣除起付标准"), default=Decimal("0"))
    assistance = _money(_("基本救助"), default=Decimal("0"))
    tilted_deductible_applied = _money(_("扣除倾斜救助起付标准"), default=Decimal("0"))
    tilted_assistance = _money(_("倾斜救助"), default=Decimal("0"))
    total = _money(_("救助金额"), default=Decimal("0"))
    steps = models.JSONField(_("测算过程"), default=list, blank=True)
    # The same steps as msgids and parameters ({"msgid", "params"}), so a page or PDF shows them
    # in its own language; ``steps`` keeps the text in the portal's language for the record.
    step_records = models.JSONField(_("测算过程（结构）"), default=list, blank=True, editable=False)
    # A top-up (补发) of a record already partly paid: the record ("bill:12" / "setl:<id>") and
    # what it had got. Its assessment is the visit's, less what was paid (DOMAIN §11).
    topup_of = models.CharField(_("补发原记录"), max_length=60, blank=True, editable=False)
    paid_before = _money(_("原记录已支付"), default=Decimal("0"), editable=False)
    # The policy version the assessment applied; a used policy cannot be deleted (DOMAIN §8).
    policy = models.ForeignKey(
        "core.Policy",
        verbose_name=_("适用政策"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="assessed_bills",
    )

    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    history = case_history()
    region_lookup = "application__person__region"

    class Meta:
        verbose_name = _("医疗费用票据")
        verbose_name_plural = _("医疗费用票据")
        ordering = ["application", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "invoice_number"],
                condition=Q(active=True),
                name="bill_invoice_reimbursed_once",
            ),
            models.UniqueConstraint(
                fields=["setl_id"],
                condition=Q(active=True) & ~Q(setl_id=""),
                name="bill_settlement_reimbursed_once",
            ),
        ]
        indexes = [models.Index(fields=["year", "active"], name="bill_year_active_idx")]

    def __str__(self):
        return f"{self.institution} {self.invoice_number}"

    @property
    def end_date(self):
        """The date the bill belongs to: discharge, or the outpatient service date (§4)."""
        return self.discharged if self.visit_type == VisitType.INPATIENT else self.service_date

    @property
    def insurance_paid(self) -> Decimal:
        """Basic insurance plus critical-illness insurance (the template `add` filter would
        add them as integers)."""
        return (self.basic_insurance_paid or Decimal("0")) + (
            self.critical_illness_paid or Decimal("0")
        )

    def shown_steps(self) -> list[str]:
        """The steps in the active language; bills assessed before the records kept the text."""
        if not self.step_records:
            return list(self.steps or [])
        from django.utils.translation import gettext

        from claims.engine_text import render_records

        return render_records(self.step_records, gettext)


class Attachment(models.Model):
    """A scanned document of an application (PDF, JPEG or PNG, checked by content)."""

    application = models.ForeignKey(
        Application, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("文件"), upload_to="claims/%Y/%m/")
    original_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=50)
    size = models.PositiveIntegerField(_("大小（字节）"))
    description = models.CharField(_("说明"), max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    # A PDF with JavaScript, automatic/launch actions or a non-image embedded file (found at
    # upload, claims.pdfscan): served as a download, never inline. None = not inspected yet.
    active_content = models.BooleanField(_("含脚本或嵌入文件"), null=True, blank=True)

    history = case_history()
    region_lookup = "application__person__region"

    class Meta:
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")
        ordering = ["application", "id"]

    def __str__(self):
        return self.original_name


class Transition(models.Model):
    """One move of an application's status: who, when, from, to and why (audit)."""

    application = models.ForeignKey(
        Application, verbose_name=_("申请"), on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(
        _("原状态"), max_length=20, choices=Application.Status.choices, blank=True
    )
    to_status = models.CharField(_("新状态"), max_length=20, choices=Application.Status.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    comment = models.CharField(_("意见"), max_length=500, blank=True)

    region_lookup = "application__person__region"

    class Meta:
        verbose_name = _("状态变更")
        verbose_name_plural = _("状态变更")
        ordering = ["application", "at", "id"]

    def __str__(self):
        return f"{self.application_id}: {self.from_status} → {self.to_status}"


class PersonYear(models.Model):
    """The row approvals of one person and year lock (select_for_update), so they serialize.

    It holds no figures: the year-to-date state is always rebuilt from the records (§4).
    """

    person = models.ForeignKey(
        "beneficiaries.Person", verbose_name=_("人员"), on_delete=models.CASCADE, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("年度"))

    class Meta:
        verbose_name = _("人员年度锁")
        verbose_name_plural = _("人员年度锁")
        constraints = [models.UniqueConstraint(fields=["person", "year"], name="person_year_once")]

    def __str__(self):
        return f"{self.person_id}/{self.year}"


class FormSequence(models.Model):
    """The last approval-form number given out per coordination area and year."""

    area = models.ForeignKey("core.Region", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("审批表编号序列")
        verbose_name_plural = _("审批表编号序列")
        constraints = [models.UniqueConstraint(fields=["area", "year"], name="form_sequence_once")]

    def __str__(self):
        return f"{self.area_id}/{self.year}: {self.last}"


class SimulationRun(models.Model):
    """One policy simulation (测算, DOMAIN §12): who asked, when, for which draft, and the result.

    The only thing a simulation writes. The task claims a queued run with a conditional update
    (queued → running), so two workers never compute the same run.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("测算中")
        SUCCESS = "success", _("已完成")
        FAILED = "failed", _("失败")

    area = models.ForeignKey(
        "core.Region",
        verbose_name=_("统筹地区"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": 2},
    )
    year = models.PositiveSmallIntegerField(_("测算年度"))
    draft = models.JSONField(_("测算政策"), help_text=_("与 assess 命令的 policy 格式相同。"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    chunks_total = models.PositiveIntegerField(_("分段总数"), default=0)
    chunks_done = models.PositiveIntegerField(_("已完成分段"), default=0)
    result = models.JSONField(_("测算结果"), default=dict, blank=True)
    error = models.TextField(_("错误信息"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # The policy version this run's draft was saved as (claims.simulation_adopt), once.
    # SET_NULL, not PROTECT: a PROTECT reference would count as a use (Policy.is_used) and
    # freeze the new version's rules before anything applied them.
    adopted_policy = models.ForeignKey(
        "core.Policy",
        verbose_name=_("已保存为政策"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    region_lookup = "area"

    class Meta:
        verbose_name = _("政策测算")
        verbose_name_plural = _("政策测算")
        ordering = ["-created_at", "-id"]
        # The bureau's staff who weigh next year's standards (审核员 and 管理员, issue #17);
        # saving a draft as a policy still needs core.add_policy (管理员).
        permissions = [("run_simulation", _("可以进行政策测算"))]

    def __str__(self):
        return _("%(area)s %(year)s 年政策测算 #%(id)s") % {
            "area": self.area_id,
            "year": self.year,
            "id": self.pk,
        }

    @property
    def percent_done(self) -> int:
        if self.status == self.Status.SUCCESS:
            return 100
        return int(100 * self.chunks_done / self.chunks_total) if self.chunks_total else 0


from claims.models_corrections import Proposal, ReassessmentRun, RecoveryCase, Repayment  # noqa: E402,F401
