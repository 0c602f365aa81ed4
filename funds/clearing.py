"""Clearing one-stop assistance with institutions (清算, DOMAIN §10): compute, approve, pay.

Invariants kept here:
- each settlement row is cleared exactly once: a clearing takes the area's settlements with
  `maf_pay ≠ 0` up to the end of its month that no clearing holds yet, and the settlement as
  primary key of `ClearedSettlement` makes the database refuse a second hold; computations of
  one area serialize on the fund's row, so two clerks never take the same rows;
- a draft holds its settlements; recomputing it releases and retakes them in one
  transaction; an approved or paid clearing is never recomputed;
- three different people: the one who computed (or the shell) ≠ the approver ≠ the payer,
  whatever roles each holds (DOMAIN §8 segregation of duties);
- paying posts once per payee and visit type (key `clearing:{area}:{YYYY-MM}:{payee}:{kind}`),
  in an open period, in the same transaction as the status change.

The computation is set-based (one GROUP BY over the month's settlements, one INSERT … SELECT
for the holds), so its cost does not grow with Python loops over rows. On PostgreSQL the
eligible rows are first staged in a temporary table by one scan (`_stage`: CREATE TABLE AS
may scan in parallel, INSERT … SELECT never does); the GROUP BY and the holds read the stage.
A draft is recomputed by the system when a medical-type re-mapping re-files any of its
settlements (`funds.clearing_refile`).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.institutions import institution_region
from core.choices import VisitType
from core.dates import CHINA_TZ, month_end, shanghai_today
from core.models import Region
from core.money import money
from core.periods import split_period
from core.scoping import can_write
from funds import ledger
from funds.models import Fund, Subject, Transaction
from funds.models_clearing import CROSS_AREA, ClearedSettlement, Clearing, ClearingLine
from funds.services import fund_for_area

ZERO = Decimal("0.00")
POSTING_SUBJECTS = {"inpatient": Subject.INPATIENT, "outpatient": Subject.OUTPATIENT}


@dataclass
class ClearingResult:
    """What a computation took (the §10 command prints it)."""

    area: str
    period: str
    settlements: int = 0
    reversals: int = 0
    payees: int = 0
    inpatient: Decimal = ZERO
    outpatient: Decimal = ZERO
    total: Decimal = ZERO
    cross_area: Decimal = ZERO
    applied: bool = False
    clearing: Clearing | None = None
    lines: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """The §10 JSON, keys in the contract's order, amounts as 2-decimal strings."""
        return {
            "area": self.area,
            "period": self.period,
            "settlements": self.settlements,
            "reversals": self.reversals,
            "payees": self.payees,
            "inpatient": f"{money(self.inpatient):.2f}",
            "outpatient": f"{money(self.outpatient):.2f}",
            "total": f"{money(self.total):.2f}",
            "cross_area": f"{money(self.cross_area):.2f}",
            "applied": self.applied,
        }


# --- Small rules ------------------------------------------------------------------------


def parse_period(text: str) -> tuple[int, int]:
    """`YYYY-MM` (ASCII digits, month 01–12), not after the current month in Shanghai."""
    parts = split_period(text, month_required=True, first_year=1)
    if parts is None:
        raise ValidationError(_("清算期间应为 YYYY-MM：%(period)s") % {"period": text})
    year, month = parts
    today = shanghai_today()
    if (year, month) > (today.year, today.month):
        raise ValidationError(_("清算期间 %(period)s 尚未到来，不能清算。") % {"period": text})
    return year, month


def coordination_area(code: str) -> Region:
    """The city-level region of `code`; anything else is refused."""
    region = Region.objects.filter(code=code or "").first()
    if region is None or region.level != Region.Level.CITY:
        raise ValidationError(_("%(code)s 不是统筹地区（盟市）的区划代码。") % {"code": code})
    return region


def _month_end_moment(year: int, month: int) -> datetime:
    """The first moment after month M in Shanghai: `setl_time` dates ≤ M's last day."""
    after = month_end(year, month) + timedelta(days=1)
    return datetime(after.year, after.month, after.day, tzinfo=CHINA_TZ)


def _check_role(by, perm: str, area: Region, message: str) -> None:
    if not by.has_perm(perm) or not can_write(by, area.code):
        raise ValidationError(message)


# --- Computing a draft ------------------------------------------------------------------


