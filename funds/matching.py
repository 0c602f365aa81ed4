"""Matching statement lines with ledger legs (P §23, DOMAIN §9.3); a service module for the
manual side (rematch, match by hand, undo, adjusting entry), each checked and in one
transaction.

A statement line is money in (收入, credit on finance's side) or out (支出) of the area's
fiscal special account. As a leg of our 财政专户存款 subject, money in is a debit (+).

Automatic matching pairs one line with one ledger leg of that account: same signed amount,
and either the same reference (凭证号) or dates at most 3 days apart. A line with more than one
candidate stays unmatched for a person to resolve; a line with exactly one candidate is matched
to it, unless that leg is also the only candidate of another line: a leg is never matched
twice, and which of two lines it belongs to is then a person's call. (The result does not
depend on the order of the file.)
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_event
from core.dates import month_end
from core.identifiers import normalize_identifier
from core.models import AuditEvent
from core.scoping import can_write, check_allowed
from funds.models import (
    Fund,
    Leg,
    Match,
    MatchedLeg,
    Reconciliation,
    StatementLine,
    Subject,
    Transaction,
)
from funds.services import entry_propose

DATE_WINDOW = 3  # days (DOMAIN §9.3)


@dataclass(frozen=True)
class LedgerItem:
    leg_id: int
    date: date
    reference: str
    amount: Decimal


def match_pairs(lines, items: list[LedgerItem]) -> list[tuple[object, LedgerItem]]:
    """The automatic pairs (see the module docstring). `lines` need .date, .reference, .signed."""
    by_amount: dict[Decimal, list[LedgerItem]] = defaultdict(list)
    for item in items:
        by_amount[item.amount].append(item)
    window = timedelta(days=DATE_WINDOW)
    candidates = []
    demand: Counter = Counter()
    for line in lines:
        found = [
            item
            for item in by_amount.get(line.signed, ())
            if (line.reference and item.reference == line.reference)
            or abs(item.date - line.date) <= window
        ]
        candidates.append((line, found))
        # Only lines with a single candidate claim it; lines with several stay unmatched.
        if len(found) == 1:
            demand[found[0].leg_id] += 1
    return [
        (line, found[0])
        for line, found in candidates
        if len(found) == 1 and demand[found[0].leg_id] == 1
    ]


def free_ledger(fund: Fund, first: date, last: date, *, exclude_reconciliation=None):
    """Unmatched legs of the fiscal special account dated in [first, last]."""
    matched = MatchedLeg.objects.filter(leg_id=OuterRef("pk"))
    if exclude_reconciliation is not None:
        matched = matched.exclude(match__reconciliation=exclude_reconciliation)
    rows = (
        Leg.objects.filter(
            fund=fund, subject_id=Subject.FISCAL, booked_on__gte=first, booked_on__lte=last
        )
        .exclude(Exists(matched))
        .order_by()
        .values_list("pk", "booked_on", "transaction__reference", "amount")
    )
    return [LedgerItem(pk, day, normalize_identifier(ref), amount) for pk, day, ref, amount in rows]


def match_window(year: int, month: int) -> tuple[date, date]:
    return (
        date(year, month, 1) - timedelta(days=DATE_WINDOW),
        month_end(year, month) + timedelta(days=DATE_WINDOW),
    )


def matched_exists():
    """NOT EXISTS (an anti-join): `pk NOT IN (subquery)` plans quadratically in PostgreSQL."""
    return Exists(MatchedLeg.objects.filter(leg_id=OuterRef("pk")))


def matches_write(recon, new_lines, pairs, kind, by) -> None:
    """Store matches for `pairs`; `new_lines` (ParsedLine) are created, StatementLine rows
    already stored are linked to their match."""
    if connection.vendor == "postgresql" and new_lines:
        _matches_copy(recon, new_lines, pairs, kind, by)
        return
    matches = Match.objects.bulk_create(
        [Match(reconciliation=recon, kind=kind, created_by=by) for _p in pairs]
    )
    match_of_line = {id(line): m for (line, _item), m in zip(pairs, matches, strict=True)}
    if new_lines:
        StatementLine.objects.bulk_create(
            [
                StatementLine(
                    reconciliation=recon,
                    row=p.row,
                    date=p.date,
                    reference=p.reference,
                    memo=p.memo,
                    direction=p.direction,
                    amount=p.amount,
                    match=match_of_line.get(id(p)),
                )
                for p in new_lines
            ],
            batch_size=5000,
        )
    else:
        for line, _item in pairs:
            line.match = match_of_line[id(line)]
        StatementLine.objects.bulk_update([line for line, _i in pairs], ["match"])
    MatchedLeg.objects.bulk_create(
        [
            MatchedLeg(match=m, leg_id=item.leg_id)
            for (_l, item), m in zip(pairs, matches, strict=True)
        ],
        batch_size=5000,
    )


def _matches_copy(recon, new_lines, pairs, kind, by) -> None:
    """The same rows as `matches_write`, by COPY: a monthly statement of tens of thousands of lines
    would spend most of its time building model instances (bench_funds)."""
    now = timezone.now()
    by_id = by.pk if by is not None else None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('funds_match', 'id'))"
            " FROM generate_series(1, %s)",
            [len(pairs)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        match_of_line = {id(line): mid for (line, _i), mid in zip(pairs, ids, strict=True)}
        raw = cursor.cursor
        with raw.copy(
            "COPY funds_match (id, reconciliation_id, kind, created_by_id, created_at) FROM STDIN"
        ) as copy:
            for mid in ids:
                copy.write_row((mid, recon.pk, kind, by_id, now))
        with raw.copy(
            "COPY funds_statementline (reconciliation_id, row, date, reference, memo,"
            " direction, amount, match_id) FROM STDIN"
        ) as copy:
            for p in new_lines:
                copy.write_row(
                    (
                        recon.pk,
                        p.row,
                        p.date,
                        p.reference,
                        p.memo,
                        p.direction,
                        p.amount,
                        match_of_line.get(id(p)),
                    )
                )
        with raw.copy("COPY funds_matchedleg (match_id, leg_id) FROM STDIN") as copy:
            for (_line, item), mid in zip(pairs, ids, strict=True):
                copy.write_row((mid, item.leg_id))
        if len(new_lines) >= 10_000:
            # Fresh statistics, or the planner keeps the empty-table plans until autovacuum.
            cursor.execute("ANALYZE funds_match, funds_statementline, funds_matchedleg")


def check_open_reconciliation(recon: Reconciliation, by) -> None:
    check_allowed(by, "funds.change_reconciliation", recon.fund.area_id)
    if not can_write(by, recon.fund.area_id):
        raise ValidationError(_("您只能处理本统筹地区的对账。"))
    if recon.status == Reconciliation.Status.DONE:
        raise ValidationError(_("该期间已完成对账。"))


def reconciliation_rematch(*, recon: Reconciliation, by) -> int:
    """Run the automatic matching again over what is still unmatched (e.g. after an
    adjusting entry was approved). Returns the number of new matches."""
    check_open_reconciliation(recon, by)
    with transaction.atomic():
        recon = Reconciliation.objects.select_for_update().get(pk=recon.pk)
        lines = list(recon.lines.filter(match__isnull=True))
        first, last = match_window(recon.year, recon.month)
        items = free_ledger(recon.fund, first, last)
        pairs = match_pairs(lines, items)
        matches_write(recon, [], pairs, Match.Kind.AUTO, by)
    return len(pairs)


def match_manual(*, recon: Reconciliation, line_ids: list[int], leg_ids: list[int], by) -> Match:
    """Match statement lines with ledger legs by hand: one to one, one to several or several
    to one; the lines' amounts and the legs' amounts must net to the same total."""
    check_open_reconciliation(recon, by)
    if not line_ids or not leg_ids:
        raise ValidationError(_("请至少选择一条对账单记录和一条账簿记录。"))
    with transaction.atomic():
        recon = Reconciliation.objects.select_for_update().get(pk=recon.pk)
        lines = list(recon.lines.filter(pk__in=line_ids, match__isnull=True))
        if len(lines) != len(set(line_ids)):
            raise ValidationError(_("所选对账单记录不存在或已匹配。"))
        legs = list(
            Leg.objects.select_for_update()
            .filter(pk__in=leg_ids, fund=recon.fund, subject_id=Subject.FISCAL)
            .exclude(matched_exists())
        )
        if len(legs) != len(set(leg_ids)):
            raise ValidationError(_("所选账簿记录不存在或已匹配。"))
        statement_total = sum((line.signed_amount for line in lines), Decimal("0"))
        ledger_total = sum((leg.amount for leg in legs), Decimal("0"))
        if statement_total != ledger_total:
            raise ValidationError(
                _("金额不一致：对账单合计 %(a)s，账簿合计 %(b)s。")
                % {"a": statement_total, "b": ledger_total}
            )
        match = Match.objects.create(reconciliation=recon, kind=Match.Kind.MANUAL, created_by=by)
        recon.lines.filter(pk__in=line_ids).update(match=match)
        MatchedLeg.objects.bulk_create([MatchedLeg(match=match, leg=leg) for leg in legs])
    return match


def match_undo(*, match: Match, by, request=None) -> None:
    """Undo a match (automatic or manual) so its lines and legs can be matched again.

    The match row goes, so its trace stays in an AuditEvent `match_undo` (DOMAIN §8): who
    undid it and from where, which match (kind, who made it, when) and exactly which
    statement lines and ledger legs it held.
    """
    check_open_reconciliation(match.reconciliation, by)
    with transaction.atomic():
        recon = Reconciliation.objects.select_for_update().get(pk=match.reconciliation_id)
        match = Match.objects.filter(pk=match.pk, reconciliation=recon).first()
        if match is None:
            raise ValidationError(_("该匹配已被取消。"))
        lines = list(match.lines.order_by("row"))
        legs = list(
            Leg.objects.filter(matched__match=match).select_related("transaction").order_by("id")
        )
        audit_event(
            by=by,
            action=AuditEvent.Action.MATCH_UNDO,
            obj=recon,
            request=request,
            match=match.pk,
            kind=match.kind,
            matched_by=match.created_by_id,
            matched_at=match.created_at.isoformat() if match.created_at else None,
            lines=[
                {
                    "id": line.pk,
                    "row": line.row,
                    "date": line.date.isoformat(),
                    "reference": line.reference,
                    "direction": line.direction,
                    "amount": str(line.amount),
                }
                for line in lines
            ],
            legs=[
                {
                    "id": leg.pk,
                    "transaction": leg.transaction_id,
                    "reference": leg.transaction.reference,
                    "booked_on": leg.booked_on.isoformat(),
                    "amount": str(leg.amount),
                }
                for leg in legs
            ],
        )
        match.lines.update(match=None)
        match.delete()


def line_adjust(*, line: StatementLine, counter: str, memo: str, by) -> Transaction:
    """Propose an adjusting entry for a statement line the ledger lacks (e.g. interest the
    bank credited to the fiscal account): it waits for approval like every manual entry."""
    recon = line.reconciliation
    check_open_reconciliation(recon, by)
    if line.match_id:
        raise ValidationError(_("该对账单记录已匹配。"))
    return entry_propose(
        fund=recon.fund,
        kind=Transaction.Kind.ADJUSTMENT,
        booked_on=line.date,
        account=Subject.FISCAL,
        counter=counter,
        amount=line.amount,
        direction=1 if line.direction == StatementLine.Direction.CREDIT else -1,
        memo=memo or line.memo or _("对账调整"),
        reference=line.reference,
        by=by,
    )
