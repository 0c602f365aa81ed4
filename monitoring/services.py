"""Writes of the monitoring app: settlement uploads, starting a check and the alert workflow
(DOMAIN §7, §9.2, §9.4)."""

from __future__ import annotations

import os

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.jobs import Heartbeat, stale_before
from core.policy_services import scan_refusal
from core.scoping import check_allowed, check_writable, region_of
from monitoring.checks import (
    CheckAlreadyRunning,
    InvalidPeriod,
    check_names,
    interrupt_stale_runs,
    parse_period,
)
from monitoring.models import Alert, AlertNote, CheckRun, SettlementImport
from monitoring.settlements import ImportFileError, settlement_import

STORED_ERRORS = 500  # row errors kept on the batch for the page; the command prints them all


# --- Settlement uploads -------------------------------------------------------------------


def settlement_upload(*, uploaded_file, by) -> SettlementImport:
    """Store an uploaded extract and queue its validation (the preview)."""
    from monitoring.tasks import settlement_import_task

    check_allowed(by, "monitoring.add_settlementimport")
    name = os.path.basename(uploaded_file.name)
    if not name.lower().endswith((".csv", ".xlsx", ".txt")):
        raise ValidationError({"file": _("请上传 .csv 或 .xlsx 文件。")})
    with transaction.atomic():
        batch = SettlementImport(
            file_name=name[:200],
            created_by=by,
            region=by.region,
            bytes_total=uploaded_file.size or 0,
        )
        batch.file.save(name, uploaded_file, save=False)
        batch._history_user = by
        batch.save()
        transaction.on_commit(lambda: settlement_import_task.delay(batch.pk, False))
    return batch


def interrupt_stale_imports(**filters) -> int:
    """Mark the uploads being checked or applied whose worker died — no heartbeat for
    JOB_STALE_AFTER_SECONDS — as interrupted: nothing of theirs was written (the apply is one
    transaction) and they can be confirmed again. Returns how many."""
    Status = SettlementImport.Status
    return SettlementImport.objects.filter(
        status__in=[Status.VALIDATING, Status.APPLYING],
        heartbeat_at__lt=stale_before(),
        **filters,
    ).update(
        status=Status.INTERRUPTED,
        failure=_("处理中断（工作进程停止，超过 2 分钟无心跳），未写入任何数据，可重新导入。"),
        updated_at=timezone.now(),
    )


def settlement_import_confirm(*, batch: SettlementImport, by) -> SettlementImport:
    """Apply a validated (or interrupted) upload. Claimed with a conditional update:
    confirming twice applies once. An interrupted upload is checked again in full before
    anything is written, so it is applied once or rejected."""
    from monitoring.tasks import settlement_import_task

    # The rows were checked against the uploader's subtree (batch.region); a confirmer who may
    # change that region may change every row of it.
    check_allowed(by, "monitoring.add_settlementimport", batch.region_id or "")
    Status = SettlementImport.Status
    interrupt_stale_imports(pk=batch.pk)
    with transaction.atomic():
        claimed = SettlementImport.objects.filter(
            pk=batch.pk, status__in=[Status.VALIDATED, Status.INTERRUPTED]
        ).update(
            status=Status.APPLYING,
            phase="",
            bytes_read=0,
            failure="",
            heartbeat_at=timezone.now(),
        )
        if claimed != 1:
            raise ValidationError(_("该文件不是“校验通过，待确认”状态，不能导入。"))
        transaction.on_commit(lambda: settlement_import_task.delay(batch.pk, True))
    batch.refresh_from_db()
    return batch


