"""Roster batches (DOMAIN §9.1), a service module: store an uploaded roster as a draft batch
with its preview, apply it in one transaction (an applied RosterBatch with one RosterLine per
identity it touched), and `roster_import`, the `import_roster` command in one call. Reading
and planning a roster are `beneficiaries.roster`'s.
"""

import itertools
from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries import roster
from beneficiaries.models import Identity, Person, RosterBatch, RosterLine, RosterPreviewRow
from beneficiaries.roster import RosterFileError, RosterPlan, RosterRow
from beneficiaries.services import (
    identity_change,
    identity_grant,
    identity_terminate,
    person_register,
    person_update,
)
from claims import corrections
from core.models import Region
from core.scoping import check_allowed

__all__ = [
    "STORED_ERRORS",
    "roster_apply",
    "roster_batch_create",
    "roster_batch_plan",
    "roster_batch_preview",
    "roster_import",
]

_CHUNK = 1000
STORED_ERRORS = 1000  # row errors kept on a draft batch for its preview page


def _latest_roster_dates(person_ids: list[int]) -> dict[int, date]:
    latest = {}
    for i in range(0, len(person_ids), _CHUNK):
        latest.update(
            RosterLine.objects.filter(
                person_id__in=person_ids[i : i + _CHUNK], batch__status=RosterBatch.Status.APPLIED
            )
            .values_list("person_id")
            .annotate(latest=Max("batch__as_of"))
        )
    return latest


def roster_batch_create(
    *,
    name: str,
    data: bytes,
    department: str,
    region: Region,
    as_of: date,
    by,
    preview: bool = True,
) -> RosterBatch:
    """Store an uploaded roster as a draft batch and, with `preview`, its preview: the file is
    read and planned once here, the pages show what was stored. `by=None` is the system (the
    `import_roster` command); a user is checked here, and the preview is planned as theirs."""
    if by is not None:
        check_allowed(by, "beneficiaries.add_rosterbatch", region.code)
    with transaction.atomic():
        batch = RosterBatch(
            department=department, region=region, as_of=as_of, file_name=name[:200], created_by=by
        )
        batch.file.save(name, ContentFile(data), save=False)
        batch._history_user = by
        batch.save()
        if preview:
            _store_preview(batch, data, by)
    return batch


def roster_batch_preview(batch: RosterBatch) -> dict:
    """The stored preview of a draft batch (planned now, once, for a batch stored without)."""
    if not batch.preview:
        with batch.file.open("rb") as handle:
            data = handle.read()
        with transaction.atomic():
            _store_preview(batch, data, batch.created_by)
    return batch.preview


def _store_preview(batch: RosterBatch, data: bytes, by) -> None:
    batch.preview_rows.all().delete()
    try:
        plan = roster.roster_preview(
            name=batch.file_name,
            data=data,
            department=batch.department,
            region=batch.region,
            as_of=batch.as_of,
            by=by,
        )
    except RosterFileError as exc:
        batch.preview = {"file_error": str(exc)}
    else:
        rows = (
            RosterPreviewRow(
                batch=batch,
                row=row.row,
                effect=row.effect,
                name=row.name[:100],
                id_number=row.id_number,
                category=row.category,
                start=row.start,
                end=row.end,
                region_code=row.region_code,
                new_person=row.person is None,
                before=(
                    {
                        "start": row.identity.start.isoformat(),
                        "end": row.identity.end.isoformat() if row.identity.end else None,
                        "region": row.identity.region_id,
                    }
                    if row.identity is not None
                    else {}
                ),
            )
            for row in plan.planned
        )
        terminations = (
            RosterPreviewRow(
                batch=batch,
                effect=RosterLine.Effect.TERMINATED,
                name=identity.person.name[:100],
                id_number=identity.person.id_number,
                category=identity.category,
                start=identity.start,
                end=end,
                region_code=identity.region_id,
            )
            for identity, end in plan.terminations
        )
        # Built and written a chunk at a time: a 200,000-row roster never holds them all.
        chunk = []
        for preview_row in itertools.chain(rows, terminations):
            chunk.append(preview_row)
            if len(chunk) == 2000:
                RosterPreviewRow.objects.bulk_create(chunk)
                chunk = []
        RosterPreviewRow.objects.bulk_create(chunk)
        batch.preview = {
            "counts": plan.counts,
            "errors": plan.errors[:STORED_ERRORS],
            "error_count": len(plan.errors),
        }
    RosterBatch.objects.filter(pk=batch.pk).update(preview=batch.preview)


def roster_batch_plan(batch: RosterBatch, by=None) -> RosterPlan:
    with batch.file.open("rb") as handle:
        data = handle.read()
    return roster.roster_preview(
        name=batch.file_name,
        data=data,
        department=batch.department,
        region=batch.region,
        as_of=batch.as_of,
        by=by,
    )


