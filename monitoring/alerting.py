"""Upserting the findings of a check into alerts, chunk by chunk (DOMAIN §7).

A write module used only by the checks (`monitoring/checks/`), inside a run that
`check_run` has claimed and checked; the doors people use are `monitoring/services.py`.

One alert per (kind, year, certno, subject). For each finding of a run:
- no alert yet: an alerting finding creates one (`alerts_created`);
- an open or in-progress alert is updated when its figures changed (`alerts_updated`), or
  closed automatically when the finding no longer alerts (`alerts_closed`);
- a closed alert (dismissed, resolved, referred, or closed automatically) is reopened only
  when `reopens(alert, finding)` says so — for high-cost alerts: the burden grew past the
  burden it had when it was closed.
Each chunk is one transaction that locks the alerts it touches, so a crash keeps whole chunks
and a re-run finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from monitoring.models import Alert, AlertNote

CHUNK = 2000

# The fields a finding sets on its alert (compared to decide whether an update changes it).
FIGURES = ["name", "person_id", "region_id", "watch", "burden", "threshold", "amount", "message"]
# Everything a run may change on an existing alert (written with one bulk update per chunk).
UPDATED = [
    "name",
    "person",
    "region",
    "watch",
    "burden",
    "threshold",
    "amount",
    "message",
    "period",
    "evidence",
    "last_run",
    "updated_at",
    "status",
    "closed_at",
    "burden_at_close",
]


@dataclass
class Finding:
    certno: str
    subject: str = ""
    alerting: bool = True
    name: str = ""
    person_id: int | None = None
    region_id: str = ""
    watch: str = ""
    burden: Decimal | None = None
    threshold: Decimal | None = None
    amount: Decimal | None = None
    message: str = ""
    evidence: dict = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.certno, self.subject)


def reopens_when_auto_closed(alert: Alert, finding: Finding) -> bool:
    """Cross-checks: a person's dismissal stands; an automatic close reopens when it recurs."""
    return alert.status == Alert.Status.CLOSED


def reopens_when_burden_grew(alert: Alert, finding: Finding) -> bool:
    """§7: not reopened unless the burden grows past the burden it had when it was closed."""
    closed_at = alert.burden_at_close if alert.burden_at_close is not None else alert.burden
    return closed_at is None or (finding.burden is not None and finding.burden > closed_at)


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _apply(alert: Alert, finding: Finding) -> bool:
    changed = False
    for name in FIGURES:
        value = getattr(finding, name)
        if name in ("person_id", "watch", "name") and not value and getattr(alert, name):
            continue  # a finding that does not know them keeps what the alert had
        if getattr(alert, name) != value:
            setattr(alert, name, value)
            changed = True
    return changed


def sync_findings(
    ctx,
    *,
    kind: str,
    year: int,
    findings: Iterable[Finding],
    reopens: Callable[[Alert, Finding], bool] = reopens_when_auto_closed,
    close_missing: Q | None = None,
) -> None:
    """Upsert `findings` into alerts of `kind` and `year`, counting on `ctx.run`.

    `close_missing`, when given, selects the alerts this run is responsible for: those still
    open or in progress that no finding named are closed automatically (the condition is gone).
    """
    run = ctx.run
    seen: set[tuple[str, str]] = set()
    now = timezone.now()
    for chunk in _chunks(findings, CHUNK):
        with transaction.atomic():
            keys = {f.key for f in chunk}
            seen |= keys
            certnos = {f.certno for f in chunk}
            existing = {
                (a.certno, a.subject): a
                for a in Alert.objects.select_for_update().filter(
                    kind=kind, year=year, certno__in=certnos
                )
                if (a.certno, a.subject) in keys
            }
            to_create: list[Alert] = []
            changed: list[Alert] = []
            notes: list[AlertNote] = []
            for finding in chunk:
                alert = existing.get(finding.key)
                if alert is None:
                    if finding.alerting:
                        to_create.append(_new_alert(ctx, kind, year, finding))
                    continue
                if alert.is_active:
                    if finding.alerting:
                        if _apply(alert, finding) or alert.period != ctx.period.text:
                            _refresh(alert, ctx, finding, now, changed)
                            run.alerts_updated += 1
                    else:
                        _apply(alert, finding)
                        _close(alert, ctx, finding, now, notes, changed)
                        run.alerts_closed += 1
                elif finding.alerting and reopens(alert, finding):
                    notes.append(
                        AlertNote(
                            alert=alert,
                            text=_("系统：情况再次出现，预警重新打开。"),
                            status_from=alert.status,
                            status_to=Alert.Status.OPEN,
                        )
                    )
                    _apply(alert, finding)
                    alert.status = Alert.Status.OPEN
                    alert.closed_at = None
                    alert.burden_at_close = None
                    _refresh(alert, ctx, finding, now, changed)
                    run.alerts_updated += 1
            if to_create:
                bulk_create_with_history(to_create, Alert, batch_size=CHUNK)
                run.alerts_created += len(to_create)
            if changed:
                _save(changed)
            if notes:
                AlertNote.objects.bulk_create(notes)
        ctx.save_progress()
    if close_missing is not None:
        _close_missing(ctx, kind, year, close_missing, seen, now)