def settlement_import_process(*, batch_id: int, apply: bool) -> dict:
    """Run the import of an uploaded batch (the Celery task's body), recording progress.

    Claimed with a conditional update: a batch another worker is working on (fresh heartbeat,
    a working phase) is left alone; one whose worker died (a redelivered task) is taken over.
    """
    Status = SettlementImport.Status
    working = Status.APPLYING if apply else Status.VALIDATING
    idle = Q(phase__in=["", "done"]) | Q(heartbeat_at__isnull=True)
    dead = Q(heartbeat_at__lt=stale_before())
    if apply:
        allowed = Q(status=Status.APPLYING) & (idle | dead) | Q(status=Status.INTERRUPTED)
    else:
        allowed = (
            Q(status=Status.QUEUED)
            | Q(status=Status.VALIDATING) & (idle | dead)
            | Q(status=Status.INTERRUPTED)
        )
    claimed = SettlementImport.objects.filter(allowed, pk=batch_id).update(
        status=working, phase="started", heartbeat_at=timezone.now()
    )
    if not claimed:
        return {"batch": batch_id, "outcome": "not_pending"}
    batch = SettlementImport.objects.get(pk=batch_id)
    heart = Heartbeat(SettlementImport, batch_id)

    def progress(phase: str, done: int, total: int) -> None:
        if heart.active and connection.in_atomic_block:
            # Inside the apply's transaction the update would stay invisible until commit and
            # lock the row the heartbeat thread writes: the thread keeps beating instead.
            return
        SettlementImport.objects.filter(pk=batch_id).update(
            phase=phase,
            bytes_read=done,
            bytes_total=total,
            updated_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )

    try:
        with heart:
            result = settlement_import(
                path=batch.file.path,
                by=batch.created_by,
                dry_run=not apply,
                batch_id=batch_id,
                progress=progress,
            )
    except ImportFileError as exc:
        batch.status = Status.FAILED
        batch.failure = str(exc)
        batch.save(update_fields=["status", "failure", "updated_at"])
        return {"batch": batch_id, "outcome": "failed", "error": str(exc)}
    batch.rows = result.rows
    batch.imported = result.imported
    batch.skipped = result.skipped
    batch.error_count = result.error_count
    batch.errors = [e.as_dict() for e in result.errors[:STORED_ERRORS]]
    batch.unknown_med_types = result.unknown_med_types
    batch.seconds = result.seconds
    batch.phase = "done"
    if result.errors:
        batch.status = Status.REJECTED
    elif apply:
        batch.status = Status.APPLIED
        batch.applied_at = timezone.now()
    else:
        batch.status = Status.VALIDATED
    batch.save()
    return {"batch": batch_id, **result.as_dict()}


# --- Starting a check ---------------------------------------------------------------------


def check_start(*, name: str, period: str, by, area=None) -> None:
    """Queue check `name` for `period` on region `area` (a Region; default the user's own
    region), for the worker to run (`run_check_task`, on commit).

    The user's role and region are checked here: a district or city user starts checks of
    their own region subtree only; a regional (自治区) user reads every area and starts none;
    only a superuser starts one of the whole region. A run of the same check, period and area
    still under way (a live heartbeat) refuses a second one: CheckAlreadyRunning. The run row
    itself is claimed by the worker (`check_run`), so a queued run never counts as stale.
    """
    from monitoring.tasks import run_check_task

    if name not in check_names():
        raise ValidationError({"check": _("未知的检查：%(check)s") % {"check": name}})
    try:
        parsed = parse_period(period)
    except InvalidPeriod as exc:
        raise ValidationError({"period": str(exc)}) from None
    period = parsed.text
    region = getattr(by, "region", None)
    if area is None and region is not None and region.level != region.Level.PROVINCE:
        area = region
    if area is None and not getattr(by, "is_superuser", False):
        raise PermissionDenied(_("自治区级用户只能查看，不能修改。"))
    code = area.code if area is not None else ""
    check_allowed(by, "monitoring.run_check", code or None)
    refusal = scan_refusal(name, code, parsed.month_start, parsed.end)  # no policy in force
    if refusal:
        raise ValidationError(refusal)
    with transaction.atomic():
        interrupt_stale_runs(check_name=name, period=period, area=code)
        if CheckRun.objects.filter(
            check_name=name, period=period, area=code, outcome=CheckRun.Outcome.RUNNING
        ).exists():
            raise CheckAlreadyRunning(
                _("检查 %(check)s（%(period)s）正在运行，请等待其完成。")
                % {"check": name, "period": period}
            )
        transaction.on_commit(
            lambda: run_check_task.delay(check=name, period=period, area=code, by_id=by.pk)
        )


# --- Alert workflow -----------------------------------------------------------------------

