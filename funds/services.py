"""Writes on the fund's books: automatic benefit postings, reversals and manual entries
(maker-checker). Legs are written by `funds.ledger` (the one writer); closing months and the
budget are `funds.periods`.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import shanghai_today
from core.models import Region
from core.money import money
from core.scoping import can_write, check_allowed
from funds.ledger import check_open, drop_stale_snapshots, existing_posting, post, validate_legs
from funds.models import Fund, Leg, Subject, Transaction

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
            return post(
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
    validate_legs(legs)
    booked_on = booked_on or shanghai_today()
    try:
        with transaction.atomic():
            check_open(voucher.fund, booked_on)
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
    validate_legs(legs)
    with transaction.atomic():
        check_open(fund, booked_on)
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
        checked = validate_legs(
            [(line["subject"], Decimal(line["amount"])) for line in voucher.draft]
        )
        check_open(voucher.fund, voucher.booked_on)
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
        drop_stale_snapshots(voucher.fund, voucher.booked_on)
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
