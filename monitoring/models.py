"""Monitoring data: settlements from the national platform, check runs and alerts (DOMAIN §7, §9).

Settlements are imported rows of the platform's extract (§9.2). They are append-only (a
correction arrives as a reversal row), written in bulk by COPY, and are not history-tracked
row by row: the import batch records who imported what and when. Alerts are case records with
a status workflow and history.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import case_history
from core.choices import VisitType

from .settlement_keys import SettlementKey, SettlementQuerySet


def _amount(verbose_name, **kwargs):
    # Reversal rows carry negative amounts (§9.2), so no non-negative validator here.
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


class SettlementImport(models.Model):
    """One upload of a settlement extract: validated first (preview), then applied."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        VALIDATING = "validating", _("校验中")
        VALIDATED = "validated", _("校验通过，待确认")
        REJECTED = "rejected", _("有错误，未导入")
        APPLYING = "applying", _("导入中")
        APPLIED = "applied", _("已导入")
        FAILED = "failed", _("处理失败")
        # The worker died mid-way (no heartbeat for JOB_STALE_AFTER_SECONDS): nothing was
        # written (the apply is one transaction); it can be confirmed again at once.
        INTERRUPTED = "interrupted", _("已中断，可重新导入")

    file = models.FileField(_("文件"), upload_to="settlements/%Y/%m/", blank=True)
    file_name = models.CharField(_("文件名"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.QUEUED
    )
    phase = models.CharField(_("阶段"), max_length=50, blank=True)
    bytes_total = models.BigIntegerField(_("文件大小"), default=0)
    bytes_read = models.BigIntegerField(_("已读取"), default=0)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    imported = models.PositiveIntegerField(_("导入"), default=0)
    skipped = models.PositiveIntegerField(_("跳过"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    errors = models.JSONField(_("错误"), default=list, blank=True)
    failure = models.TextField(_("失败原因"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("上传人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region = models.ForeignKey(
        "core.Region",
        verbose_name=_("上传区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    applied_at = models.DateTimeField(_("导入时间"), null=True, blank=True)
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    # DOMAIN §9.2: the med_type codes of the file the medical-type dictionary lacks (filed as
    # general outpatient), with their row counts: [{"code": "9901", "rows": 12}, …].
    unknown_med_types = models.JSONField(_("未知医疗类别"), default=list, blank=True)

    history = case_history(excluded_fields=["heartbeat_at"])
    region_lookup = "region"

    class Meta:
        verbose_name = _("结算明细导入")
        verbose_name_plural = _("结算明细导入")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status in (self.Status.APPLIED, self.Status.VALIDATED, self.Status.REJECTED):
            return 100
        if not self.bytes_total:
            return 0
        return min(99, int(self.bytes_read * 100 / self.bytes_total))

    @property
    def is_busy(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.VALIDATING, self.Status.APPLYING)


class StageStatus(models.IntegerChoices):
    """The verdict on one row of a settlement extract while it is staged (DOMAIN §9.2): the
    session-local staging table of `monitoring.settlements` stores it as a smallint."""

    NEW = 0, _("新结算")
    INVALID = 1, _("行有错误")
    REPEATED = 2, _("结算ID在文件中重复")
    CONFLICT = 3, _("已导入但数据不一致")
    SAME = 4, _("已导入且相同")
    NO_TARGET = 5, _("原结算ID不存在")
    IGNORED = 6, _("无效行（vali_flag 为 0）")


class Settlement(models.Model):
    """One settlement (结算) of the national platform's extract, keyed by `setl_id` (§9.2).

    The person is identified by `certno`; a person known only from settlements belongs to the
    region `insu_admdvs` (§7). Each row belongs to the year of its own `enddate`.
    """

    # Unique through `SettlementKey` (its primary key), not an index here: on PostgreSQL the
    # table is partitioned by year (`monitoring.partitions`), and one narrow table filled in
    # `setl_id` order costs the import far less than a text index per partition.
    setl_id = models.CharField(_("结算ID"), max_length=40)
    psn_name = models.CharField(_("姓名"), max_length=50)
    certno = models.CharField(_("证件号码"), max_length=30)
    psn_cert_type = models.CharField(_("证件类型"), max_length=6, blank=True)
    insutype = models.CharField(_("险种类型"), max_length=6)
    med_type = models.CharField(_("医疗类别"), max_length=10)
    visit_type = models.CharField(_("就诊类型"), max_length=20, choices=VisitType.choices)
    begndate = models.DateField(_("开始日期"))
    enddate = models.DateField(_("结束日期"))
    year = models.PositiveSmallIntegerField(_("年度"))
    setl_time = models.DateTimeField(_("结算时间"))
    fixmedins_code = models.CharField(_("定点医药机构编号"), max_length=30)
    fixmedins_name = models.CharField(_("定点医药机构名称"), max_length=200)
    insu_admdvs = models.ForeignKey(
        "core.Region",
        verbose_name=_("参保所属医保区划"),
        on_delete=models.PROTECT,
        related_name="+",
        db_column="insu_admdvs",
        # Checked against the known regions by the importer; no per-row FK trigger or index on
        # a table of tens of millions of rows (the import throughput target, §9.2).
        db_constraint=False,
        db_index=False,
    )
    medfee_sumamt = _amount(_("医疗费总额"))
    inscp_scp_amt = _amount(_("符合政策范围金额"))
    fulamt_ownpay_amt = _amount(_("全自费金额"))
    hifp_pay = _amount(_("基本医疗保险统筹基金支出"))
    hifmi_pay = _amount(_("居民大病保险资金支出"))
    maf_pay = _amount(_("医疗救助基金支出"))
    fund_pay_sumamt = _amount(_("基金支付总额"))
    psn_part_amt = _amount(_("个人负担总金额"))
    hosp_part_amt = _amount(_("医院负担金额"), default=0)
    refd_setl_flag = models.BooleanField(_("退费结算"), default=False)
    init_setl_id = models.CharField(_("原结算ID"), max_length=40, blank=True)
    batch = models.ForeignKey(
        SettlementImport,
        verbose_name=_("导入批次"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    region_lookup = "insu_admdvs"

    objects = SettlementQuerySet.as_manager()

    class Meta:
        verbose_name = _("结算明细")
        verbose_name_plural = _("结算明细")
        indexes = [
            # The high-cost scan groups a year's rows by person (§7).
            # (Incremental scans find new rows by primary key: `id > last scanned id`.)
            # It carries the burden and the end date, so a person's year is read from the
            # index alone (incremental scans probe it person by person; PostgreSQL only).
            models.Index(
                fields=["year", "certno"],
                include=["psn_part_amt", "enddate"],
                name="settlement_year_certno_cover",
            ),
            # The monthly checks net each settlement with its reversals, found by the
            # settlement they name. Reversals are few, so only their rows are indexed: the
            # lookup stops scanning the whole table and the import pays nothing for the rest.
            models.Index(
                fields=["init_setl_id"],
                condition=models.Q(refd_setl_flag=True),
                name="settlement_reversal_target",
            ),
        ]

    def __str__(self):
        return self.setl_id

    def save(self, *args, **kwargs):
        """A new settlement writes its `SettlementKey` too (and its year's partition)."""
        from django.db import transaction

        from . import partitions

        if self.pk is not None and not self._state.adding:  # an update
            return super().save(*args, **kwargs)
        using = kwargs.get("using") or "default"
        try:
            with transaction.atomic(using=using):
                partitions.ensure_years([self.year], using=using)
                super().save(*args, **kwargs)
                SettlementKey.objects.using(using).create(
                    setl_id=self.setl_id, year=self.year, settlement_id=self.pk
                )
        except Exception:
            self.pk, self._state.adding = None, True  # nothing was written
            raise

    def delete(self, *args, **kwargs):
        from django.db import transaction

        with transaction.atomic():
            SettlementKey.objects.filter(settlement_id=self.pk).delete()
            return super().delete(*args, **kwargs)


class CheckRun(models.Model):
    """One run of a check for a period (§7, §9.4). At most one runs per check, period, area."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("运行中")
        SUCCESS = "success", _("成功")
        FAILED = "failed", _("失败")
        # The worker died mid-run (no heartbeat for JOB_STALE_AFTER_SECONDS); run it again.
        INTERRUPTED = "interrupted", _("已中断")

    check_name = models.CharField(_("检查"), max_length=40)
    period = models.CharField(_("期间"), max_length=7)
    area = models.CharField(_("区划"), max_length=6, blank=True)
    outcome = models.CharField(
        _("结果"), max_length=12, choices=Outcome.choices, default=Outcome.RUNNING
    )
    mode = models.CharField(_("方式"), max_length=20, blank=True)
    rows_scanned = models.BigIntegerField(_("扫描行数"), default=0)
    alerts_created = models.PositiveIntegerField(_("新增预警"), default=0)
    alerts_updated = models.PositiveIntegerField(_("更新预警"), default=0)
    alerts_closed = models.PositiveIntegerField(_("关闭预警"), default=0)
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    # A run split by person range over the workers (monitoring.check_chunks): chunks done of
    # all; 0 of 0 for a run in one process.
    chunks_done = models.PositiveIntegerField(_("已完成分段"), default=0)
    chunks_total = models.PositiveIntegerField(_("分段总数"), default=0)
    error = models.TextField(_("错误"), blank=True)
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("检查运行记录")
        verbose_name_plural = _("检查运行记录")
        ordering = ["-started_at", "-id"]
        permissions = [("run_check", _("发起监测检查"))]
        constraints = [
            # Two runs of the same check, period and area never overlap (§9.4).
            models.UniqueConstraint(
                fields=["check_name", "period", "area"],
                condition=Q(outcome="running"),
                name="checkrun_one_running",
            )
        ]

    def __str__(self):
        return f"{self.check_name} {self.period} {self.area or ''}".strip()

    @property
    def label(self) -> str:
        try:
            return Alert.Kind(self.check_name).label
        except ValueError:
            return self.check_name

    def as_record(self) -> dict:
        """The §9.4 run record printed by `run_check`."""
        return {
            "check": self.check_name,
            "period": self.period,
            "rows_scanned": self.rows_scanned,
            "alerts_created": self.alerts_created,
            "alerts_updated": self.alerts_updated,
            "alerts_closed": self.alerts_closed,
            "seconds": round(self.seconds, 3),
            "outcome": self.outcome,
        }


class CheckRunPolicy(models.Model):
    """A policy version a check run measured against (watch lines, subsidy amounts, limits).

    The policy is PROTECTed: a policy any scan used cannot be deleted, only superseded
    (DOMAIN §8)."""

    run = models.ForeignKey(
        CheckRun,
        verbose_name=_("检查运行记录"),
        on_delete=models.CASCADE,
        related_name="policy_uses",
    )
    policy = models.ForeignKey(
        "core.Policy", verbose_name=_("政策"), on_delete=models.PROTECT, related_name="check_runs"
    )

    class Meta:
        verbose_name = _("检查所用政策")
        verbose_name_plural = _("检查所用政策")
        constraints = [
            models.UniqueConstraint(fields=["run", "policy"], name="checkrun_policy_once")
        ]

    def __str__(self):
        return f"{self.run_id} → {self.policy_id}"


class HighCostScanState(models.Model):
    """What the last successful high-cost scan of a year and scope saw (incremental scans)."""

    year = models.PositiveSmallIntegerField(_("年度"))
    area = models.CharField(_("区划"), max_length=6, blank=True)
    period_end = models.DateField(_("截止日期"))
    reference_date = models.DateField(_("判断日期"))
    last_settlement_id = models.BigIntegerField(_("已扫描至结算记录"), default=0)
    figures = models.JSONField(_("所用标准"), default=dict)
    scanned_at = models.DateTimeField(_("扫描时间"))

    class Meta:
        verbose_name = _("高额费用扫描进度")
        verbose_name_plural = _("高额费用扫描进度")
        constraints = [models.UniqueConstraint(fields=["year", "area"], name="highcost_state_once")]

    def __str__(self):
        return f"{self.year} {self.area or '*'} → {self.last_settlement_id}"


class Alert(models.Model):
    """An alert raised by a check; a work-queue item (§7 Work queue).

    One alert per (kind, year, certno, subject): re-runs update it, never duplicate it.
    """

    class Kind(models.TextChoices):
        HIGH_COST = "high_cost", _("高额费用预警")
        UNINSURED = "uninsured", _("漏保")
        DUPLICATE_ENROLLMENT = "duplicate_enrollment", _("重复参保")
        SUBSIDY_WITHOUT_IDENTITY = "subsidy_without_identity", _("无身份资助参保")
        BENEFIT_AFTER_COVERAGE = "benefit_after_coverage", _("身份终止后享受待遇")
        MISSED_REIMBURSEMENT = "missed_reimbursement", _("漏报销")
        OUT_OF_CATALOG = "out_of_catalog", _("目录外费用超标")
        ROSTER_UNCONFIRMED = "roster_unconfirmed", _("名单未确认身份")
        REASSESSMENT = "reassessment", _("待遇复核（补发/追回）")

    class Watch(models.TextChoices):
        IMPOVERISHMENT = "impoverishment", _("因病致贫")
        POVERTY_RETURN = "poverty_return", _("因病返贫")

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        IN_PROGRESS = "in_progress", _("处理中")
        REFERRED = "referred", _("已移交民政")
        RESOLVED = "resolved", _("已解决")
        DISMISSED = "dismissed", _("已排除")
        CLOSED = "closed", _("已自动关闭")
        SUPERSEDED = "superseded", _("已被替代")

    ACTIVE = (Status.OPEN, Status.IN_PROGRESS)

    kind = models.CharField(_("类型"), max_length=40, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    period = models.CharField(_("期间"), max_length=7)
    certno = models.CharField(_("证件号码"), max_length=30, blank=True)
    subject = models.CharField(_("对象"), max_length=80, blank=True)
    name = models.CharField(_("姓名/名称"), max_length=200, blank=True)
    person = models.ForeignKey(
        "beneficiaries.Person",
        verbose_name=_("人员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alerts",
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+"
    )
    watch = models.CharField(_("监测类型"), max_length=20, choices=Watch.choices, blank=True)
    burden = _amount(_("个人负担"), null=True, blank=True)
    threshold = _amount(_("监测线"), null=True, blank=True)
    amount = _amount(_("金额"), null=True, blank=True)
    burden_at_close = _amount(_("关闭时负担"), null=True, blank=True)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    evidence = models.JSONField(_("依据"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_alerts",
    )
    status_reason = models.CharField(_("处理说明"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    last_run = models.ForeignKey(
        CheckRun,
        verbose_name=_("最近运行"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    history = case_history()
    region_lookup = "region"

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_alerts", _("导出预警")),
            ("export_alerts_full_id", _("导出预警（完整身份证号）")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "year", "certno", "subject"], name="alert_once_per_subject"
            )
        ]
        indexes = [models.Index(fields=["kind", "year", "status"], name="alert_kind_year_status")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name} {self.year}"

    @property
    def institution_code(self) -> str:
        """An out-of-catalog alert's institution (its subject is "H1…:YYYY-MM")."""
        if self.kind != self.Kind.OUT_OF_CATALOG:
            return ""
        return self.subject.partition(":")[0]

    @property
    def month(self) -> str:
        """The month an out-of-catalog alert is about, else the alert's period."""
        if self.kind != self.Kind.OUT_OF_CATALOG:
            return self.period
        return self.subject.partition(":")[2] or self.period

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class AlertNote(models.Model):
    """A caseworker's note on an alert, or a status change with its reason."""

    alert = models.ForeignKey(
        Alert, verbose_name=_("预警"), on_delete=models.CASCADE, related_name="notes"
    )
    text = models.TextField(_("内容"))
    status_from = models.CharField(_("原状态"), max_length=20, blank=True)
    status_to = models.CharField(_("新状态"), max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    region_lookup = "alert__region"

    class Meta:
        verbose_name = _("预警备注")
        verbose_name_plural = _("预警备注")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.text[:50]

    @staticmethod
    def _label(status: str) -> str:
        return Alert.Status(status).label if status in Alert.Status.values else status

    @property
    def status_from_label(self) -> str:
        return self._label(self.status_from)

    @property
    def status_to_label(self) -> str:
        return self._label(self.status_to)


class MedicalType(models.Model):
    """One entry of the medical-type dictionary (医疗类别字典, DOMAIN §9.2): the visit type of
    the settlements whose `med_type` is `code`.

    A code ending in `*` is a prefix rule (`2*`: every code starting with 2; `1401*`: 1401
    and its sub-codes 1401xx). A row with an `area` (a coordination area) applies only to the
    settlements of that area (`insu_admdvs` in its subtree) and overrides there the
    region-wide row (no area) of the same code. The lookup (`monitoring.medical_types`) takes
    the most specific matching row: the longest code, an exact code before a prefix rule of
    the same length, the area's row before the region-wide one. A code no row matches is
    general outpatient. Reference data, not case data: admins edit it in Django admin through
    `medical_type_save`, which re-files the settlements already imported.
    """

    code = models.CharField(
        _("医疗类别代码"),
        max_length=11,
        validators=[
            RegexValidator(
                r"^[0-9A-Za-z]{1,10}\*?$",
                _("代码应为 1 到 10 位字母或数字，末尾可加 * 表示前缀规则（如 2*、1401*）。"),
            )
        ],
        help_text=_("末尾加 * 表示以此开头的所有代码，例如 1401* 匹配 1401 及 1401xx。"),
    )
    name = models.CharField(_("名称"), max_length=50)
    visit_type = models.CharField(_("就诊类型"), max_length=20, choices=VisitType.choices)
    area = models.ForeignKey(
        "core.Region",
        verbose_name=_("统筹区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"level": 2},  # Region.Level.CITY: the coordination areas
        help_text=_("留空表示全自治区适用；填写统筹区则只对该统筹区的结算生效，并优先于全区规则。"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = case_history()
    region_lookup = "area"

    class Meta:
        verbose_name = _("医疗类别")
        verbose_name_plural = _("医疗类别字典")
        ordering = ["code", "area"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "area"],
                condition=Q(area__isnull=False),
                name="medical_type_code_area_unique",
                violation_error_message=_("该统筹区已有此医疗类别代码。"),
            ),
            models.UniqueConstraint(
                fields=["code"],
                condition=Q(area__isnull=True),
                name="medical_type_code_regionwide_unique",
                violation_error_message=_("全区规则中已有此医疗类别代码。"),
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def is_prefix(self) -> bool:
        return self.code.endswith("*")
