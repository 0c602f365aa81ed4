"""Closing and reopening months, and the budget (a service module: every write checks `by`'s
role and region itself and runs in one transaction)."""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import month_end
from core.money import money
from core.scoping import can_write, check_allowed
from funds.ledger import drop_stale_snapshots, lock_period
from funds.models import Budget, Fund, Leg, Period, PeriodBalance, Subject, Transaction


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


def _books_start(fund: Fund) -> tuple[int, int] | None:
    """The fund's first month: the earliest month with a posted or pending voucher, or an
    earlier month already closed (a month closed before any entry); None: empty books."""
    first = (
        Transaction.objects.filter(
            fund=fund, status__in=[Transaction.Status.POSTED, Transaction.Status.PENDING]
        )
        .order_by("booked_on")
        .values_list("booked_on", flat=True)
        .first()
    )
    months = [(first.year, first.month)] if first else []
    closed = (
        Period.objects.filter(fund=fund, status=Period.Status.CLOSED)
        .order_by("year", "month")
        .values_list("year", "month")
        .first()
    )
    if closed:
        months.append(tuple(closed))
    return min(months) if months else None


def period_close(*, fund: Fund, year: int, month: int, by) -> Period:
    """Close a month: later entries dated in it are refused. Snapshots each subject's
    cumulative sum to the month's end so reports need not sum the whole history.

    Months close in order (按月顺序结账, as in any ledger): a month closes only once the
    month before it is closed, so the closed months are one unbroken run from the first month.
    The first month needs no predecessor: it is the earliest month holding a posted or pending
    voucher, or an earlier month already closed; a month on or before it — and any month of a
    fund with no entries yet — closes on its own (there is nothing before it to close).
    Empty months after the first must be closed too (the run has no gaps). The predecessor's
    row is locked, so an admin cannot reopen it while this close commits."""
    check_allowed(by, "funds.close_period", fund.area_id)
    if not can_write(by, fund.area_id):
        raise ValidationError(_("您只能为本统筹地区的基金结账。"))
    with transaction.atomic():
        period = lock_period(fund, date(year, month, 1))
        if period.status == Period.Status.CLOSED:
            raise ValidationError(_("该期间已结账。"))
        start = _books_start(fund)
        if start is not None and start < (year, month):
            prev_year, prev_month = _previous_month(year, month)
            if lock_period(fund, date(prev_year, prev_month, 1)).status != Period.Status.CLOSED:
                raise ValidationError(
                    _("%(py)d年%(pm)d月尚未结账：请按月份顺序结账，先结%(py)d年%(pm)d月。")
                    % {"py": prev_year, "pm": prev_month}
                )
        if Transaction.objects.filter(
            fund=fund,
            status=Transaction.Status.PENDING,
            booked_on__year=year,
            booked_on__month=month,
        ).exists():
            raise ValidationError(_("该期间还有待复核的凭证，请先复核或退回。"))
        period_snapshot(fund, year, month)
        period.status = Period.Status.CLOSED
        period.closed_by = by
        period.closed_at = timezone.now()
        period.reopen_reason = ""
        period._history_user = by
        period.save(update_fields=["status", "closed_by", "closed_at", "reopen_reason"])
    return period


def period_snapshot(fund: Fund, year: int, month: int) -> None:
    end = month_end(year, month)
    PeriodBalance.objects.filter(fund=fund, year=year, month=month).delete()
    sums = (
        Leg.objects.filter(fund=fund, booked_on__lte=end)
        .values("subject_id")
        .annotate(total=Sum("amount"))
    )
    PeriodBalance.objects.bulk_create(
        PeriodBalance(
            fund=fund, year=year, month=month, subject_id=r["subject_id"], cumulative=r["total"]
        )
        for r in sums
    )


def period_reopen(*, fund: Fund, year: int, month: int, by, reason: str) -> Period:
    """Admin only: reopen a closed month, with a reason (kept in the period's history).
    Snapshots of that month and later ones are dropped (they may change now).

    Months reopen in reverse order (the mirror of `period_close`): only the latest closed
    month reopens, so the closed months stay one unbroken run."""
    if not by.has_perm("funds.reopen_period"):
        raise ValidationError(_("只有管理员可以反结账。"))
    check_allowed(by, "funds.reopen_period", fund.area_id)
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("请填写反结账原因。")})
    with transaction.atomic():
        period = lock_period(fund, date(year, month, 1))
        if period.status != Period.Status.CLOSED:
            raise ValidationError(_("该期间未结账。"))
        next_year, next_month = (year, month + 1) if month < 12 else (year + 1, 1)
        if Period.objects.filter(
            fund=fund, year=next_year, month=next_month, status=Period.Status.CLOSED
        ).exists():
            raise ValidationError(
                _("%(ny)d年%(nm)d月已结账：请从最近结账的月份起逐月反结账。")
                % {"ny": next_year, "nm": next_month}
            )
        period.status = Period.Status.OPEN
        period.reopen_reason = reason.strip()
        period._history_user = by
        period._change_reason = reason.strip()
        period.save(update_fields=["status", "reopen_reason"])
        drop_stale_snapshots(fund, date(year, month, 1))
    return period


# --- Budget -----------------------------------------------------------------------------


def budget_set(*, fund: Fund, year: int, subject: str, amount: Decimal, by) -> Budget:
    """Set the year's budget of a subject (income or expense)."""
    check_allowed(by, "funds.change_budget", fund.area_id)
    if not can_write(by, fund.area_id):
        raise ValidationError(_("您只能编制本统筹地区的预算。"))
    amount = money(amount)
    if amount < 0:
        raise ValidationError({"amount": _("预算金额不能为负数。")})
    subj = Subject.objects.filter(code=subject).exclude(kind=Subject.Kind.ACCOUNT).first()
    if subj is None:
        raise ValidationError({"subject": _("请选择收入或支出科目。")})
    with transaction.atomic():
        budget = (
            Budget.objects.select_for_update().filter(fund=fund, year=year, subject=subj).first()
        )
        if budget is None:
            budget = Budget(fund=fund, year=year, subject=subj, amount=amount)
            budget._history_user = by
            budget.save()
        elif budget.amount != amount:
            budget.amount = amount
            budget._history_user = by
            budget.save(update_fields=["amount"])
    return budget


def budget_save(*, fund: Fund, year: int, amounts: dict[str, str], by) -> list[Budget]:
    """Save the budget page: `amounts` maps each income or expense subject's code to the text
    typed for it (thousands separators allowed). A blank amount sets nothing for a subject
    without a budget and zero for one that has one.

    Invariant: one transaction: one bad amount and no subject's budget changes.
    """
    check_allowed(by, "funds.change_budget", fund.area_id)
    current = set(Budget.objects.filter(fund=fund, year=year).values_list("subject_id", flat=True))
    saved = []
    with transaction.atomic():
        for code, text in amounts.items():
            raw = (text or "").strip().replace(",", "")
            if raw == "" and code not in current:
                continue
            try:
                amount = money(raw or "0")
            except ValueError:
                raise ValidationError(_("预算金额格式错误。")) from None
            saved.append(budget_set(fund=fund, year=year, subject=code, amount=amount, by=by))
    return saved