# open → in progress → referred to civil affairs / resolved / dismissed (§7 Work queue).
TRANSITIONS: dict[str, set[str]] = {
    Alert.Status.OPEN: {
        Alert.Status.IN_PROGRESS,
        Alert.Status.REFERRED,
        Alert.Status.RESOLVED,
        Alert.Status.DISMISSED,
    },
    Alert.Status.IN_PROGRESS: {
        Alert.Status.OPEN,
        Alert.Status.REFERRED,
        Alert.Status.RESOLVED,
        Alert.Status.DISMISSED,
    },
    Alert.Status.REFERRED: {Alert.Status.RESOLVED, Alert.Status.IN_PROGRESS},
    Alert.Status.RESOLVED: set(),
    Alert.Status.DISMISSED: set(),
    Alert.Status.CLOSED: set(),
}
CLOSING = {Alert.Status.REFERRED, Alert.Status.RESOLVED, Alert.Status.DISMISSED}


def alert_transition(*, alert: Alert, status: str, by, reason: str = "") -> Alert:
    """Move an alert along its workflow. A dismissal needs a reason.

    Invariant (§7): closing records the burden of that moment, and a later scan reopens the
    alert only when the burden grows past it.
    """
    check_allowed(by, "monitoring.change_alert", region_of(alert))
    reason = (reason or "").strip()
    if status == Alert.Status.DISMISSED and not reason:
        raise ValidationError({"reason": _("排除预警须填写原因。")})
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if status not in TRANSITIONS.get(alert.status, set()):
            raise ValidationError(
                _("预警当前状态为“%(current)s”，不能改为“%(target)s”。")
                % {"current": alert.get_status_display(), "target": Alert.Status(status).label}
            )
        before = alert.status
        alert.status = status
        alert.status_reason = reason[:300]
        fields = ["status", "status_reason", "updated_at"]
        if status in CLOSING:
            alert.closed_at = timezone.now()
            alert.burden_at_close = alert.burden
            fields += ["closed_at", "burden_at_close"]
        elif alert.closed_at is not None:
            alert.closed_at = None
            alert.burden_at_close = None
            fields += ["closed_at", "burden_at_close"]
        if status == Alert.Status.IN_PROGRESS and alert.assignee_id is None:
            alert.assignee = by
            fields.append("assignee")
        alert._history_user = by
        alert.save(update_fields=fields)
        AlertNote.objects.create(
            alert=alert,
            text=reason or _("状态变更"),
            status_from=before,
            status_to=status,
            created_by=by,
        )
    return alert


# Closed by a person's decision, so a person may take it back. Not CLOSED (automatic): the
# check itself reopens it when the condition recurs, and would close it again if not.
# Not REFERRED: that already goes back to in_progress through alert_transition.
REOPENABLE = {Alert.Status.DISMISSED, Alert.Status.RESOLVED}


def alert_reopen(*, alert: Alert, by, reason: str) -> Alert:
    """Dismissed or resolved → open again (重新打开), with the reason in the alert's history.

    Invariant (§7): an open alert has no close: its closed_at and burden_at_close are cleared,
    so the check updates it like any open alert. The assignee, if any, keeps it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("重新打开预警须填写原因。")})
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        check_allowed(by, "monitoring.change_alert", region_of(alert))
        if alert.status not in REOPENABLE:
            raise ValidationError(
                _("预警当前状态为“%(current)s”，不能重新打开。")
                % {"current": alert.get_status_display()}
            )
        before = alert.status
        alert.status = Alert.Status.OPEN
        alert.status_reason = reason[:300]
        alert.closed_at = None
        alert.burden_at_close = None
        alert._history_user = by
        alert.save(
            update_fields=["status", "status_reason", "closed_at", "burden_at_close", "updated_at"]
        )
        AlertNote.objects.create(
            alert=alert,
            text=reason,
            status_from=before,
            status_to=Alert.Status.OPEN,
            created_by=by,
        )
    return alert


def alert_assign(*, alerts, assignee, by) -> int:
    """Assign one or many alerts (of the user's region) to a user; returns how many changed."""
    changed = 0
    with transaction.atomic():
        for alert in Alert.objects.select_for_update().filter(pk__in=[a.pk for a in alerts]):
            check_allowed(by, "monitoring.change_alert", region_of(alert))
            if assignee is not None:
                check_writable(assignee, alert)
            if alert.assignee_id == (assignee.pk if assignee else None):
                continue
            alert.assignee = assignee
            alert._history_user = by
            alert.save(update_fields=["assignee", "updated_at"])
            AlertNote.objects.create(
                alert=alert,
                text=(
                    _("指派给 %(user)s") % {"user": assignee.get_full_name()}
                    if assignee
                    else _("取消指派")
                ),
                created_by=by,
            )
            changed += 1
    return changed


def alert_add_note(*, alert: Alert, text: str, by) -> AlertNote:
    check_allowed(by, "monitoring.change_alert", region_of(alert))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("请填写备注内容。")})
    return AlertNote.objects.create(alert=alert, text=text, created_by=by)