def _eligible(area: Region, year: int, month: int):
    """The area's settlements to clear up to the end of the month that no clearing holds."""
    from monitoring.models import Settlement

    # A settlement is settled on or after its end date, so none of a later year is due yet:
    # the year bound lets PostgreSQL skip the partitions of later years (`monitoring.partitions`).
    return Settlement.objects.filter(
        insu_admdvs__in=area.subtree_codes(),
        setl_time__lt=_month_end_moment(year, month),
        year__lte=year,
    ).filter(
        ~Q(maf_pay=0),
        ~Exists(ClearedSettlement.objects.filter(settlement_id=OuterRef("pk"))),
    )


def _sum(expression, condition: Q | None = None):
    return Coalesce(
        Sum(expression, filter=condition),
        Value(ZERO),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def _institution_totals(eligible) -> list[dict]:
    """One GROUP BY: per institution, counts and sums (inpatient vs chronic + general).
    Visit types are those the import stored on each row (`Settlement.visit_type`)."""
    return list(
        eligible.values("fixmedins_code")
        .annotate(
            settlements=Count("id"),
            reversals=Count("id", filter=Q(refd_setl_flag=True)),
            name=Max("fixmedins_name"),
            medfee_sumamt=_sum("medfee_sumamt"),
            inpatient=_sum("maf_pay", Q(visit_type=VisitType.INPATIENT)),
            # chronic + general outpatient: everything that is not inpatient (§9.2)
            outpatient=_sum("maf_pay", ~Q(visit_type=VisitType.INPATIENT)),
        )
        .order_by("fixmedins_code")
    )


def _build_lines(area: Region, totals: list[dict]) -> list[ClearingLine]:
    """Lines per institution; institutions outside the area go to the cross-area payee."""
    from claims.models import Institution

    register = {
        i.code: i
        for i in Institution.objects.filter(code__in=[t["fixmedins_code"] for t in totals])
    }
    lines = []
    for t in totals:
        code = t["fixmedins_code"]
        known = register.get(code)
        region = institution_region(code) or (known.admdvs if known else None)
        outside = region is not None and not region.startswith(area.prefix)
        lines.append(
            ClearingLine(
                institution_code=code,
                institution_name=(known.name if known else t["name"]) or code,
                payee=CROSS_AREA if outside else code,
                settlements=t["settlements"],
                reversals=t["reversals"],
                medfee_sumamt=money(t["medfee_sumamt"]),
                inpatient=money(t["inpatient"]),
                outpatient=money(t["outpatient"]),
                net=money(t["inpatient"] + t["outpatient"]),
            )
        )
    return lines


# PostgreSQL: the eligible rows' columns the clearing needs, staged in ONE scan (see _stage).
STAGE = "funds_clearing_stage"
STAGE_COLUMNS = (
    "id",
    "fixmedins_code",
    "fixmedins_name",
    "visit_type",
    "maf_pay",
    "medfee_sumamt",
    "refd_setl_flag",
)
TOTAL_KEYS = ("fixmedins_code", "settlements", "reversals", "name", "medfee_sumamt")


def _stage(eligible) -> None:
    """Copy the eligible rows into a temporary table in one scan of the settlements.

    `CREATE TABLE … AS` may run its SELECT with parallel workers, an `INSERT … SELECT` never
    does: the serial scan under the holds' insert cost as much as the insert itself. The
    totals (a GROUP BY) and the holds then read the small stage, not the settlements again.
    The stage lives until the transaction ends (ON COMMIT DROP; a rollback drops it too)."""
    sql, params = eligible.order_by().values(*STAGE_COLUMNS).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cursor.execute(f"CREATE TEMP TABLE {STAGE} ON COMMIT DROP AS {sql}", params)


def _staged_totals() -> list[dict]:
    """`_institution_totals` over the stage (the same sums, one GROUP BY of the month's rows)."""
    inpatient = VisitType.INPATIENT
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT fixmedins_code, COUNT(*), COUNT(*) FILTER (WHERE refd_setl_flag), "
            "MAX(fixmedins_name), COALESCE(SUM(medfee_sumamt), 0), "
            "COALESCE(SUM(maf_pay) FILTER (WHERE visit_type = %s), 0), "
            "COALESCE(SUM(maf_pay) FILTER (WHERE visit_type <> %s), 0) "
            f"FROM {STAGE} GROUP BY fixmedins_code ORDER BY fixmedins_code",
            [inpatient, inpatient],
        )
        keys = (*TOTAL_KEYS, "inpatient", "outpatient")
        return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def _hold(clearing: Clearing, eligible) -> int:
    """Write the holds of every eligible settlement, each on its institution's line, in one
    INSERT … SELECT (a hash join on the code: one pass, no lookup per row)."""
    held, lines = ClearedSettlement._meta.db_table, ClearingLine._meta.db_table
    if connection.vendor == "postgresql":
        # From the stage, in settlement order (the unique index is appended to, not searched
        # page by page). The lines were inserted in this transaction: no statistics know
        # them, so they are passed as arrays (estimated 100 rows), the hashed side of the join.
        codes, ids = zip(*clearing.lines.values_list("institution_code", "pk"), strict=True)
        sql = (
            f"INSERT INTO {held} (settlement_id, line_id, visit_type) "
            f"SELECT s.id, l.id, s.visit_type FROM {STAGE} s "
            "JOIN unnest(%s::text[], %s::bigint[]) AS l(code, id) ON l.code = s.fixmedins_code "
            "ORDER BY s.id"
        )
        params = [list(codes), list(ids)]
    else:
        rows = eligible.annotate(
            s_id=F("pk"), s_code=F("fixmedins_code"), s_visit=F("visit_type")
        ).values("s_id", "s_code", "s_visit")
        select, params = rows.order_by().query.sql_with_params()
        sql = (
            f"INSERT INTO {held} (settlement_id, line_id, visit_type) "
            f"SELECT s.s_id, l.id, s.s_visit FROM ({select}) s "
            f"JOIN {lines} l ON l.clearing_id = %s AND l.institution_code = s.s_code"
        )
        params = [*params, clearing.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _register_institutions(lines: list[ClearingLine], by) -> None:
    """§8: the register is filled at import; codes it still lacks (rows imported before that,
    or written by other means) are added here the same way. Admins' edits are kept."""
    from claims.institutions import register_codes

    names = {line.institution_code: line.institution_name for line in lines}
    register_codes(names, by=by, reason=_("清算时由结算明细登记"))


def _totals(result: ClearingResult, lines: list[ClearingLine]) -> None:
    result.settlements = sum(line.settlements for line in lines)
    result.reversals = sum(line.reversals for line in lines)
    result.payees = len({line.payee for line in lines})
    result.inpatient = sum((line.inpatient for line in lines), ZERO)
    result.outpatient = sum((line.outpatient for line in lines), ZERO)
    result.total = result.inpatient + result.outpatient
    result.cross_area = sum((line.net for line in lines if line.is_cross_area), ZERO)
    result.lines = lines


def _release(draft: Clearing) -> None:
    """Drop a draft's holds and lines (set-based deletes): its settlements are free again."""
    ClearedSettlement.objects.filter(line__clearing=draft).delete()
    ClearingLine.objects.filter(clearing=draft).delete()


def _save_draft(draft, fund, year, month, result, by, redo=None) -> Clearing:
    """Write the draft's totals. `redo`: (maker, reason) of a recomputation by the system on
    the maker's behalf (the maker stays, the history row says why)."""
    draft = draft or Clearing(fund=fund, year=year, month=month)
    for name in ("settlements", "reversals", "payees", "inpatient", "outpatient", "total"):
        setattr(draft, name, getattr(result, name))
    draft.cross_area = result.cross_area
    draft.medfee_sumamt = sum((line.medfee_sumamt for line in result.lines), ZERO)
    draft.computed_by = redo[0] if redo else by
    if redo:
        draft._change_reason = redo[1]
    draft.computed_at = timezone.now()
    draft._history_user = by
    draft.save()
    return draft


def clearing_compute(*, area_code: str, period: str, by=None, dry_run: bool = False):
    """Compute the clearing of an area and month as a draft (DOMAIN §10).

    `by` None is the shell (the `clear_settlements` command). Refused (ValidationError):
    not a coordination area, a malformed or future period, an approved or paid clearing of
    that month, a user without the role or outside the area. Nothing to clear: no draft
    (an existing draft is removed). `dry_run` computes the same and writes nothing.
    """
    area = coordination_area(area_code)
    year, month = parse_period(period)
    if by is not None:
        _check_role(by, "funds.compute_clearing", area, _("您不能计算本统筹地区的清算单。"))
    result = ClearingResult(area=area.code, period=f"{year:04d}-{month:02d}")
    with transaction.atomic():
        _compute_locked(result, area, year, month, by)
        if dry_run:
            transaction.set_rollback(True)  # computed exactly as for real, then undone
            result.clearing = None
    result.applied = result.clearing is not None
    return result


def _compute_locked(result: ClearingResult, area: Region, year: int, month: int, by, redo=None):
    # Computations of one area serialize on its fund row: no two take the same settlements.
    fund = Fund.objects.select_for_update().get(pk=fund_for_area(area.code).pk)
    draft = Clearing.objects.select_for_update().filter(fund=fund, year=year, month=month)
    draft = draft.first()
    if draft is not None and draft.status != Clearing.Status.DRAFT:
        raise ValidationError(
            _("%(period)s 的清算单%(status)s，不能重新计算。")
            % {"period": result.period, "status": draft.get_status_display()}
        )
    if draft is not None:
        _release(draft)
    eligible = _eligible(area, year, month)
    if connection.vendor == "postgresql":
        _stage(eligible)
        totals = _staged_totals()
    else:
        totals = _institution_totals(eligible)
    lines = _build_lines(area, totals)
    _totals(result, lines)
    if not lines:
        if draft is not None:  # §10: a month with nothing to clear has no draft
            draft._history_user = by
            draft.delete()
        return
    result.clearing = _save_draft(draft, fund, year, month, result, by, redo)
    for line in lines:
        line.clearing = result.clearing
    ClearingLine.objects.bulk_create(lines)
    held = _hold(result.clearing, eligible)
    if held != result.settlements:  # pragma: no cover - the fund lock rules this out
        raise RuntimeError(f"held {held} settlements, counted {result.settlements}")
    _register_institutions(lines, by)


# --- Approving and paying ---------------------------------------------------------------


def _locked(clearing: Clearing) -> Clearing:
    return Clearing.objects.select_for_update().select_related("fund__area").get(pk=clearing.pk)


def clearing_approve(*, clearing: Clearing, by) -> Clearing:
    """Draft → approved by a second person (maker-checker: not the one who computed it).
    Approving changes no line and no hold."""
    area = clearing.fund.area
    _check_role(by, "funds.approve_clearing", area, _("您不能审核本统筹地区的清算单。"))
    with transaction.atomic():
        clearing = _locked(clearing)
        if clearing.status != Clearing.Status.DRAFT:
            raise ValidationError(_("只能审核草稿状态的清算单。"))
        if clearing.computed_by_id == by.id:
            raise ValidationError(_("审核人不能审核本人计算的清算单。"))
        clearing.status = Clearing.Status.APPROVED
        clearing.approved_by = by
        clearing.approved_at = timezone.now()
        clearing._history_user = by
        clearing.save(update_fields=["status", "approved_by", "approved_at"])
    return clearing


def clearing_postings(clearing: Clearing) -> list[tuple[str, str, Decimal]]:
    """(payee, kind, amount) to post: per payee and visit type, non-zero sums only."""
    sums = (
        clearing.lines.values("payee")
        .annotate(inpatient=Sum("inpatient"), outpatient=Sum("outpatient"))
        .order_by("payee")
    )
    postings = []
    for row in sums:
        for kind in ("inpatient", "outpatient"):
            if money(row[kind]) != 0:
                postings.append((row["payee"], kind, money(row[kind])))
    return postings


def _post_once(*, clearing: Clearing, payee: str, kind: str, amount: Decimal, by, day: date):
    """Debit the benefit subject, credit the expense account (negative: the reverse), once
    per key; a retry finds the voucher already posted."""
    key = f"clearing:{clearing.fund.area_id}:{clearing.period}:{payee}:{kind}"
    existing = _existing(key, kind, amount)
    if existing is not None:
        return existing
    subject = POSTING_SUBJECTS[kind]
    payee_name = _("异地就医清算") if payee == CROSS_AREA else payee
    memo = _("一站式结算清算 %(period)s %(payee)s") % {
        "period": clearing.period,
        "payee": payee_name,
    }
    try:
        with transaction.atomic():
            return ledger.post(
                fund=clearing.fund,
                booked_on=day,
                kind=Transaction.Kind.BENEFIT,
                memo=memo,
                legs=[(subject, amount), (Subject.EXPENSE_ACCOUNT, -amount)],
                by=by,
                reference=clearing.payment_reference,
                key=key,
                visit_type=VisitType.INPATIENT if kind == "inpatient" else "",
            )
    except IntegrityError:
        existing = _existing(key, kind, amount)
        if existing is None:
            raise
        return existing


def _post_all(clearing: Clearing, postings, *, by, day: date) -> None:
    """Every posting of a payment, once per key: the keys already posted (a retry) are
    checked one by one (same amount, or refused); the rest are written in one go (500
    payees: one statement per table instead of a thousand savepoints)."""
    keys = {
        f"clearing:{clearing.fund.area_id}:{clearing.period}:{payee}:{kind}": (payee, kind, amount)
        for payee, kind, amount in postings
    }
    posted = set(Transaction.objects.filter(key__in=keys).values_list("key", flat=True))
    vouchers = []
    for key, (payee, kind, amount) in keys.items():
        if key in posted:
            _existing(key, kind, amount)
            continue
        payee_name = _("异地就医清算") if payee == CROSS_AREA else payee
        memo = _("一站式结算清算 %(period)s %(payee)s") % {
            "period": clearing.period,
            "payee": payee_name,
        }
        subject = POSTING_SUBJECTS[kind]
        vouchers.append(
            {
                "memo": memo,
                "legs": [(subject, amount), (Subject.EXPENSE_ACCOUNT, -amount)],
                "key": key,
                "reference": clearing.payment_reference,
                "visit_type": VisitType.INPATIENT if kind == "inpatient" else "",
            }
        )
    if vouchers:
        ledger.post_many(
            fund=clearing.fund,
            booked_on=day,
            kind=Transaction.Kind.BENEFIT,
            by=by,
            vouchers=vouchers,
        )


def _existing(key: str, kind: str, amount: Decimal) -> Transaction | None:
    return ledger.existing_posting(key=key, subject=POSTING_SUBJECTS[kind], amount=amount)


def clearing_pay(*, clearing: Clearing, by, paid_on: date, reference: str = "") -> Clearing:
    """Approved → paid by the fund accountant, a third person (neither the one who computed
    nor the approver). Posts per payee and visit type in an open period; a retry of a paid
    clearing posts nothing again."""
    area = clearing.fund.area
    _check_role(by, "funds.pay_clearing", area, _("您不能登记本统筹地区的清算支付。"))
    if paid_on > shanghai_today():
        raise ValidationError({"paid_on": _("支付日期不能晚于今天。")})
    with transaction.atomic():
        clearing = _locked(clearing)
        if by.id in (clearing.computed_by_id, clearing.approved_by_id):
            raise ValidationError(_("支付登记人不能是清算单的计算人或审核人。"))
        if clearing.status == Clearing.Status.PAID:
            return clearing
        if clearing.status != Clearing.Status.APPROVED:
            raise ValidationError(_("只能为已审核的清算单登记支付。"))
        clearing.payment_reference = (reference or "").strip()[:40]
        _post_all(clearing, clearing_postings(clearing), by=by, day=paid_on)
        clearing.status = Clearing.Status.PAID
        clearing.paid_by = by
        clearing.paid_on = paid_on
        clearing._history_user = by
        clearing.save(update_fields=["status", "paid_by", "paid_on", "payment_reference"])
    return clearing


# --- Reading (pages, PDF, export) -------------------------------------------------------


@dataclass
class PayeeGroup:
    """The lines of one payee: an institution, or every institution cleared cross-area."""

    payee: str
    name: str
    lines: list
    settlements: int = 0
    reversals: int = 0
    medfee_sumamt: Decimal = ZERO
    inpatient: Decimal = ZERO
    outpatient: Decimal = ZERO
    net: Decimal = ZERO

    @property
    def is_cross_area(self) -> bool:
        return self.payee == CROSS_AREA

    @property
    def amount(self) -> Decimal:
        """What changes hands, whichever way (the PDF's 人民币大写)."""
        return abs(self.net)

    @property
    def recovers(self) -> bool:
        """A negative net is owed by the institution (应扣回)."""
        return self.net < 0


def clearing_payees(clearing: Clearing) -> list[PayeeGroup]:
    """The clearing's lines grouped by payee, institutions first, the cross-area payee last."""
    groups: dict[str, PayeeGroup] = {}
    for line in clearing.lines.order_by("institution_code"):
        name = _("异地就医清算") if line.is_cross_area else line.institution_name
        group = groups.setdefault(line.payee, PayeeGroup(line.payee, name, []))
        group.lines.append(line)
        for attr in ("settlements", "reversals", "medfee_sumamt", "inpatient", "outpatient"):
            setattr(group, attr, getattr(group, attr) + getattr(line, attr))
        group.net += line.net
    return sorted(groups.values(), key=lambda g: (g.is_cross_area, g.payee))


def line_settlements(line: ClearingLine):
    """The settlement rows a line holds (drill-down and export), in settlement order."""
    from monitoring.models import Settlement

    return Settlement.objects.filter(cleared__line=line).order_by("setl_time", "setl_id")
