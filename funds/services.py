"""Writes on the fund's books. Every leg in the database is written by `_post` below.

Invariants kept here (and, on PostgreSQL, re-checked by triggers of migration 0002):
- a posted voucher's legs sum to zero, each leg non-zero, on postable subjects;
- nothing posted is changed or deleted: a correction is a reversing voucher;
- no voucher is dated in a closed period (the period row is locked while posting, so a
  concurrent close either waits for the posting or the posting sees the period closed);
- an automatic posting happens once per business key, however often it is retried.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import month_end, shanghai_today
from core.models import Region
from core.money import money
from core.scoping import can_write, check_allowed
from funds.models import Budget, Fund, Leg, Period, PeriodBalance, Subject, Transaction

BENEFIT_SUBJECTS = {
    "inpatient": Subject.INPATIENT,
    "outpatient": Subject.OUTPATIENT,
    "subsidy": Subject.SUBSIDY,
}


# --- Funds and periods ------------------------------------------------------------------


def fund_for_area(area_code: str) -> Fund:
    """The fund of the coordination area that `area_code` (a city or one of its districts)
    belongs to, created on first use."""
    region = Region.objects.select_related("parent").get(code=area_code)
    area = region.coordination_area
    if area is None:
        raise ValidationError(_("%(name)s不是统筹地区，没有医疗救助基金。") % {"name": region.name})
    fund, _created = Fund.objects.get_or_create(
        area=area, defaults={"name": _("%(name)s医疗救助基金") % {"name": area.name}}
    )
    return fund


def _lock_period(fund: Fund, day: date) -> Period:
    period, _created = Period.objects.get_or_create(fund=fund, year=day.year, month=day.month)
    return Period.objects.select_for_update().get(pk=period.pk)


def _check_open(fund: Fund, day: date) -> None:
    """Refuse a date in a closed period; holds the period's row lock until commit."""
    if _lock_period(fund, day).status == Period.Status.CLOSED:
        raise ValidationError(
            _("%(year)d年%(month)d月已结账，不能再记入该期间；如需更正，请由管理员反结账。")
            % {"year": day.year, "month": day.month}
        )


# --- The one writer of legs -------------------------------------------------------------


def _validate_legs(
    legs: list[tuple[str, Decimal]], subjects: dict | None = None
) -> list[tuple[Subject, Decimal]]:
    if len(legs) < 2:
        raise ValidationError(_("一张凭证至少要有两条分录。"))
    if subjects is None:
        subjects = {s.code: s for s in Subject.objects.filter(code__in=[c for c, _a in legs])}
    checked = []
    for code, amount in legs:
        subject = subjects.get(code)
        if subject is None or not subject.postable:
            raise ValidationError(_("科目 %(code)s 不存在或不是末级科目。") % {"code": code})
        amount = money(amount)
        if amount == 0:
            raise ValidationError(_("分录金额不能为零。"))
        checked.append((subject, amount))
    if sum(a for _s, a in checked) != 0:
        raise ValidationError(_("借贷不平衡：分录金额合计必须为零。"))
    return checked


def _post(
    *,
    fund: Fund,
    booked_on: date,
    kind: str,
    memo: str,
    legs: list[tuple[str, Decimal]],
    by,
    reference: str = "",
    key: str | None = None,
    category: str = "",
    visit_type: str = "",
    reverses: Transaction | None = None,
) -> Transaction:
    checked = _validate_legs(legs)
    with transaction.atomic():
        _check_open(fund, booked_on)
        voucher = Transaction(
            fund=fund,
            booked_on=booked_on,
            kind=kind,
            status=Transaction.Status.POSTED,
            memo=memo,
            reference=reference,
            key=key,
            category=category,
            visit_type=visit_type,
            reverses=reverses,
            created_by=by,
        )
        voucher._history_user = by
        voucher.save()
        Leg.objects.bulk_create(
            Leg(transaction=voucher, fund=fund, booked_on=booked_on, subject=s, amount=a)
            for s, a in checked
        )
        _drop_stale_snapshots(fund, booked_on)
    return voucher


