"""Django admin for corrections (DOMAIN §11): read-only like all case data (DOMAIN §8)."""

from django.contrib import admin

from claims.admin import ReadOnlyAdmin
from claims.models import Proposal, ReassessmentRun, RecoveryCase, Repayment
from core.admin_mixins import ReadOnlyAdminMixin


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
