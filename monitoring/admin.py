"""Monitoring records are read-only in admin (DOMAIN §8): settlements arrive by import, runs
and the high-cost watermark are written by the checks, alerts move through the work queue's
services (status, burden and notes are never edited here). The medical-type dictionary is
reference data admins edit here, through its service (which re-files imported settlements)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin
from core.models import Region
from core.scoping import can_write
from monitoring import services
from monitoring.models import (
    Alert,
    AlertNote,
    CheckRun,
    CheckRunPolicy,
    HighCostScanState,
    MedicalType,
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
    search_fields = ["=certno"]
    list_filter = ["refd_setl_flag"]

    def get_search_results(self, request, queryset, search_term):
        """A search term is a certno or a `setl_id`, found through its key (no index by
        `setl_id` on the partitioned table)."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found = found | queryset.by_setl_id(term)
        return found, duplicates


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


@admin.register(MedicalType)
class MedicalTypeAdmin(SimpleHistoryAdmin):
    """The medical-type dictionary (DOMAIN §9.2). Saving or deleting a row goes through
    `medical_type_save` / `medical_type_delete`, which re-file the imported settlements. An
    area's admin changes the rows of their area; region-wide rows only a superuser."""

    list_display = ["code", "name", "visit_type", "area", "updated_at"]
    list_filter = ["visit_type", "area"]
    search_fields = ["code", "name"]
    list_select_related = ["area"]

    def _may_change(self, request, obj) -> bool:
        return obj is None or can_write(request.user, obj.area_id or "150000")

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_change(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one row at a time, through the service
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "area" and not request.user.is_superuser:
            # Only the user's own coordination area; a region-wide row is a superuser's.
            region = request.user.region
            area = region.coordination_area if region is not None else None
            field.queryset = Region.objects.filter(pk=area.pk if area else None)
            field.required = True
        return field

    def save_model(self, request, obj, form, change):
        refiled = services.medical_type_save(medical_type=obj, by=request.user)
        self.message_user(
            request,
            _("已按新的医疗类别重新归类 %(n)d 条已导入的结算明细。") % {"n": refiled},
            messages.INFO,
        )

    def delete_model(self, request, obj):
        refiled = services.medical_type_delete(medical_type=obj, by=request.user)
        self.message_user(
            request,
            _("已按新的医疗类别重新归类 %(n)d 条已导入的结算明细。") % {"n": refiled},
            messages.INFO,
        )

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Reverting would change the dictionary without re-filing the settlements.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)