def _post_many(*, fund: Fund, booked_on: date, kind: str, by, vouchers: list[dict]) -> list:
    """Several vouchers of one fund and day in one go (a clearing's payment posts one per
    payee and visit type): the same checks as `_post` (balanced legs of postable subjects,
    an open period), then set-based writes — the vouchers with their history, their legs.
    Each of `vouchers` holds memo, legs, key and optionally reference and visit_type."""
    from simple_history.utils import bulk_create_with_history

    codes = {code for v in vouchers for code, _a in v["legs"]}
    subjects = {s.code: s for s in Subject.objects.filter(code__in=codes)}
    checked = [_validate_legs(v["legs"], subjects) for v in vouchers]
    with transaction.atomic():
        _check_open(fund, booked_on)
        created = [
            Transaction(
                fund=fund,
                booked_on=booked_on,
                kind=kind,
                status=Transaction.Status.POSTED,
                memo=v["memo"],
                reference=v.get("reference", ""),
                key=v["key"],
                visit_type=v.get("visit_type", ""),
                created_by=by,
            )
            for v in vouchers
        ]
        created = bulk_create_with_history(created, Transaction, default_user=by)
        for voucher in created:
            voucher._loaded_status = voucher.status  # append-only from here, as after save()
        Leg.objects.bulk_create(
            Leg(transaction=voucher, fund=fund, booked_on=booked_on, subject=s, amount=a)
            for voucher, legs in zip(created, checked, strict=True)
            for s, a in legs
        )
        _drop_stale_snapshots(fund, booked_on)
    return created


def _drop_stale_snapshots(fund: Fund, day: date) -> None:
    """A posting dated before a later closed month (possible while an earlier month is still
    open) changes that month's cumulative sums: drop the snapshots, reports fall back."""
    PeriodBalance.objects.filter(fund=fund).filter(
        Q(year__gt=day.year) | Q(year=day.year, month__gte=day.month)
    ).delete()


# --- Automatic postings (called by claims and beneficiaries) ---------------------------


def benefit_post(
    *,
    key: str,
    area_code: str,
    kind: str,
    amount: Decimal,
    booked_on: date,
    memo: str,
    by,
    category: str = "",
    visit_type: str = "",
) -> Transaction:
    """Post a paid benefit: expense subject debit, expense account (支出户) credit.

    `kind` is "inpatient" (住院救助支出), "outpatient" (门诊救助支出) or "subsidy" (资助参保支出);
    `amount` > 0. Runs inside the caller's transaction (a savepoint), so the posting commits
    or rolls back with the payment. Idempotent by `key` (e.g. "claims.bill:12"): a retry
    returns the voucher already posted; the same key with another amount or kind is an error.
    A date in a closed period raises ValidationError.
    """
    if kind not in BENEFIT_SUBJECTS:
        raise ValueError(f"unknown benefit kind {kind!r}")
    amount = money(amount)
    if amount <= 0:
        raise ValidationError(_("待遇支出金额必须大于零。"))
    existing = _existing_benefit(key, kind, amount)
    if existing is not None:
        return existing
    fund = fund_for_area(area_code)
    try:
        with transaction.atomic():
            return _post(
                fund=fund,
                booked_on=booked_on,
                kind=Transaction.Kind.BENEFIT,
                memo=memo,
                legs=[(BENEFIT_SUBJECTS[kind], amount), (Subject.EXPENSE_ACCOUNT, -amount)],
                by=by,
                key=key,
                category=category,
                visit_type=visit_type,
            )
    except IntegrityError:
        # A concurrent retry with the same key committed first.
        existing = _existing_benefit(key, kind, amount)
        if existing is None:
            raise
        return existing


def _existing_benefit(key: str, kind: str, amount: Decimal) -> Transaction | None:
    return existing_posting(key=key, subject=BENEFIT_SUBJECTS[kind], amount=amount)


def existing_posting(*, key: str, subject: str, amount: Decimal) -> Transaction | None:
    """The voucher already posted under business `key`, or None; refused when it posted a
    different amount to `subject` (a retry must repeat the same posting, never another)."""
    voucher = Transaction.objects.filter(key=key).first()
    if voucher is None:
        return None
    posted = voucher.legs.filter(subject_id=subject).aggregate(s=Sum("amount"))
    if posted["s"] != amount:
        raise ValidationError(_("业务键 %(key)s 已记账，但金额或类型不同。") % {"key": key})
    return voucher


def benefit_reverse(*, key: str, by, memo: str, booked_on: date | None = None) -> Transaction:
    """Reverse the benefit posted under `key` (e.g. a payment returned). Idempotent: the
    reversal has key "<key>:reversal"; reversing twice returns the first reversal."""
    original = Transaction.objects.filter(key=key).first()
    if original is None:
        raise ValidationError(_("没有找到业务键为 %(key)s 的凭证。") % {"key": key})
    return transaction_reverse(voucher=original, by=by, memo=memo, booked_on=booked_on)


