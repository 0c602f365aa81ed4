"""Reconciliation of the fiscal special account with the finance department (P §23, DOMAIN §9.3).

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
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_event
from core.dates import month_end
from core.identifiers import normalize_identifier
from core.models import AuditEvent
from core.money import format_money, money
from core.scoping import can_write, check_allowed
from funds.models import (
    BalanceStatement,
    Fund,
    Leg,
    Match,
    MatchedLeg,
    Reconciliation,
    StatementLine,
    Subject,
    Transaction,
)
from funds.selectors import account_balance
from funds.services import entry_propose
from funds.statements import StatementError, statement_parse

DATE_WINDOW = 3  # days (DOMAIN §9.3)


# --- Matching ---------------------------------------------------------------------------


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


def _free_ledger(fund: Fund, first: date, last: date, *, exclude_reconciliation=None):
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


def _window(year: int, month: int) -> tuple[date, date]:
    return (
        date(year, month, 1) - timedelta(days=DATE_WINDOW),
        month_end(year, month) + timedelta(days=DATE_WINDOW),
    )


def _matched():
    """NOT EXISTS (an anti-join): `pk NOT IN (subquery)` plans quadratically in PostgreSQL."""
    return Exists(MatchedLeg.objects.filter(leg_id=OuterRef("pk")))


def statement_reconcile(
    *,
    fund: Fund,
    year: int,
    month: int,
    file_or_path,
    filename: str,
    by,
    dry_run: bool = False,
) -> dict:
    """Import the month's statement and match it automatically (DOMAIN §9.3).

    With any row error (or `dry_run`) nothing is written; the counts are what the valid rows
    would give. A new statement replaces the month's previous one and its matches, unless
    the reconciliation is done. Raises StatementError when the file or arguments are unusable.
    """
    if by is not None:  # None: the `reconcile` command (the system)
        check_allowed(by, "funds.add_reconciliation", fund.area_id)
    parsed = statement_parse(file_or_path, filename, year=year, month=month)
    recon = Reconciliation.objects.filter(fund=fund, year=year, month=month).first()
    if recon is not None and recon.status == Reconciliation.Status.DONE:
        raise StatementError(
            _("%(y)d年%(m)d月已完成对账，不能再导入对账单。") % {"y": year, "m": month}
        )
    first, last = _window(year, month)
    items = _free_ledger(fund, first, last, exclude_reconciliation=recon)
    pairs = match_pairs(parsed.lines, items)
    in_month = [i for i in items if i.date.year == year and i.date.month == month]
    taken = {item.leg_id for _line, item in pairs}
    result = {
        "lines": parsed.rows,
        "matched": len(pairs),
        "unmatched_statement": len(parsed.lines) - len(pairs),
        "unmatched_ledger": len([i for i in in_month if i.leg_id not in taken]),
        "errors": parsed.errors,
        "applied": False,
    }
    if parsed.errors or dry_run:
        return result
    with transaction.atomic():
        if recon is None:
            recon = Reconciliation(fund=fund, year=year, month=month)
        else:
            recon = Reconciliation.objects.select_for_update().get(pk=recon.pk)
            _clear(recon)
        recon.filename = filename[:200]
        recon.imported_by = by
        recon.imported_at = timezone.now()
        recon._history_user = by
        recon.save()
        _write(recon, parsed.lines, pairs, Match.Kind.AUTO, by)
    result["applied"] = True
    return result


def _clear(recon: Reconciliation) -> None:
    """Drop a statement's lines and matches (before a new statement of the month): plain
    DELETEs, as Django's cascade would load every row of a large statement first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM funds_matchedleg WHERE match_id IN"
            " (SELECT id FROM funds_match WHERE reconciliation_id = %s)",
            [recon.pk],
        )
        cursor.execute("DELETE FROM funds_statementline WHERE reconciliation_id = %s", [recon.pk])
        cursor.execute("DELETE FROM funds_match WHERE reconciliation_id = %s", [recon.pk])


