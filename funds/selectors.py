"""Reads of the fund's books: balances and reports, always summed from legs.

A cumulative sum up to a day uses the latest snapshot of a closed month before it
(PeriodBalance, written at close) plus the legs after that month, so a report over years of
entries reads one month of legs and one snapshot row per subject.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import django_filters
from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from core.dates import month_end, shanghai_today
from core.scoping import scoped
from funds.models import Budget, Fund, Leg, PeriodBalance, Subject, Transaction

ZERO = Decimal("0.00")


def funds_for(user):
    return scoped(Fund.objects.select_related("area"), user)


def cumulative_sums(fund: Fund, day: date) -> dict[str, Decimal]:
    """Σ legs per subject code with booked_on ≤ day (snapshot + legs since)."""
    # Snapshots of months that end on or before `day`.
    year, month = day.year, day.month
    if day != month_end(year, month):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    snapshot = (
        PeriodBalance.objects.filter(fund=fund)
        .filter(Q(year__lt=year) | Q(year=year, month__lte=month))
        .order_by("-year", "-month")
        .values("year", "month")
        .first()
    )
    sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
    legs = Leg.objects.filter(fund=fund, booked_on__lte=day)
    if snapshot is not None:
        after = month_end(snapshot["year"], snapshot["month"])
        # A snapshot is only trusted when it still holds: services drop stale ones.
        for row in PeriodBalance.objects.filter(
            fund=fund, year=snapshot["year"], month=snapshot["month"]
        ).values("subject_id", "cumulative"):
            sums[row["subject_id"]] += row["cumulative"]
        legs = legs.filter(booked_on__gt=after)
    for row in legs.values("subject_id").annotate(total=Sum("amount")):
        sums[row["subject_id"]] += row["total"]
    return dict(sums)


def account_balance(fund: Fund, subject_code: str, day: date) -> Decimal:
    """Σ legs of one subject up to `day` (a bank account's balance; debit positive)."""
    return cumulative_sums(fund, day).get(subject_code, ZERO)


def period_sums(fund: Fund, start: date, end: date) -> dict[str, Decimal]:
    """Σ legs per subject with start ≤ booked_on ≤ end."""
    rows = (
        Leg.objects.filter(fund=fund, booked_on__gte=start, booked_on__lte=end)
        .values("subject_id")
        .annotate(total=Sum("amount"))
    )
    return {r["subject_id"]: r["total"] for r in rows}


@dataclass
class ReportLine:
    subject: Subject
    amount: Decimal  # income positive for income subjects, expense positive for expense
    budget: Decimal | None = None
    depth: int = 0
    ytd: Decimal = ZERO  # year to date, up to the report's end

    @property
    def ratio(self) -> Decimal | None:
        """Budget execution (执行率): year-to-date actual over the year's budget, in %."""
        if not self.budget:
            return None
        return (self.ytd / self.budget * 100).quantize(Decimal("0.1"))


@dataclass
class AccountLine:
    subject: Subject
    opening: Decimal
    debit: Decimal
    credit: Decimal
    closing: Decimal


@dataclass
class FundReport:
    fund: Fund
    start: date
    end: date
    title: str
    income: list[ReportLine] = field(default_factory=list)
    expense: list[ReportLine] = field(default_factory=list)
    accounts: list[AccountLine] = field(default_factory=list)
    income_total: Decimal = ZERO
    expense_total: Decimal = ZERO
    benefits: list[dict] = field(default_factory=list)
    benefit_columns: list[tuple[str, str]] = field(default_factory=list)
    benefit_total: Decimal = ZERO
    period_param: str = ""

    @property
    def surplus(self) -> Decimal:
        return self.income_total - self.expense_total

    @property
    def income_totals(self) -> "ReportLine":
        """The income total row: period, year to date, budget and execution (Σ top lines)."""
        return _total_line(self.income)

    @property
    def expense_totals(self) -> "ReportLine":
        return _total_line(self.expense)

    @property
    def surplus_ytd(self) -> Decimal:
        return self.income_totals.ytd - self.expense_totals.ytd

    @property
    def debit_total(self) -> Decimal:
        """Σ of the accounts' period income (debits); transfers between them count twice."""
        return sum((a.debit for a in self.accounts), ZERO)

    @property
    def credit_total(self) -> Decimal:
        return sum((a.credit for a in self.accounts), ZERO)

    @property
    def benefit_visit_columns(self) -> list[tuple[str, str]]:
        """The visit types, each shown twice: one-stop (cleared) and manual."""
        return self.benefit_columns[:-1]

    @property
    def benefit_onestop_totals(self) -> list[Decimal]:
        return [sum((b["onestop"][i] for b in self.benefits), ZERO) for i in range(3)]

    @property
    def benefit_manual_totals(self) -> list[Decimal]:
        return [sum((b["manual"][i] for b in self.benefits), ZERO) for i in range(3)]

    @property
    def benefit_subsidy_total(self) -> Decimal:
        return sum((b["subsidy"] for b in self.benefits), ZERO)

    @property
    def benefit_column_totals(self) -> list[Decimal]:
        """Σ of each column of the benefit breakdown (same order as `benefit_columns`)."""
        return [
            sum((b["cells"][i] for b in self.benefits), ZERO)
            for i in range(len(self.benefit_columns))
        ]

    @property
    def opening_total(self) -> Decimal:
        return sum((a.opening for a in self.accounts), ZERO)

    @property
    def closing_total(self) -> Decimal:
        return sum((a.closing for a in self.accounts), ZERO)


def _total_line(lines: list[ReportLine]) -> ReportLine:
    """Σ of the top-level lines (children are already inside their parent). The budget is
    None when no line has one; a line without a budget adds nothing to it."""
    top = [line for line in lines if line.depth == 0]
    budgets = [line.budget for line in top if line.budget is not None]
    return ReportLine(
        subject=None,
        amount=sum((line.amount for line in top), ZERO),
        budget=sum(budgets, ZERO) if budgets else None,
        ytd=sum((line.ytd for line in top), ZERO),
    )


def _report_lines(subjects, sums, sign, budgets, ytd) -> tuple[list[ReportLine], Decimal]:
    lines = []
    total = ZERO
    children = defaultdict(list)
    for s in subjects:
        if s.parent_id:
            children[s.parent_id].append(s)
    for s in subjects:
        if s.parent_id:
            continue
        if s.postable:
            amount = sign * sums.get(s.code, ZERO)
            lines.append(
                ReportLine(s, amount, budgets.get(s.code), ytd=sign * ytd.get(s.code, ZERO))
            )
            total += amount
        else:
            kids = [
                ReportLine(
                    c,
                    sign * sums.get(c.code, ZERO),
                    budgets.get(c.code),
                    depth=1,
                    ytd=sign * ytd.get(c.code, ZERO),
                )
                for c in children[s.code]
            ]
            subtotal = sum((k.amount for k in kids), ZERO)
            parent_budget = budgets.get(s.code)
            if parent_budget is None and any(k.budget is not None for k in kids):
                parent_budget = sum((k.budget or ZERO for k in kids), ZERO)
            lines.append(
                ReportLine(s, subtotal, parent_budget, ytd=sum((k.ytd for k in kids), ZERO))
            )
            lines.extend(kids)
            total += subtotal
    return lines, total


def fund_report(fund: Fund, start: date, end: date, title: str = "") -> FundReport:
    """Income and expense by subject and level, account balances, budget vs actual and
    benefit expense by beneficiary category and visit type, for [start, end]."""
    subjects = list(Subject.objects.select_related("parent").order_by("code"))
    sums = period_sums(fund, start, end)
    budgets = _budgets(fund, start, end)
    year_start = date(end.year, 1, 1)
    ytd = sums if start == year_start else period_sums(fund, year_start, end)
    report = FundReport(fund=fund, start=start, end=end, title=title)
    report.income, report.income_total = _report_lines(
        [s for s in subjects if s.kind == Subject.Kind.INCOME], sums, -1, budgets, ytd
    )
    report.expense, report.expense_total = _report_lines(
        [s for s in subjects if s.kind == Subject.Kind.EXPENSE], sums, 1, budgets, ytd
    )
    report.accounts = _account_lines(
        fund, [s for s in subjects if s.kind == Subject.Kind.ACCOUNT], start, end
    )
    report.benefits, report.benefit_columns = _benefit_rows(fund, start, end)
    report.benefit_total = sum((b["total"] for b in report.benefits), ZERO)
    return report


def _budgets(fund: Fund, start: date, end: date) -> dict[str, Decimal]:
    """The year's budget per subject; none for a report spanning two years."""
    if start.year != end.year:
        return {}
    rows = Budget.objects.filter(fund=fund, year=start.year).values("subject_id", "amount")
    return {b["subject_id"]: b["amount"] for b in rows}


def _account_lines(fund: Fund, accounts: list, start: date, end: date) -> list[AccountLine]:
    """Each bank account's opening balance, debits, credits and closing balance."""
    from datetime import timedelta

    opening = cumulative_sums(fund, start - timedelta(days=1))
    moves = (
        Leg.objects.filter(
            fund=fund,
            booked_on__gte=start,
            booked_on__lte=end,
            subject__kind=Subject.Kind.ACCOUNT,
        )
        .values("subject_id")
        .annotate(
            debit=Sum("amount", filter=Q(amount__gt=0)),
            credit=Sum("amount", filter=Q(amount__lt=0)),
        )
    )
    moves = {m["subject_id"]: m for m in moves}
    lines = []
    for s in accounts:
        m = moves.get(s.code, {})
        debit = m.get("debit") or ZERO
        credit = -(m.get("credit") or ZERO)
        o = opening.get(s.code, ZERO)
        lines.append(AccountLine(s, o, debit, credit, o + debit - credit))
    return lines


def _benefit_rows(fund: Fund, start: date, end: date) -> tuple[list[dict], list[tuple]]:
    """Benefit expense by category × visit type, one-stop (cleared) beside manual (§6, §10),
    and the columns (visit types, then 资助参保)."""
    from core.choices import Category, VisitType
    from funds.benefits import OTHER, UNCATEGORISED, VISIT_COLUMNS, benefit_table

    table = benefit_table(fund, start, end)
    labels = dict(Category.choices) | {
        OTHER: _("其他（结算时无有效救助身份）"),
        UNCATEGORISED: _("未分类"),
    }
    rows = []
    for code in [c.value for c in Category] + [OTHER, UNCATEGORISED]:
        if code not in table:
            continue
        onestop = [table[code]["onestop"][c] for c in VISIT_COLUMNS]
        manual = [table[code]["manual"][c] for c in VISIT_COLUMNS]
        subsidy = table[code]["subsidy"]["subsidy"]
        cells = [a + b for a, b in zip(onestop, manual, strict=True)] + [subsidy]
        rows.append(
            {
                "code": code,
                "label": str(labels[code]),
                "onestop": onestop,
                "manual": manual,
                "subsidy": subsidy,
                "cells": cells,
                "total": sum(cells, ZERO),
            }
        )
    columns = [(v.value, v.label) for v in VisitType] + [("subsidy", _("资助参保"))]
    return rows, [(c, str(label)) for c, label in columns]


def monthly_series(fund: Fund, year: int) -> list[dict]:
    """Income and expense per month of `year` (for the chart)."""
    from django.db.models.functions import ExtractMonth

    rows = (
        Leg.objects.filter(fund=fund, booked_on__year=year)
        .exclude(subject__kind=Subject.Kind.ACCOUNT)
        .annotate(m=ExtractMonth("booked_on"))
        .values("m", "subject__kind")
        .annotate(total=Sum("amount"))
    )
    series = {m: {"month": m, "income": ZERO, "expense": ZERO} for m in range(1, 13)}
    for r in rows:
        if r["subject__kind"] == Subject.Kind.INCOME:
            series[r["m"]]["income"] -= r["total"]
        else:
            series[r["m"]]["expense"] += r["total"]
    return list(series.values())


def pending_entries(user):
    return scoped(
        Transaction.objects.filter(status=Transaction.Status.PENDING).select_related(
            "fund", "created_by"
        ),
        user,
    )


def account_balances(fund: Fund, day: date) -> list[dict]:
    """The fund's bank accounts with their balances at the end of `day`."""
    sums = cumulative_sums(fund, day)
    return [
        {"subject": s, "balance": sums.get(s.code, ZERO)}
        for s in Subject.objects.filter(kind=Subject.Kind.ACCOUNT).order_by("code")
    ]


def latest_day(fund: Fund) -> date:
    """Today, or the last day with entries when the books end earlier (demo data, old years)."""
    today = shanghai_today()
    last = Leg.objects.filter(fund=fund, booked_on__lte=today).order_by("-booked_on").first()
    if last is None or (last.booked_on.year, last.booked_on.month) == (today.year, today.month):
        return today
    return month_end(last.booked_on.year, last.booked_on.month)


def draft_lines(voucher: Transaction) -> list[dict]:
    subjects = {s.code: s for s in Subject.objects.select_related("parent")}
    return [
        {"subject": subjects.get(line["subject"]), "amount": Decimal(line["amount"])}
        for line in voucher.draft
    ]


def period_overview(fund: Fund, year: int) -> list[dict]:
    """The twelve months of `year`: status, who closed, entries and reconciliation state."""
    from django.db.models import Count
    from django.db.models.functions import ExtractMonth

    from funds.models import Period, Reconciliation

    periods = {
        p.month: p for p in Period.objects.filter(fund=fund, year=year).select_related("closed_by")
    }
    counts = dict(
        Transaction.objects.filter(
            fund=fund, booked_on__year=year, status=Transaction.Status.POSTED
        )
        .annotate(m=ExtractMonth("booked_on"))
        .values_list("m")
        .annotate(n=Count("id"))
        .values_list("m", "n")
    )
    recons = {r.month: r for r in Reconciliation.objects.filter(fund=fund, year=year)}
    return [
        {
            "month": m,
            "period": periods.get(m),
            "closed": periods.get(m) is not None and periods[m].status == Period.Status.CLOSED,
            "entries": counts.get(m, 0),
            "recon": recons.get(m),
            "confirm": _close_question(year, m, counts.get(m, 0), recons.get(m)),
        }
        for m in range(1, 13)
    ]


def _close_question(year: int, month: int, entries: int, recon) -> str:
    """What closing the month does, with its figures (the close button asks this)."""
    state = recon.get_status_display() if recon is not None else _("未对账")
    return _(
        "结账 %(y)d年%(m)d月：本月已过账凭证 %(n)d 笔，银行对账：%(recon)s。"
        "结账后该期间不能再记账，确定结账？"
    ) % {"y": year, "m": month, "n": entries, "recon": state}


def month_report(fund: Fund, year: int, month: int) -> FundReport:
    report = fund_report(
        fund,
        date(year, month, 1),
        month_end(year, month),
        title=_("%(year)s年%(month)s月") % {"year": year, "month": month},
    )
    report.period_param = f"{year}-{month:02d}"
    return report


def year_report(fund: Fund, year: int) -> FundReport:
    report = fund_report(
        fund, date(year, 1, 1), date(year, 12, 31), title=_("%(year)s年度") % {"year": year}
    )
    report.period_param = str(year)
    return report


def dashboard_context(user) -> dict:
    """For the dashboard card: the user's fund balances and pending approvals."""
    if not user.has_perm("funds.view_fund"):
        return {"funds_visible": False}
    funds = list(funds_for(user)[:3])
    cards = []
    for fund in funds:
        day = latest_day(fund)
        cards.append(
            {
                "fund": fund,
                "day": day,
                "balances": account_balances(fund, day),
                "pending": Transaction.objects.filter(
                    fund=fund, status=Transaction.Status.PENDING
                ).count(),
            }
        )
    return {"funds_visible": True, "fund_cards": cards}


# --- Voucher list ----------------------------------------------------------------------------


class TransactionFilter(django_filters.FilterSet):
    """The voucher list's filters: month (YYYY-MM), status, kind; a bad value is ignored."""

    month = django_filters.CharFilter(method="filter_month")
    status = django_filters.ChoiceFilter(choices=Transaction.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Transaction.Kind.choices)

    class Meta:
        model = Transaction
        fields = ["month", "status", "kind"]

    def filter_month(self, queryset, name, value):
        year, _sep, month = value.partition("-")
        if not (len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit()):
            return queryset
        return queryset.filter(booked_on__year=int(year), booked_on__month=int(month))


def voucher_list(fund: Fund, user, params):
    """The fund's vouchers the user may see, filtered by the query string, newest first."""
    vouchers = (
        scoped(Transaction.objects.filter(fund=fund), user)
        .select_related("created_by", "approved_by")
        .prefetch_related("legs__subject__parent")
        .order_by("-booked_on", "-id")
    )
    return TransactionFilter(params, queryset=vouchers).qs


# --- Where a posting came from ---------------------------------------------------------------


def voucher_source(voucher: Transaction) -> dict | None:
    """The record an automatic posting came from, as words and a link (not its key).

    Keys: "claims.bill:12" (a manual reimbursement), "beneficiaries.subsidy:7" (a subsidy),
    "clearing:150300:2023-07:H1…:kind" (a clearing payment); ":reversal" marks the reversal.
    """
    from django.urls import reverse

    parts = (voucher.key or "").removesuffix(":reversal").split(":")
    kind, ident = parts[0], parts[1] if len(parts) > 1 else ""
    if kind == "claims.bill" and ident.isdigit():
        from claims.models import Bill

        bill = Bill.objects.select_related("application").filter(pk=int(ident)).first()
        if bill is not None:
            application = bill.application
            number = application.form_number or f"#{application.pk}"
            return {
                "label": _("救助申请 %(number)s（发票号 %(invoice)s）")
                % {"number": number, "invoice": bill.invoice_number},
                "url": reverse("claims:application_detail", args=[application.pk]),
            }
    if kind == "beneficiaries.subsidy" and ident.isdigit():
        from beneficiaries.models import Subsidy

        subsidy = Subsidy.objects.select_related("person").filter(pk=int(ident)).first()
        if subsidy is not None:
            return {
                "label": _("资助参保批次 #%(batch)s（%(name)s）")
                % {"batch": subsidy.batch_id, "name": subsidy.person.name},
                "url": reverse("beneficiaries:subsidy_batch_detail", args=[subsidy.batch_id]),
            }
    if kind == "clearing" and len(parts) >= 3:
        from funds.models_clearing import Clearing

        year, _sep, month = parts[2].partition("-")
        clearing = None
        if year.isdigit() and month.isdigit():
            clearing = Clearing.objects.filter(
                fund=voucher.fund, year=int(year), month=int(month)
            ).first()
        if clearing is not None:
            return {
                "label": _("%(period)s 一站式结算清算单") % {"period": clearing.period},
                "url": reverse("funds:clearing_detail", args=[voucher.fund.area_id, clearing.pk]),
            }
    return None
