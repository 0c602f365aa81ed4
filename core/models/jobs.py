"""Chunked jobs (core.chunked): one run record and the chunks any worker takes."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ChunkedRun(models.Model):
    """One job split by person range into chunks (a high-cost scan, a 测算 run).

    `key` names the work (e.g. the check, year and area): an unfinished run of the same kind
    and key is resumed rather than started again, so done chunks are never redone.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("运行中")
        MERGING = "merging", _("汇总中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(_("任务类型"), max_length=40)
    key = models.CharField(_("任务标识"), max_length=200)
    params = models.JSONField(_("参数"), default=dict)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    chunks_total = models.PositiveIntegerField(_("分段总数"), default=0)
    error = models.TextField(_("错误信息"), blank=True)
    created_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("分段任务")
        verbose_name_plural = _("分段任务")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key"],
                condition=Q(status__in=["running", "merging"]),
                name="chunkedrun_one_unfinished",
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.key} ({self.status})"

    def progress(self) -> tuple[int, int]:
        """(chunks done, chunks in all)."""
        done = self.chunks.filter(status=RunChunk.Status.DONE).count()
        return done, self.chunks_total


class RunChunk(models.Model):
    """One person range [lo, hi) of a chunked run; None is open-ended. Claimed by one worker at
    a time; a running chunk whose heartbeat went stale (core.jobs) goes back to pending."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待处理")
        RUNNING = "running", _("处理中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    run = models.ForeignKey(ChunkedRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField(_("序号"))
    # None is an open end (below every key / above every key), not "no value".
    lo = models.CharField(_("起始（含）"), max_length=64, null=True, blank=True)  # noqa: DJ001
    hi = models.CharField(_("截止（不含）"), max_length=64, null=True, blank=True)  # noqa: DJ001
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    worker = models.CharField(_("工作进程"), max_length=200, blank=True)
    result = models.JSONField(_("结果"), null=True, blank=True)
    error = models.TextField(_("错误信息"), blank=True)
    heartbeat_at = models.DateTimeField(_("心跳时间"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    seconds = models.FloatField(_("耗时（秒）"), null=True, blank=True)

    class Meta:
        verbose_name = _("任务分段")
        verbose_name_plural = _("任务分段")
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="runchunk_index_once")]
        indexes = [models.Index(fields=["run", "status"], name="runchunk_run_status")]

    def __str__(self):
        return f"{self.run_id}#{self.index} [{self.lo}, {self.hi}) {self.status}"
