"""Django admin: the institution register is maintained here; case records are read-only.

Applications, bills and their workflow change only through the services (the portal's pages),
so no change bypasses maker-checker, the duplicate-invoice rule or the annual cap.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from claims.models import (
    Application,
    Attachment,
    Bill,
    Institution,
    Proposal,
    ReassessmentRun,
    RecoveryCase,
    Repayment,
    Transition,
)
from core.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin


@admin.register(Institution)
class InstitutionAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "level", "admdvs", "designated"]
    list_filter = ["level", "designated"]
    search_fields = ["code", "name", "admdvs"]


class ReadOnlyAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    pass


class BillInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Bill
    fields = ["institution", "visit_type", "invoice_number", "setl_id", "total_cost", "total"]
    readonly_fields = fields


class TransitionInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Transition
    fields = ["at", "from_status", "to_status", "by", "comment"]
    readonly_fields = fields


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["id", "form_number", "person", "status", "received_on", "total", "prepared_by"]
    list_filter = ["status", "kind", "channel", "area"]
    search_fields = ["form_number", "person__name", "=person__id_number"]
    raw_id_fields = ["person"]
    inlines = [BillInline, TransitionInline]


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ["id", "application", "institution", "invoice_number", "year", "total", "active"]
    list_filter = ["visit_type", "active", "year"]
    search_fields = ["invoice_number", "setl_id", "=application__person__id_number"]
    list_select_related = ["application__person", "institution"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["id", "application", "original_name", "content_type", "size", "uploaded_at"]
    search_fields = ["original_name", "=application__person__id_number"]
    list_select_related = ["application__person"]


# Corrections (DOMAIN §11): read-only like all case data (DOMAIN §8).


class ReadOnlyPlainAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only, for the models without their own history (the alert and case keep it)."""


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyPlainAdmin):
    list_display = ["id", "person", "year", "record", "version", "direction", "difference"]
    list_filter = ["direction", "year"]
    search_fields = ["record", "=person__id_number"]
    list_select_related = ["person"]


@admin.register(RecoveryCase)
class RecoveryCaseAdmin(ReadOnlyAdmin):
    list_display = ["id", "person", "year", "amount", "repaid", "status", "notice_number"]
    list_filter = ["status", "year"]
    search_fields = ["notice_number", "=person__id_number"]
    list_select_related = ["person"]


@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyPlainAdmin):
    list_display = ["id", "case", "amount", "paid_on", "reference", "posting"]


@admin.register(ReassessmentRun)
class ReassessmentRunAdmin(ReadOnlyPlainAdmin):
    list_display = ["id", "roster_batch", "persons", "chunks_done", "chunks_total", "status"]