def transaction_reverse(
    *, voucher: Transaction, by, memo: str, booked_on: date | None = None
) -> Transaction:
    """Propose a reversing voucher: the original's legs negated, dated `booked_on` (default
    today). A reversal is a manual entry: it waits, pending, for a second person's approval
    (`entry_approve`, maker-checker, P §22) before it reaches the ledger.

    Idempotent: while a reversal of `voucher` is pending or posted, that one is returned; a
    rejected proposal releases the voucher (see `entry_reject`)."""
    check_allowed(by, "funds.add_transaction", voucher.fund.area_id)
    if voucher.status != Transaction.Status.POSTED:
        raise ValidationError(_("只能冲销已记账的凭证。"))
    if voucher.kind == Transaction.Kind.REVERSAL:
        raise ValidationError(_("冲销凭证不能再冲销，请重新记账。"))
    existing = Transaction.objects.filter(reverses=voucher).first()
    if existing is not None:
        return existing
    legs = [(leg.subject_id, -leg.amount) for leg in voucher.legs.all()]
    _validate_legs(legs)
    booked_on = booked_on or shanghai_today()
    try:
        with transaction.atomic():
            _check_open(voucher.fund, booked_on)
            reversal = Transaction(
                fund=voucher.fund,
                booked_on=booked_on,
                kind=Transaction.Kind.REVERSAL,
                status=Transaction.Status.PENDING,
                memo=(memo or _("冲销：%(memo)s") % {"memo": voucher.memo})[:200],
                reference=voucher.reference,
                draft=[{"subject": code, "amount": str(amount)} for code, amount in legs],
                key=f"{voucher.key}:reversal" if voucher.key else None,
                category=voucher.category,
                visit_type=voucher.visit_type,
                reverses=voucher,
                created_by=by,
            )
            reversal._history_user = by
            reversal.save()
            return reversal
    except IntegrityError:
        existing = Transaction.objects.filter(reverses=voucher).first()
        if existing is None:
            raise
        return existing


# --- Manual entries (maker-checker) -----------------------------------------------------

# For each manual kind: which subject kinds the counter subject may be, and whether the
# account is debited (+) or credited (−).
ENTRY_RULES = {
    Transaction.Kind.INCOME: (Subject.Kind.INCOME, +1),
    Transaction.Kind.INTEREST: (Subject.Kind.INCOME, +1),
    Transaction.Kind.TRANSFER: (Subject.Kind.ACCOUNT, +1),
    Transaction.Kind.SWEEP: (Subject.Kind.ACCOUNT, +1),
    Transaction.Kind.EXPENSE: (Subject.Kind.EXPENSE, -1),
}


def entry_legs(
    *, kind: str, account: str, counter: str, amount: Decimal, direction: int | None = None
) -> list[tuple[str, Decimal]]:
    """The two legs of a manual entry.

    income/interest: account +X, income subject −X; transfer/sweep: receiving account +X,
    paying account −X; expense: expense subject +X, account −X; adjustment: `direction` +1
    (money into the account) or −1, the counter subject taking the other side.
    """
    amount = money(amount)
    if amount <= 0:
        raise ValidationError(_("金额必须大于零。"))
    if kind == Transaction.Kind.ADJUSTMENT:
        sign = direction or 1
    else:
        sign = ENTRY_RULES[kind][1]
    return [(account, sign * amount), (counter, -sign * amount)]


def _check_entry_subjects(kind: str, account: str, counter: str) -> None:
    subjects = {s.code: s for s in Subject.objects.filter(code__in=[account, counter])}
    if account not in subjects or subjects[account].kind != Subject.Kind.ACCOUNT:
        raise ValidationError({"account": _("请选择银行账户（财政专户或支出户）。")})
    if counter not in subjects or not subjects[counter].postable:
        raise ValidationError({"counter": _("请选择末级科目。")})
    if account == counter:
        raise ValidationError({"counter": _("对方科目不能与账户相同。")})
    if kind == Transaction.Kind.SWEEP and (
        account != Subject.FISCAL or counter != Subject.EXPENSE_ACCOUNT
    ):
        raise ValidationError(_("利息缴存：由支出户转入财政专户（P 第二十四条）。"))
    if kind == Transaction.Kind.INTEREST and counter != Subject.INTEREST:
        raise ValidationError({"counter": _("利息收入应记入“利息收入”科目。")})
    if kind in ENTRY_RULES and subjects[counter].kind != ENTRY_RULES[kind][0]:
        raise ValidationError({"counter": _("对方科目与业务类型不符。")})