def _write(recon, new_lines, pairs, kind, by) -> None:
    """Store matches for `pairs`; `new_lines` (ParsedLine) are created, StatementLine rows
    already stored are linked to their match."""
    if connection.vendor == "postgresql" and new_lines:
        _write_copy(recon, new_lines, pairs, kind, by)
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


def _write_copy(recon, new_lines, pairs, kind, by) -> None:
    """The same rows as `_write`, by COPY: a monthly statement of tens of thousands of lines
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


def _check_open(recon: Reconciliation, by) -> None:
    check_allowed(by, "funds.change_reconciliation", recon.fund.area_id)
    if not can_write(by, recon.fund.area_id):
        raise ValidationError(_("您只能处理本统筹地区的对账。"))
    if recon.status == Reconciliation.Status.DONE:
        raise ValidationError(_("该期间已完成对账。"))


def reconciliation_rematch(*, recon: Reconciliation, by) -> int:
    """Run the automatic matching again over what is still unmatched (e.g. after an
    adjusting entry was approved). Returns the number of new matches."""
    _check_open(recon, by)
    with transaction.atomic():
        recon = Reconciliation.objects.select_for_update().get(pk=recon.pk)
        lines = list(recon.lines.filter(match__isnull=True))
        first, last = _window(recon.year, recon.month)
        items = _free_ledger(recon.fund, first, last)
        pairs = match_pairs(lines, items)
        _write(recon, [], pairs, Match.Kind.AUTO, by)
    return len(pairs)


def match_manual(*, recon: Reconciliation, line_ids: list[int], leg_ids: list[int], by) -> Match:
    """Match statement lines with ledger legs by hand: one to one, one to several or several
    to one; the lines' amounts and the legs' amounts must net to the same total."""
    _check_open(recon, by)
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
            .exclude(_matched())
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
    _check_open(match.reconciliation, by)
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
    _check_open(recon, by)
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


# --- Balance-reconciliation statement (余额调节表) -----------------------------------------


@dataclass
class OutstandingItem:
    """An amount one side has recorded and the other not yet, as of the period end."""

    side: str  # BalanceStatement.Side
    date: date
    reference: str
    memo: str
    amount: Decimal  # > 0; the side says which way it adjusts

    def as_json(self) -> dict:
        return {
            "side": self.side,
            "date": self.date.isoformat(),
            "reference": self.reference,
            "memo": self.memo,
            "amount": str(self.amount),
        }


@dataclass
class BalanceReport:
    """The 余额调节表 of a reconciliation (see funds/models_reconciliation.py).

    `statement_balance` is the closing balance printed on finance's statement, entered by the
    accountant: it is the one figure the portal does not already know, so the agreement of
    the two adjusted balances is a real check (a line missing from the imported file, or a
    mistyped amount, shows as a difference). None until it is entered.
    """

    period_end: date
    book_balance: Decimal
    statement_balance: Decimal | None
    items: list[OutstandingItem]

    def of(self, side: str) -> list[OutstandingItem]:
        return [item for item in self.items if item.side == side]

    def total(self, side: str) -> Decimal:
        return sum((item.amount for item in self.of(side)), Decimal("0"))

    @property
    def sections(self) -> dict[str, dict]:
        """Per side: its label, items and total (for the templates)."""
        return {
            side: {"label": label, "items": self.of(side), "total": self.total(side)}
            for side, label in BalanceStatement.Side.choices
        }

    @property
    def adjusted_book(self) -> Decimal:
        S = BalanceStatement.Side
        return self.book_balance + self.total(S.BANK_CREDIT) - self.total(S.BANK_DEBIT)

    @property
    def adjusted_statement(self) -> Decimal | None:
        if self.statement_balance is None:
            return None
        S = BalanceStatement.Side
        return self.statement_balance + self.total(S.BOOK_DEBIT) - self.total(S.BOOK_CREDIT)

    @property
    def difference(self) -> Decimal | None:
        if self.statement_balance is None:
            return None
        return self.adjusted_book - self.adjusted_statement

    @property
    def agrees(self) -> bool:
        return self.difference == 0


def _incomplete(match_ref: str, end: date):
    """The match (named by `match_ref`) has a line or a leg after `end`: at the period end
    its items on the earlier side are still outstanding."""
    return Exists(
        StatementLine.objects.filter(match_id=OuterRef(match_ref), date__gt=end)
    ) | Exists(MatchedLeg.objects.filter(match_id=OuterRef(match_ref), leg__booked_on__gt=end))


def _reconciling_since(fund: Fund) -> date:
    """The first day of the fund's first reconciled month (items are counted from there)."""
    first = Reconciliation.objects.filter(fund=fund).order_by("year", "month").first()
    return date(first.year, first.month, 1) if first else date.max