def _save(alerts: list[Alert]) -> None:
    """Write the changed `UPDATED` fields of `alerts`, and their history rows.

    One UPDATE statement run for each alert (executemany): Django's `bulk_update` builds a
    CASE per field and alert, and building that query for 500 alerts took longer (2–4 s) than
    the incremental high-cost scan that found them.
    """
    fields = [Alert._meta.get_field(name) for name in UPDATED]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(Alert._meta.db_table)} SET {assignments} WHERE id = %s"
    rows = [
        [f.get_db_prep_save(getattr(alert, f.attname), connection) for f in fields] + [alert.pk]
        for alert in alerts
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    Alert.history.bulk_history_create(alerts, batch_size=CHUNK, update=True)


def _new_alert(ctx, kind: str, year: int, finding: Finding) -> Alert:
    alert = Alert(
        kind=kind,
        year=year,
        period=ctx.period.text,
        certno=finding.certno,
        subject=finding.subject,
        evidence=finding.evidence,
        last_run=ctx.run,
    )
    _apply(alert, finding)
    return alert


def _refresh(alert: Alert, ctx, finding: Finding, now, changed: list[Alert]) -> None:
    alert.period = ctx.period.text
    alert.evidence = finding.evidence
    alert.last_run = ctx.run
    alert.updated_at = now
    changed.append(alert)


def _close(
    alert: Alert, ctx, finding: Finding | None, now, notes: list[AlertNote], changed: list[Alert]
) -> None:
    notes.append(
        AlertNote(
            alert=alert,
            text=_("系统：预警条件已不满足，自动关闭。"),
            status_from=alert.status,
            status_to=Alert.Status.CLOSED,
        )
    )
    alert.status = Alert.Status.CLOSED
    alert.closed_at = now
    alert.burden_at_close = alert.burden
    alert.period = ctx.period.text
    alert.last_run = ctx.run
    alert.updated_at = now
    if finding is not None:
        alert.evidence = finding.evidence
    changed.append(alert)


def _close_missing(ctx, kind, year, scope: Q, seen, now) -> None:
    active = Alert.objects.filter(scope, kind=kind, year=year, status__in=Alert.ACTIVE)
    stale = [pk for pk, c, s in active.values_list("pk", "certno", "subject") if (c, s) not in seen]
    for chunk in _chunks(stale, CHUNK):
        with transaction.atomic():
            notes: list[AlertNote] = []
            changed: list[Alert] = []
            for alert in Alert.objects.select_for_update().filter(
                pk__in=chunk, status__in=Alert.ACTIVE
            ):
                if alert.burden is not None:
                    alert.burden = Decimal("0.00")
                _close(alert, ctx, None, now, notes, changed)
                ctx.run.alerts_closed += 1
            if changed:
                _save(changed)
            AlertNote.objects.bulk_create(notes)
        ctx.save_progress()