def entry_propose(
    *,
    fund: Fund,
    kind: str,
    booked_on: date,
    account: str,
    counter: str,
    amount: Decimal,
    memo: str,
    by,
    reference: str = "",
    direction: int | None = None,
    key: str | None = None,
) -> Transaction:
    """Record a manual entry, waiting for a second person's approval (maker-checker).
    `key` (optional) makes a scripted entry idempotent, like the automatic postings."""
    check_allowed(by, "funds.add_transaction", fund.area_id)
    if kind not in ENTRY_RULES and kind != Transaction.Kind.ADJUSTMENT:
        raise ValidationError(_("不支持的业务类型。"))
    if not can_write(by, fund.area_id):
        raise ValidationError(_("您只能为本统筹地区的基金记账。"))
    if not memo or not memo.strip():
        raise ValidationError({"memo": _("请填写摘要。")})
    _check_entry_subjects(kind, account, counter)
    legs = entry_legs(
        kind=kind, account=account, counter=counter, amount=amount, direction=direction
    )
    _validate_legs(legs)
    with transaction.atomic():
        _check_open(fund, booked_on)
        voucher = Transaction(
            fund=fund,
            booked_on=booked_on,
            kind=kind,
            status=Transaction.Status.PENDING,
            memo=memo.strip(),
            reference=reference.strip(),
            draft=[{"subject": code, "amount": str(a)} for code, a in legs],
            key=key,
            created_by=by,
        )
        voucher._history_user = by
        voucher.save()
    return voucher


def _lock_pending(voucher: Transaction) -> Transaction:
    locked = Transaction.objects.select_for_update().get(pk=voucher.pk)
    if locked.status != Transaction.Status.PENDING:
        raise ValidationError(_("该凭证已复核或已退回。"))
    return locked


def entry_approve(*, voucher: Transaction, by) -> Transaction:
    """Post a pending manual entry or reversal (maker-checker: the checker is not the maker,
    whatever roles either holds — the comparison is of persons, not roles)."""
    check_allowed(by, "funds.approve_transaction", voucher.fund.area_id)
    if voucher.created_by_id == by.id:
        raise ValidationError(_("复核人不能复核本人录入的凭证。"))
    if not can_write(by, voucher.fund.area_id):
        raise ValidationError(_("您只能复核本统筹地区的凭证。"))
    with transaction.atomic():
        voucher = _lock_pending(voucher)
        checked = _validate_legs(
            [(line["subject"], Decimal(line["amount"])) for line in voucher.draft]
        )
        _check_open(voucher.fund, voucher.booked_on)
        voucher.status = Transaction.Status.POSTED
        voucher.approved_by = by
        voucher.approved_at = timezone.now()
        voucher._history_user = by
        voucher.save(update_fields=["status", "approved_by", "approved_at"])
        Leg.objects.bulk_create(
            Leg(
                transaction=voucher,
                fund_id=voucher.fund_id,
                booked_on=voucher.booked_on,
                subject=s,
                amount=a,
            )
            for s, a in checked
        )
        _drop_stale_snapshots(voucher.fund, voucher.booked_on)
    return voucher


def entry_reject(*, voucher: Transaction, by, reason: str) -> Transaction:
    """Send a pending manual entry back; it never reaches the ledger. A rejected reversal
    lets go of the voucher it would have reversed (and of its key), so that one can be
    proposed for reversal again; the link stays in the history."""
    check_allowed(by, "funds.approve_transaction", voucher.fund.area_id)
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("请填写退回原因。")})
    if voucher.created_by_id == by.id:
        raise ValidationError(_("复核人不能复核本人录入的凭证。"))
    with transaction.atomic():
        voucher = _lock_pending(voucher)
        voucher.status = Transaction.Status.REJECTED
        voucher.approved_by = by
        voucher.approved_at = timezone.now()
        voucher.reject_reason = reason.strip()
        fields = ["status", "approved_by", "approved_at", "reject_reason"]
        if voucher.reverses_id is not None:
            voucher.reverses = None
            voucher.key = None
            fields += ["reverses", "key"]
        voucher._history_user = by
        voucher.save(update_fields=fields)
    return voucher


# --- Closing and reopening --------------------------------------------------------------


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
        period = _lock_period(fund, date(year, month, 1))
        if period.status == Period.Status.CLOSED:
            raise ValidationError(_("该期间已结账。"))
        start = _books_start(fund)
        if start is not None and start < (year, month):
            prev_year, prev_month = _previous_month(year, month)
            if _lock_period(fund, date(prev_year, prev_month, 1)).status != Period.Status.CLOSED:
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
        _snapshot(fund, year, month)
        period.status = Period.Status.CLOSED
        period.closed_by = by
        period.closed_at = timezone.now()
        period.reopen_reason = ""
        period._history_user = by
        period.save(update_fields=["status", "closed_by", "closed_at", "reopen_reason"])
    return period


def _snapshot(fund: Fund, year: int, month: int) -> None:
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
        period = _lock_period(fund, date(year, month, 1))
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
        _drop_stale_snapshots(fund, date(year, month, 1))
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