def balance_report(
    recon: Reconciliation, statement_balance: Decimal | None = None
) -> BalanceReport:
    """The outstanding items at the period end and the two balances.

    An item is outstanding when it is dated on or before the period end and is not part of a
    match entirely dated on or before it: unmatched statement lines (bank side) and ledger
    legs of the fiscal special account (book side), and both halves of a match that straddles
    the period end (the ±3-day window). Items are counted from the first month this fund
    reconciled: earlier months were never compared, and items left at an earlier finish
    carry forward until they are matched.
    """
    start = _reconciling_since(recon.fund)
    end = month_end(recon.year, recon.month)
    S = BalanceStatement.Side
    items = []
    lines = (
        StatementLine.objects.filter(
            reconciliation__fund=recon.fund, date__gte=start, date__lte=end
        )
        .filter(Q(match__isnull=True) | _incomplete("match_id", end))
        .order_by("date", "row", "pk")
    )
    for line in lines:
        side = S.BANK_CREDIT if line.direction == StatementLine.Direction.CREDIT else S.BANK_DEBIT
        items.append(OutstandingItem(side, line.date, line.reference, line.memo, line.amount))
    legs = (
        Leg.objects.filter(
            fund=recon.fund, subject_id=Subject.FISCAL, booked_on__gte=start, booked_on__lte=end
        )
        .filter(Q(matched__isnull=True) | _incomplete("matched__match_id", end))
        .select_related("transaction")
        .order_by("booked_on", "pk")
    )
    for leg in legs:
        side = S.BOOK_DEBIT if leg.amount > 0 else S.BOOK_CREDIT
        items.append(
            OutstandingItem(
                side,
                leg.booked_on,
                leg.transaction.reference,
                leg.transaction.memo,
                abs(leg.amount),
            )
        )
    return BalanceReport(
        period_end=end,
        book_balance=money(account_balance(recon.fund, Subject.FISCAL, end)),  # SQLite: float sums
        statement_balance=statement_balance,
        items=items,
    )


def stored_report(statement: BalanceStatement) -> BalanceReport:
    """The report as it was signed (for the page and the PDF of a finished month)."""
    return BalanceReport(
        period_end=statement.period_end,
        book_balance=statement.book_balance,
        statement_balance=statement.statement_balance,
        items=[
            OutstandingItem(
                i["side"],
                date.fromisoformat(i["date"]),
                i["reference"],
                i["memo"],
                Decimal(i["amount"]),
            )
            for i in statement.items
        ],
    )