# --- Medical-type dictionary (医疗类别字典) ---------------------------------------------------


def _medical_type_check(by, medical_type, perm: str = "change") -> None:
    """Admins only. A per-area row is changed by an admin who may change that area; a
    region-wide row re-files the settlements of every area, so only a user who may change
    everything (a superuser) changes it (DOMAIN §8: no writes outside one's subtree)."""
    area = medical_type.area_id
    check_allowed(by, f"monitoring.{perm}_medicaltype", area or "150000")


def _settlements_refile(lookup, matching: list) -> int:
    """Set `Settlement.visit_type` by `lookup` on the rows any of the `matching` rules match
    (one set-based UPDATE); returns how many rows changed."""
    from monitoring.models import Settlement

    if not matching:
        return 0
    table = Settlement._meta.db_table
    where = " OR ".join(f"({rule.sql_condition('med_type', 'insu_admdvs')})" for rule in matching)
    visit = lookup.sql("med_type", "insu_admdvs")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET visit_type = {visit} WHERE ({where}) AND visit_type <> {visit}"
        )
        return cursor.rowcount


def _lock_settlements() -> None:
    """One import at a time decides visit types (settlements.staging.check_file takes the same lock):
    an import running now commits first and its rows are re-filed here; one starting after
    re-reads the dictionary under the lock (`settlements.staging.refile_if_changed`)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE monitoring_settlement IN SHARE ROW EXCLUSIVE MODE")


def medical_type_save(*, medical_type, by) -> int:
    """Add or change a medical-type dictionary row and re-file the settlements already
    imported that its old or new code matches (scoped to the area for a per-area row): their
    `visit_type` becomes what the whole dictionary now says (DOMAIN §9.2). One transaction.

    Returns the number of settlements re-filed. A draft clearing holding any of them is
    recomputed in the same transaction (`funds.clearing_refile.recompute_refiled_drafts`). Clearings
    already approved or paid keep their amounts: they hold their own line totals (inpatient /
    outpatient) and their postings, which nothing here touches; their page says how many of
    their settlements have been re-filed since.
    """
    from monitoring.medical_types import medical_type_lookup
    from monitoring.models import MedicalType

    _medical_type_check(by, medical_type, "change" if medical_type.pk else "add")
    medical_type.full_clean()
    with transaction.atomic():
        _lock_settlements()
        matching = []
        if medical_type.pk is not None:
            old = (
                MedicalType.objects.select_for_update()
                .filter(pk=medical_type.pk)
                .order_by()
                .first()
            )
            if old is not None:
                _medical_type_check(by, old)  # nor moves another area's row into one's own
                matching.append(_rule_of(old))
        medical_type._history_user = by
        medical_type.save()
        matching.append(_rule_of(medical_type))
        refiled = _settlements_refile(medical_type_lookup(), matching)
        _recompute_clearings(refiled)
        return refiled


def medical_type_delete(*, medical_type, by) -> int:
    """Remove a dictionary row and re-file the settlements it matched (by the rows left; a
    code no row matches is general outpatient). Same guarantees as `medical_type_save`."""
    from monitoring.medical_types import medical_type_lookup

    _medical_type_check(by, medical_type, "delete")
    with transaction.atomic():
        _lock_settlements()
        rule = _rule_of(medical_type)
        medical_type._history_user = by
        medical_type.delete()
        refiled = _settlements_refile(medical_type_lookup(), [rule])
        _recompute_clearings(refiled)
        return refiled


def _recompute_clearings(refiled: int) -> None:
    """Draft clearings holding re-filed settlements are recomputed (DOMAIN §10: a draft's
    lines follow the dictionary); approved and paid ones keep what was approved and paid."""
    if refiled:
        from funds.clearing_refile import recompute_refiled_drafts

        recompute_refiled_drafts()


def _rule_of(medical_type):
    from monitoring.medical_types import rule_of

    return rule_of(medical_type.code, medical_type.visit_type, medical_type.area_id)
