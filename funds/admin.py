"""Every ledger object is read-only in Django admin: the books change only through services."""

from django.contrib import admin

from core.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from funds.models import (
    Budget,
    Clearing,
    ClearingLine,
    Fund,
    Leg,
    Match,
    MatchedLeg,
    Period,
    PeriodBalance,
    Reconciliation,
    StatementLine,
    Subject,
    Transaction,
)


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class LegInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Leg
    fields = ["subject", "amount"]
    readonly_fields = fields


@admin.register(Fund)
class FundAdmin(ReadOnlyAdmin):
    list_display = ["name", "area", "fiscal_account_no", "expense_account_no"]


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "parent", "level", "postable"]
    list_filter = ["kind"]


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "fund", "booked_on", "kind", "status", "reference", "memo", "created_by"]
    list_filter = ["fund", "kind", "status"]
    search_fields = ["memo", "reference", "key"]
    date_hierarchy = "booked_on"
    inlines = [LegInline]


@admin.register(Leg)
class LegAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "fund", "booked_on", "subject", "amount"]
    list_filter = ["fund", "subject"]
    list_select_related = ["transaction", "fund", "subject"]


@admin.register(Period)
class PeriodAdmin(ReadOnlyAdmin):
    list_display = ["fund", "year", "month", "status", "closed_by", "closed_at", "reopen_reason"]
    list_filter = ["fund", "status"]


@admin.register(PeriodBalance)
class PeriodBalanceAdmin(ReadOnlyAdmin):
    list_display = ["fund", "year", "month", "subject", "cumulative"]


@admin.register(Budget)
class BudgetAdmin(ReadOnlyAdmin):
    list_display = ["fund", "year", "subject", "amount"]
    list_filter = ["fund", "year"]


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ["fund", "year", "month", "status", "filename", "done_by", "done_at"]
    list_filter = ["fund", "status", "year"]


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    list_display = ["reconciliation", "row", "date", "reference", "memo", "direction", "amount"]
    list_filter = ["direction"]
    search_fields = ["reference", "memo"]


@admin.register(Match)
class MatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "reconciliation", "kind", "created_by", "created_at"]
    list_filter = ["kind"]


@admin.register(MatchedLeg)
class MatchedLegAdmin(ReadOnlyAdmin):
    list_display = ["match", "leg"]


class ClearingLineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = ClearingLine
    fields = ["institution_code", "institution_name", "payee", "settlements", "reversals"]
    fields += ["medfee_sumamt", "inpatient", "outpatient", "net"]
    readonly_fields = fields


@admin.register(Clearing)
class ClearingAdmin(ReadOnlyAdmin):
    """Clearings change only through funds.clearing (compute, approve, pay)."""

    list_display = ["fund", "year", "month", "status", "settlements", "total", "computed_by"]
    list_display += ["approved_by", "paid_by", "paid_on"]
    list_filter = ["fund", "status", "year"]
    inlines = [ClearingLineInline]
