"""The ledger: the one writer of legs (a service module; every leg in the database is
written by `post` or `post_many` below, called by the posting services of `funds.services`,
`funds.clearing` and `funds.benefits`).

Invariants kept here (and, on PostgreSQL, re-checked by triggers of migration 0002):
- a posted voucher's legs sum to zero, each leg non-zero, on postable subjects;
- nothing posted is changed or deleted: a correction is a reversing voucher;
- no voucher is dated in a closed period (the period row is locked while posting, so a
  concurrent close either waits for the posting or the posting sees the period closed);
- an automatic posting happens once per business key (`existing_posting`), however often it
  is retried.

These functions check no role: their callers are services that have checked `by` already.

- `post(...)`: one voucher; `post_many(...)`: several vouchers of one fund and day in one go;
- `existing_posting(key=, subject=, amount=)`: the voucher already posted under a key;
- `validate_legs(legs)`, `check_open(fund, day)`, `lock_period(fund, day)`,
  `drop_stale_snapshots(fund, day)`: the checks and upkeep the writers share with the
  manual-entry and period services.
"""

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from core.money import money
from funds.models import Fund, Leg, Period, PeriodBalance, Subject, Transaction


def lock_period(fund: Fund, day: date) -> Period:
    period, _created = Period.objects.get_or_create(fund=fund, year=day.year, month=day.month)
    return Period.objects.select_for_update().get(pk=period.pk)


def check_open(fund: Fund, day: date) -> None:
    """Refuse a date in a closed period; holds the period's row lock until commit."""
    if lock_period(fund, day).status == Period.Status.CLOSED:
        raise ValidationError(
            _("%(year)d年%(month)d月已结账，不能再记入该期间；如需更正，请由管理员反结账。")
            % {"year": day.year, "month": day.month}
        )


def validate_legs(
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


def post(
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
    checked = validate_legs(legs)
    with transaction.atomic():
        check_open(fund, booked_on)
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
        drop_stale_snapshots(fund, booked_on)
    return voucher


def post_many(*, fund: Fund, booked_on: date, kind: str, by, vouchers: list[dict]) -> list:
    """Several vouchers of one fund and day in one go (a clearing's payment posts one per
    payee and visit type): the same checks as `post` (balanced legs of postable subjects,
    an open period), then set-based writes — the vouchers with their history, their legs.
    Each of `vouchers` holds memo, legs, key and optionally reference and visit_type."""
    from simple_history.utils import bulk_create_with_history

    codes = {code for v in vouchers for code, _a in v["legs"]}
    subjects = {s.code: s for s in Subject.objects.filter(code__in=codes)}
    checked = [validate_legs(v["legs"], subjects) for v in vouchers]
    with transaction.atomic():
        check_open(fund, booked_on)
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
        drop_stale_snapshots(fund, booked_on)
    return created


def drop_stale_snapshots(fund: Fund, day: date) -> None:
    """A posting dated before a later closed month (possible while an earlier month is still
    open) changes that month's cumulative sums: drop the snapshots, reports fall back."""
    PeriodBalance.objects.filter(fund=fund).filter(
        Q(year__gt=day.year) | Q(year=day.year, month__gte=day.month)
    ).delete()


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