def roster_apply(*, batch: RosterBatch, by) -> RosterPlan:
    """Apply a draft roster batch in one transaction; refused (nothing written) with row errors.

    Invariant: a batch is applied once (claimed with a conditional update), and a roster with
    a bad row never half-applies. A user (`by`; None is the system) applies only a batch of
    their writable subtree whose rows all lie in it.
    """
    if by is not None:
        check_allowed(by, "beneficiaries.add_rosterbatch", batch.region_id)
    with transaction.atomic():
        claimed = RosterBatch.objects.filter(pk=batch.pk, status=RosterBatch.Status.DRAFT).update(
            status=RosterBatch.Status.APPLIED, applied_by=by, applied_at=timezone.now()
        )
        if claimed != 1:
            raise ValidationError(_("该名单已导入，不能重复确认。"))
        batch.refresh_from_db()
        plan = roster_batch_plan(batch, by=by)
        if plan.errors:
            raise ValidationError(
                _("名单有 %(count)s 处错误，未导入。") % {"count": len(plan.errors)}
            )
        _write(plan, batch, by)
        corrections.note_roster_batch(batch)  # the re-assessment it queues shows on its page
        batch.preview_rows.all().delete()  # the lines now say what the roster did
    return plan


def _write(plan: RosterPlan, batch: RosterBatch, by) -> None:
    """Write a checked plan (in `roster_apply`'s transaction): the rows, the terminations,
    one RosterLine each, the identities' last roster and the batch's counts."""
    document = _("%(department)s名单（%(date)s）") % {
        "department": batch.get_department_display(),
        "date": batch.as_of.isoformat(),
    }
    regions = {
        r.code: r for r in Region.objects.filter(code__in={row.region_code for row in plan.planned})
    }
    touched_persons = {row.person.pk for row in plan.planned if row.person}
    latest = _latest_roster_dates(sorted(touched_persons))
    created: dict[str, Person] = {}
    lines = []
    for row in plan.planned:
        region = regions[row.region_code]
        person = row.person or created.get(row.id_number)
        if person is None:
            person = person_register(
                id_number=row.id_number, name=row.name, region=region, phone=row.phone, by=by
            )
            created[row.id_number] = person
        elif person.pk in touched_persons and latest.get(person.pk, date.min) <= batch.as_of:
            # The person's name and household region follow the latest roster (§9.1).
            changes = {"name": row.name, "region": region}
            if row.phone:
                changes["phone"] = row.phone
            person_update(person=person, by=by, reason=document, **changes)
        lines.append(_write_identity(row, person, region, batch, document, by))
    lines += _write_terminations(plan, batch, by)
    RosterLine.objects.bulk_create(lines, batch_size=1000)
    confirmed = [line.identity_id for line in lines if line.effect != RosterLine.Effect.TERMINATED]
    for i in range(0, len(confirmed), _CHUNK):
        Identity.objects.filter(pk__in=confirmed[i : i + _CHUNK]).update(last_roster=batch)
    counts = plan.counts
    for key, value in counts.items():
        setattr(batch, key, value)
    batch._history_user = by
    batch.save(update_fields=list(counts))


def _write_identity(row: RosterRow, person, region, batch: RosterBatch, document, by):
    """Grant, change or keep the row's identity; the RosterLine saying which."""
    before = {}
    if row.effect == RosterLine.Effect.NEW:
        identity = identity_grant(
            person=person,
            category=row.category,
            start=row.start,
            end=row.end,
            region=region,
            department=batch.department,
            document=document,
            reason=document,
            by=by,
        )
    else:
        identity = row.identity
        before = {
            "start": identity.start.isoformat(),
            "end": identity.end.isoformat() if identity.end else None,
            "region": identity.region_id,
        }
        if row.effect == RosterLine.Effect.CHANGED:
            identity = identity_change(
                identity=identity,
                start=row.start,
                end=row.end,
                clear_end=row.end is None,
                region=region,
                reason=document,
                by=by,
            )
    return RosterLine(
        batch=batch,
        row=row.row,
        effect=row.effect,
        person=person,
        identity=identity,
        category=row.category,
        start=row.start,
        end=row.end,
        before=before if row.effect == RosterLine.Effect.CHANGED else {},
    )


def _write_terminations(plan: RosterPlan, batch: RosterBatch, by) -> list[RosterLine]:
    """End the identities the roster no longer lists; a RosterLine each."""
    reason = _("未列入%(department)s %(date)s 名单") % {
        "department": batch.get_department_display(),
        "date": batch.as_of.isoformat(),
    }
    lines = []
    for identity, end in plan.terminations:
        before = {
            "start": identity.start.isoformat(),
            "end": identity.end.isoformat() if identity.end else None,
        }
        identity_terminate(identity=identity, end=end, reason=reason, by=by)
        lines.append(
            RosterLine(
                batch=batch,
                effect=RosterLine.Effect.TERMINATED,
                person_id=identity.person_id,
                identity=identity,
                category=identity.category,
                start=identity.start,
                end=end,
                before=before,
            )
        )
    return lines


def roster_import(
    *,
    name: str,
    data: bytes,
    department: str,
    region: Region,
    as_of: date,
    by,
    dry_run: bool = False,
) -> dict:
    """The `import_roster` command in one call: plan, and apply unless there are errors or
    `dry_run`. Returns the §9.1 JSON object. The command passes `by=None` (the system)."""
    plan = roster.roster_preview(
        name=name, data=data, department=department, region=region, as_of=as_of, by=by
    )
    if plan.errors or dry_run:
        return plan.summary(applied=False)
    with transaction.atomic():
        batch = roster_batch_create(
            name=name,
            data=data,
            department=department,
            region=region,
            as_of=as_of,
            by=by,
            preview=False,
        )
        plan = roster_apply(batch=batch, by=by)
    return plan.summary(applied=True)