def reconciliation_done(
    *, recon: Reconciliation, by, statement_balance: Decimal | None = None
) -> Reconciliation:
    """Mark the month reconciled (who and when).

    With outstanding items (未达账项, either side) the month is finished only with a 余额调节表:
    `statement_balance` (the closing balance on finance's statement) is required, and the
    adjusted book balance must equal the adjusted statement balance; the statement is stored.
    Without outstanding items the month finishes as it is; a `statement_balance` given then
    must equal the book balance.
    """
    _check_open(recon, by)
    if statement_balance is not None:
        statement_balance = Decimal(statement_balance)
        if statement_balance != statement_balance.quantize(Decimal("0.01")):
            raise ValidationError(_("对账单余额最多两位小数。"))
    with transaction.atomic():
        recon = Reconciliation.objects.select_for_update().get(pk=recon.pk)
        if recon.status == Reconciliation.Status.DONE:
            raise ValidationError(_("该期间已完成对账。"))
        report = balance_report(recon, statement_balance)
        if report.items and statement_balance is None:
            raise ValidationError(
                _("存在未达账项，请填写对账单期末余额，编制余额调节表后再完成对账。")
            )
        if statement_balance is not None and not report.agrees:
            raise ValidationError(
                _(
                    "余额调节表不平：调节后账簿余额 %(book)s，调节后对账单余额 %(bank)s，"
                    "相差 %(diff)s。请核对对账单余额和未达账项。"
                )
                % {
                    "book": format_money(report.adjusted_book),
                    "bank": format_money(report.adjusted_statement),
                    "diff": format_money(report.difference),
                }
            )
        if statement_balance is not None:
            BalanceStatement.objects.create(
                reconciliation=recon,
                period_end=report.period_end,
                book_balance=report.book_balance,
                statement_balance=statement_balance,
                adjusted_balance=report.adjusted_book,
                items=[item.as_json() for item in report.items],
                created_by=by,
            )
        recon.status = Reconciliation.Status.DONE
        recon.done_by = by
        recon.done_at = timezone.now()
        recon._history_user = by
        recon.save(update_fields=["status", "done_by", "done_at"])
    return recon


MATCHES_SHOWN = 300


def reconciliation_sides(recon: Reconciliation) -> dict:
    """Both sides' unmatched items and the matches (manual first, then the latest automatic
    ones, at most MATCHES_SHOWN) for the reconciliation page."""
    first, last = date(recon.year, recon.month, 1), month_end(recon.year, recon.month)
    wide_first, wide_last = _window(recon.year, recon.month)
    # Entries of earlier reconciled months still unmatched (未达账项 carried forward) are
    # listed too, so they can be matched by hand with this month's statement lines.
    wide_first = min(wide_first, _reconciling_since(recon.fund))
    unmatched_lines = list(recon.lines.filter(match__isnull=True).order_by("row"))
    ledger = list(
        Leg.objects.filter(
            fund=recon.fund,
            subject_id=Subject.FISCAL,
            booked_on__gte=wide_first,
            booked_on__lte=wide_last,
        )
        .exclude(_matched())
        .select_related("transaction")
        .order_by("booked_on", "pk")
    )
    shown = list(
        recon.matches.select_related("created_by").order_by("-kind", "-pk")[:MATCHES_SHOWN]
    )  # "manual" sorts after "auto": descending puts manual matches first
    shown_ids = [m.pk for m in shown]
    lines_of = defaultdict(list)
    for line in recon.lines.filter(match_id__in=shown_ids).order_by("row"):
        lines_of[line.match_id].append(line)
    legs_of = defaultdict(list)
    for ml in MatchedLeg.objects.filter(match_id__in=shown_ids).select_related("leg__transaction"):
        legs_of[ml.match_id].append(ml.leg)
    counts = recon.lines.aggregate(
        total=Count("pk"),
        matched=Count("pk", filter=Q(match__isnull=False)),
        credit=Sum("amount", filter=Q(direction=StatementLine.Direction.CREDIT)),
        debit=Sum("amount", filter=Q(direction=StatementLine.Direction.DEBIT)),
    )
    return {
        "unmatched_lines": unmatched_lines,
        "unmatched_legs": [leg for leg in ledger if first <= leg.booked_on <= last]
        + [leg for leg in ledger if not first <= leg.booked_on <= last],
        "matches": [
            {
                "match": m,
                "lines": lines_of[m.pk],
                "legs": legs_of[m.pk],
                "amount": sum((leg.amount for leg in legs_of[m.pk]), Decimal("0")),
            }
            for m in shown
        ],
        "match_count": recon.matches.count(),
        "line_count": counts["total"],
        "matched_count": counts["matched"],
        "totals": {"credit": counts["credit"], "debit": counts["debit"]},
        "period_first": first,
        "period_last": last,
    }
