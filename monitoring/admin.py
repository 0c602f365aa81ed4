"""Monitoring records are read-only in admin (DOMAIN §8): settlements arrive by import, runs
and the high-cost watermark are written by the checks, alerts move through the work queue's
services (status, burden and notes are never edited here)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from core.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from monitoring.models import (
    Alert,
    AlertNote,
    CheckRun,
    CheckRunPolicy,
    HighCostScanState,
    Settlement,
    SettlementImport,
)


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Imported rows are read-only: a correction arrives as a reversal in the next extract."""

    list_display = [
        "setl_id",
        "psn_name",
        "certno",
        "enddate",
        "fixmedins_name",
        "psn_part_amt",
        "maf_pay",
        "refd_setl_flag",
    ]
    search_fields = ["=setl_id", "=certno"]
    list_filter = ["refd_setl_flag"]


@admin.register(SettlementImport)
class SettlementImportAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "file_name",
        "status",
        "rows",
        "imported",
        "skipped",
        "error_count",
        "created_by",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["file_name"]


class CheckRunPolicyInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = CheckRunPolicy
    fields = ["policy"]
    readonly_fields = fields


@admin.register(CheckRun)
class CheckRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "check_name",
        "period",
        "area",
        "outcome",
        "mode",
        "rows_scanned",
        "alerts_created",
        "alerts_updated",
        "alerts_closed",
        "seconds",
        "started_at",
    ]
    list_filter = ["check_name", "outcome"]
    inlines = [CheckRunPolicyInline]


class AlertNoteInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = AlertNote
    fields = ["text", "status_from", "status_to", "created_by", "created_at"]
    readonly_fields = fields


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    list_display = [
        "kind",
        "name",
        "certno",
        "year",
        "watch",
        "burden",
        "threshold",
        "status",
        "region",
        "assignee",
    ]
    list_filter = ["kind", "status", "year", "watch"]
    search_fields = ["=certno", "name", "subject"]
    raw_id_fields = ["person", "assignee", "last_run"]
    inlines = [AlertNoteInline]
    list_select_related = ["region", "assignee"]


@admin.register(HighCostScanState)
class HighCostScanStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "year",
        "area",
        "period_end",
        "reference_date",
        "last_settlement_id",
        "scanned_at",
    ]


@admin.register(AlertNote)
class AlertNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["alert", "status_from", "status_to", "created_by", "created_at"]
    list_filter = ["status_to"]
    search_fields = ["=alert__certno", "text"]
    list_select_related = ["alert", "created_by"]
