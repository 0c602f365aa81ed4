"""The balance-reconciliation statement (余额调节表) and finishing a month's reconciliation
(P §23, DOMAIN §9.3): `balance_report` builds it, `reconciliation_done` (a service) stores it
when the month is finished, `stored_report` reads a stored one back."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import format_money, money
from funds.matching import check_open_reconciliation
from funds.models import (
    BalanceStatement,
    Fund,
    Leg,
    MatchedLeg,
    Reconciliation,
    StatementLine,
    Subject,
)
from funds.selectors import account_balance, month_end


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


def reconciling_since(fund: Fund) -> date:
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
    start = reconciling_since(recon.fund)
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
    check_open_reconciliation(recon, by)
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
