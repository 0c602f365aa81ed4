"""Retroactive re-assessment (DOMAIN §11): detect identity changes, replay the year, propose.

1. Detect. The identity services call `note_identity_change` with the identity's period before
   and after; the years whose coverage changed are collected per transaction and, after commit,
   one `ReassessmentRun` is queued in chunks of CHUNK_SIZE persons (a roster touches thousands).
2. Re-assess. `reassess_person_year` replays the person's year with the engine under the current
   identities — every settlement and manual bill computed, never maf_pay — and compares record
   by record with what was paid (approved assistance for manual bills, maf_pay for one-stop
   settlements, less what recovery cases already take back).
3. Propose. A positive difference is a top-up (补发), a negative one a recovery (追回): an alert
   of kind `reassessment` with a `Proposal` holding both sets of steps. Re-running changes
   nothing; a changed amount supersedes the live proposal. The person's row is locked while a
   year is re-assessed, so concurrent re-assessments of one person produce one proposal set.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from claims import adapters, engine
from claims.engine_text import step_record, step_records
from claims.models import Application, Bill, Institution
from claims.models_corrections import Proposal, ReassessmentRun, RecoveryCase
from claims.proposals import (
    RecordResult,
    acted_by_record,
    acted_on,
    create_proposal,
    next_version,
    note_follows,
    pending_amount,
    supersede,
)
from claims.simulation import SimulationError
from claims.topup_steps import decided_topups

ZERO = Decimal("0.00")
CHUNK_SIZE = 500  # persons per task

Period = tuple[str, date, date | None]  # (category, start, end) of an identity

# What the paid side of a proposal says beyond the engine's own steps (kept as msgids).
STEP_ONE_STOP_PAID = gettext_noop("一站式结算：医院窗口已支付医疗救助 %(paid)s 元。")
STEP_REJECTED = gettext_noop("申请不予救助：%(reason)s")


# --- 1. Detect ------------------------------------------------------------------------------


def _coverage_span(period: Period, today: date) -> tuple[date, date]:
    """First and last day a period can cover (the end's month runs to its last day, P §15)."""
    _category, start, end = period
    return start, engine.coverage_end(end) if end is not None else today


def changed_years(before: Period | None, after: Period | None, today: date) -> set[int]:
    """The years in which an identity's change from `before` to `after` may alter coverage.

    A new, removed or re-categorised identity changes its whole span; a moved start changes
    the days between the two starts; a moved end the days from the earlier end (a stay it now
    ends during, P §15) to the later coverage end. Years after today have no records.
    """
    ranges: list[tuple[date, date]] = []
    if before is None or after is None or before[0] != after[0]:
        ranges += [_coverage_span(p, today) for p in (before, after) if p is not None]
    else:
        if before[1] != after[1]:
            ranges.append((min(before[1], after[1]), max(before[1], after[1])))
        if before[2] != after[2]:
            ends = [e for e in (before[2], after[2]) if e is not None]
            last = max(_coverage_span(before, today)[1], _coverage_span(after, today)[1])
            ranges.append((min(ends), last))
    years = set()
    for first, last in ranges:
        years.update(range(first.year, min(last, today).year + 1))
    return years


@dataclass
class _Pending:
    """The person-years an open transaction's identity changes touched."""

    person_years: set[tuple[int, int]] = field(default_factory=set)
    # person → identity → its period before this transaction (None: granted in it)
    befores: dict[int, dict[int, Period | None]] = field(default_factory=dict)
    roster_batch_id: int | None = None
    registered: bool = False  # its flush is queued with on_commit

    def flush(self) -> None:
        connection = transaction.get_connection()
        if getattr(connection, "_reassessment_pending", None) is self:
            connection._reassessment_pending = None
        if not self.person_years:
            return
        reassessment_queue(
            sorted(self.person_years), befores=self.befores, roster_batch_id=self.roster_batch_id
        )


def _pending() -> _Pending:
    """This transaction's collector, registered once with on_commit (a rolled-back transaction
    drops its callback, and with it the collector)."""
    connection = transaction.get_connection()
    pending = getattr(connection, "_reassessment_pending", None)
    if pending is not None and any(
        callback == pending.flush for _sids, callback, _robust in connection.run_on_commit
    ):
        return pending
    pending = _Pending()
    connection._reassessment_pending = pending
    return pending


def note_identity_change(
    person_id: int, before: Period | None, after: Period | None, *, identity_id: int
) -> None:
    """Called by the identity services (page, roster, shell) inside their transaction, with
    the identity's period before and after the change (None: it did not exist)."""
    from core.dates import shanghai_today as today

    years = changed_years(before, after, today())
    if not years:
        return
    connection = transaction.get_connection()
    pending = _pending()
    registered = pending.registered
    pending.registered = True
    pending.person_years.update((person_id, year) for year in years)
    pending.befores.setdefault(person_id, {}).setdefault(identity_id, before)
    if not connection.in_atomic_block:
        pending.flush()
    elif not registered:
        transaction.on_commit(pending.flush)


def discard_pending() -> None:
    """Forget the identity changes noted so far in this transaction (the demo seed: its base
    identities are history being loaded, not late changes to re-assess)."""
    pending = getattr(transaction.get_connection(), "_reassessment_pending", None)
    if pending is not None:
        pending.person_years.clear()
        pending.befores.clear()


def note_roster_batch(batch) -> None:
    """Called by the roster apply: the re-assessment it queues shows on the roster page."""
    connection = transaction.get_connection()
    pending = getattr(connection, "_reassessment_pending", None)
    if pending is not None:
        pending.roster_batch_id = batch.pk


def _period_json(period: Period | None):
    if period is None:
        return None
    category, start, end = period
    return [category, start.isoformat(), end.isoformat() if end else None]


def _period_from_json(value) -> Period | None:
    if value is None:
        return None
    category, start, end = value
    return category, date.fromisoformat(start), date.fromisoformat(end) if end else None


def reassessment_queue(person_years, *, befores=None, roster_batch_id: int | None = None):
    """Record a run for `person_years` and queue one task per chunk of CHUNK_SIZE persons.

    `befores` (person → identity → period before the change) lets the run tell what the change
    did to a one-stop settlement, whose maf_pay the engine did not compute."""
    from claims.tasks import reassessment_chunk_task

    if not person_years:
        return None
    persons = sorted({person for person, _year in person_years})
    chunks = (len(persons) + CHUNK_SIZE - 1) // CHUNK_SIZE
    run = ReassessmentRun.objects.create(
        roster_batch_id=roster_batch_id,
        before_identities={
            str(person): {str(i): _period_json(p) for i, p in changed.items()}
            for person, changed in (befores or {}).items()
        },
        person_years=[list(pair) for pair in person_years],
        persons=len(persons),
        chunks_total=chunks,
    )
    for index in range(chunks):
        # Sent once the run row is committed (the tasks ↔ services pair of on_commit).
        transaction.on_commit(lambda i=index: reassessment_chunk_task.delay(run.pk, i))
    return run


def reassessment_chunk(*, run_id: int, index: int) -> int:
    """Re-assess chunk `index` of a run; returns the proposals created. Each person-year is
    its own transaction; re-running a chunk is harmless (proposals are idempotent)."""
    from beneficiaries.models import Person
    from core.dates import shanghai_today as today

    run = ReassessmentRun.objects.get(pk=run_id)
    ReassessmentRun.objects.filter(pk=run_id, status=ReassessmentRun.Status.QUEUED).update(
        status=ReassessmentRun.Status.RUNNING
    )
    persons = sorted({p for p, _y in run.person_years})[
        index * CHUNK_SIZE : (index + 1) * CHUNK_SIZE
    ]
    wanted = set(persons)
    created = 0
    day = today()
    by_pk = Person.objects.in_bulk(persons)
    errors = []
    for person_id, year in run.person_years:
        if person_id not in wanted or person_id not in by_pk:
            continue
        try:
            changed = {
                int(i): _period_from_json(p)
                for i, p in run.before_identities.get(str(person_id), {}).items()
            }
            created += len(
                reassess_person_year(
                    person=by_pk[person_id], year=year, day=day, changed=changed or None
                )
            )
        except (engine.InvalidBill, ValidationError, SimulationError) as exc:
            # One person's bad record must not stop the others: it is listed on the run.
            errors.append(f"{by_pk[person_id].name} {year}: {exc}")
    ReassessmentRun.objects.filter(pk=run_id).update(
        chunks_done=F("chunks_done") + 1, proposals=F("proposals") + created
    )
    if errors:
        run.refresh_from_db(fields=["error"])
        run.error = "\n".join([run.error, *errors]).strip()[:10000]
        run.save(update_fields=["error"])
    ReassessmentRun.objects.filter(pk=run_id, chunks_done__gte=F("chunks_total")).update(
        status=ReassessmentRun.Status.DONE, finished_at=timezone.now()
    )
    return created


# --- 2. Re-assess ---------------------------------------------------------------------------


def _replaced_bills(person, year: int) -> set[int]:
    """Bills a decided supplementary application (补发) took over: its copy is the record now."""
    return set(
        Proposal.objects.filter(
            person=person,
            year=year,
            bill__isnull=False,
            paid=0,
            application__status__in=Application.DECIDED_STATUSES,
        ).values_list("bill_id", flat=True)
    )


def _manual_bills(person, year: int) -> list[Bill]:
    """The year's manual bills: those of decided applications, and those of rejected ones whose
    invoice no other application reimbursed (now covered, they are a top-up, §11)."""
    bills = list(
        Bill.objects.filter(application__person=person, year=year, topup_of="")
        .filter(
            Q(application__status__in=Application.DECIDED_STATUSES, active=True)
            | Q(application__status=Application.Status.REJECTED)
        )
        .select_related("institution", "application")
        .order_by("id")
    )
    active = {(b.institution_id, b.invoice_number) for b in bills if b.active}
    active_setl = {b.setl_id for b in bills if b.active and b.setl_id}
    replaced = _replaced_bills(person, year)
    return [
        b
        for b in bills
        if b.pk not in replaced
        and (
            b.active
            or ((b.institution_id, b.invoice_number) not in active and b.setl_id not in active_setl)
        )
    ]


def _recovered(person, year: int) -> dict[str, Decimal]:
    """What live recovery cases take back, by record."""
    taken: dict[str, Decimal] = {}
    for record, amount in RecoveryCase.objects.filter(
        person=person, year=year, status__in=RecoveryCase.LIVE
    ).values_list("proposal__record", "amount"):
        taken[record] = taken.get(record, ZERO) + amount
    return taken


def _identities_before(identities, changed: dict | None) -> list[engine.Identity] | None:
    """The person's identities before the change: changed ones as they were, new ones gone."""
    if changed is None:
        return None
    before = []
    for identity in identities:
        if identity.pk not in changed:
            before.append(engine.Identity(identity.category, identity.start, identity.end))
        elif changed[identity.pk] is not None:
            before.append(engine.Identity(*changed[identity.pk]))
    return before


def person_year_records(
    person, year: int, *, day: date, changed: dict | None = None
) -> list[RecordResult]:
    """Replay the person's year under the current identities and compare with what was paid.

    `changed` (identity → period before the change, None for a new one) gives the replay
    before the change too; a settlement's figure moves by what the change did (its maf_pay was
    the counter's, not ours), a manual bill's is what the engine now says."""
    from claims.selectors import person_settlements
    from claims.simulation import person_timeline, policy_for_year

    area = person.region.coordination_area
    if area is None:
        return []
    settlements = person_settlements(person, year)
    manual = _manual_bills(person, year)
    if not settlements and not manual:
        return []
    rules = adapters.engine_policy(policy_for_year(area.code, year))
    current = list(person.identities.all())
    identities = adapters.engine_identities(current)
    before = _identities_before(current, changed)
    codes = {row.fixmedins_code for row in settlements}
    institutions = {i.code: i for i in Institution.objects.filter(code__in=codes)}
    timeline = person_timeline(settlements, manual, institutions=institutions, area_code=area.code)
    after, _state = engine.assess_bills(rules, identities, engine.YearToDate.zero(), timeline, day)
    # The year as it was paid: settlements at maf_pay, approved bills at their assistance,
    # each with what its decided top-ups (补发 of a partly paid record) added.
    topups = decided_topups(person, year)
    paid_bills = {str(b.pk): b for b in manual if b.active and b.covered}
    maf = {f"setl:{s['setl_id']}": s["maf_pay"] for s in adapters.net_settlements(settlements)}
    as_paid = [b for b in (_as_paid(b, paid_bills, maf, topups, area.code) for b in timeline) if b]
    paid_results, _state = engine.assess_bills(
        rules, identities, engine.YearToDate.zero(), as_paid, day
    )
    paid_by_id = {r.bill_id: r for r in paid_results}
    before_by_id = {}
    if before is not None:
        results, _state = engine.assess_bills(
            rules, before, engine.YearToDate.zero(), timeline, day
        )
        before_by_id = {r.bill_id: r for r in results}
    recovered = _recovered(person, year)
    bills_by_id = {str(b.pk): b for b in manual}
    records = []
    for bill, result in zip(timeline, after, strict=True):
        record = _record(bill, result, paid_by_id.get(bill.id), maf, bills_by_id, paid_bills)
        if bill.id.startswith("setl:"):
            record.due, record.known = _settlement_due(
                result,
                before_by_id.get(bill.id),
                record.paid + topups.get(record.record, (ZERO, ZERO))[1],
                known=before is not None,
            )
        record.paid += topups.get(record.record, (ZERO, ZERO))[1]
        record.paid -= recovered.get(record.record, ZERO)
        records.append(record)
    return records


def _as_paid(bill: engine.Bill, paid_bills: dict, maf: dict, topups: dict, area_code: str):
    """A record of the timeline as it was paid: a settlement at its maf_pay, an approved bill
    at its approved assistance (the replay of §4), plus its top-ups' basic assistance; None for
    what nothing was paid for."""
    record = bill.id if bill.id.startswith("setl:") else f"bill:{bill.id}"
    extra = topups.get(record, (ZERO, ZERO))[0]
    if bill.id.startswith("setl:"):
        return dataclasses.replace(bill, paid_assistance=maf[bill.id] + extra)
    manual = paid_bills.get(bill.id)
    if manual is None:
        return None
    replayed = adapters.replayed_bill(manual, area_code=area_code)
    return dataclasses.replace(replayed, paid_assistance=replayed.paid_assistance + extra)


def _settlement_due(after, before, maf: Decimal, *, known: bool) -> tuple[Decimal, bool]:
    """What a one-stop settlement should have got, and whether that is known.

    No longer covered: nothing (all of maf_pay is recovered). Covered before and after: maf_pay
    moved by the change's effect (after − before, as the engine computes both). Newly covered:
    the engine's figure, unless the counter already paid (it saw the identity: unchanged).
    Without the before-change identities (a plain re-run), a covered settlement is unchanged.
    """
    if not after.covered:
        return ZERO, True
    if not known or before is None:
        return maf, False
    if before.covered:
        return max(ZERO, maf + after.total - before.total), True
    return (maf, True) if maf > 0 else (after.total, True)


def _record(bill, result, paid_result, maf, bills_by_id, paid_bills) -> RecordResult:
    if bill.id.startswith("setl:"):
        record = bill.id
        paid = maf[record]
        before_steps = [step_record(STEP_ONE_STOP_PAID, {"paid": paid})]
        category_before = ""
        setl_id = bill.id[len("setl:") :]
        model_bill = None
    else:
        record = f"bill:{bill.id}"
        model_bill = bills_by_id[bill.id]
        paid = model_bill.total if bill.id in paid_bills else ZERO
        # Stored as step records (msgid + parameters): the page shows them in the reader's
        # language. A bill assessed before records were kept has its text only.
        before_steps = list(model_bill.step_records or model_bill.steps or [])
        if model_bill.application.status == Application.Status.REJECTED:
            reason = model_bill.application.decision_comment or "—"
            before_steps.append(step_record(STEP_REJECTED, {"reason": reason}))
        category_before = model_bill.category
        setl_id = model_bill.setl_id
    if paid_result is not None and not before_steps:
        before_steps = step_records(paid_result)
    return RecordResult(
        record=record,
        visit_type=bill.visit_type,
        end_date=bill.end_date,
        paid=paid,
        due=result.total,
        before_steps=before_steps,
        after_steps=step_records(result),
        category_before=category_before,
        category_after=result.category or "",
        bill=model_bill,
        setl_id=setl_id,
    )


# --- 3. Propose -----------------------------------------------------------------------------


def live_proposals(person, year: int) -> dict[str, Proposal]:
    """The latest not-superseded proposal of each record of the person's year."""
    from monitoring.models import Alert

    live: dict[str, Proposal] = {}
    rows = (
        Proposal.objects.filter(person=person, year=year)
        .exclude(alert__status=Alert.Status.SUPERSEDED)
        .select_related("alert", "application")
        .order_by("version")
    )
    for proposal in rows:
        live[proposal.record] = proposal
    return live


def reassess_person_year(
    *, person, year: int, day: date | None = None, changed: dict | None = None
) -> list[Proposal]:
    """Re-assess one person's year and bring its proposals up to date (one transaction).

    Invariant: at most one live proposal per record; an unchanged amount is left as it is.
    A proposal already acted on (an application, a recovery case) is never superseded: a later
    change that leaves a difference beyond what it will pay or recover becomes a new proposal
    for that remainder, noting the earlier one. The person's row is locked first, so
    re-assessments of one person run one at a time.
    """
    from beneficiaries.models import Person
    from core.dates import shanghai_today as today

    day = day or today()
    created = []
    with transaction.atomic():
        person = Person.objects.select_for_update().select_related("region").get(pk=person.pk)
        records = {r.record: r for r in person_year_records(person, year, day=day, changed=changed)}
        live = live_proposals(person, year)
        acted = acted_by_record(person, year)
        for record in sorted(set(records) | set(live)):
            result = records.get(record)
            current = live.get(record)
            pending = pending_amount(acted.get(record, []), result)
            if pending is None:
                continue
            if result is not None and pending:
                result = dataclasses.replace(result, paid=result.paid + pending)
            difference = result.difference if result else ZERO
            if current is not None and (
                current.difference == difference
                or (acted_on(current) and (result is None or difference == 0))
            ):
                continue
            if current is not None and result is not None and not result.known:
                continue  # a plain re-run cannot tell: the proposal stands
            new = None
            if difference != 0:
                new = create_proposal(person, year, result, next_version(person, year, record))
                created.append(new)
                if acted.get(record):
                    note_follows(new, acted[record][-1])
            if current is not None and not acted_on(current):
                supersede(current, new)
    return created
