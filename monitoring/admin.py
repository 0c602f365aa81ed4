from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from monitoring.models import (
    Alert,
    AlertNote,
    CheckRun,
    HighCostScanState,
    Settlement,
    SettlementImport,
)


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
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
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SettlementImport)
class SettlementImportAdmin(SimpleHistoryAdmin):
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
    readonly_fields = [f.name for f in SettlementImport._meta.fields]


@admin.register(CheckRun)
class CheckRunAdmin(admin.ModelAdmin):
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
    readonly_fields = [f.name for f in CheckRun._meta.fields]


class AlertNoteInline(admin.TabularInline):
    model = AlertNote
    extra = 0
    readonly_fields = ["text", "status_from", "status_to", "created_by", "created_at"]
    can_delete = False


@admin.register(Alert)
class AlertAdmin(SimpleHistoryAdmin):
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
    show_full_result_count = False


@admin.register(HighCostScanState)
class HighCostScanStateAdmin(admin.ModelAdmin):
    list_display = [
        "year",
        "area",
        "period_end",
        "reference_date",
        "last_settlement_id",
        "scanned_at",
    ]
