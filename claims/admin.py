"""Django admin: the institution register is maintained here; case records are read-only.

Applications, bills and their workflow change only through the services (the portal's pages),
so no change bypasses maker-checker, the duplicate-invoice rule or the annual cap.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from claims.models import Application, Attachment, Bill, Institution, Transition


@admin.register(Institution)
class InstitutionAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "level", "admdvs", "designated"]
    list_filter = ["level", "designated"]
    search_fields = ["code", "name", "admdvs"]


class ReadOnlyAdmin(SimpleHistoryAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BillInline(admin.TabularInline):
    model = Bill
    extra = 0
    fields = ["institution", "visit_type", "invoice_number", "setl_id", "total_cost", "total"]
    readonly_fields = fields
    can_delete = False


class TransitionInline(admin.TabularInline):
    model = Transition
    extra = 0
    fields = ["at", "from_status", "to_status", "by", "comment"]
    readonly_fields = fields
    can_delete = False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "form_number", "person", "status", "received_on", "total", "prepared_by"]
    list_filter = ["status", "kind", "channel", "area"]
    search_fields = ["form_number", "person__name", "person__id_number"]
    raw_id_fields = ["person"]
    inlines = [BillInline, TransitionInline]


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ["id", "application", "institution", "invoice_number", "year", "total", "active"]
    list_filter = ["visit_type", "active", "year"]
    search_fields = ["invoice_number", "setl_id"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "application", "original_name", "content_type", "size", "uploaded_at"]
