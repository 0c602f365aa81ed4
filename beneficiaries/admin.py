"""Django admin: search, filters and read-only history for every beneficiary record.

Changes to case data go through the services (the portal's pages); here admins look things up.
Every beneficiary record is read-only in admin (core.admin_mixins.ReadOnlyAdminMixin, DOMAIN §8)
so no change bypasses the overlap, once-per-year and roster rules or the history; ID numbers
are shown masked.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from beneficiaries.models import (
    Enrollment,
    Household,
    Identity,
    Person,
    RosterBatch,
    RosterLine,
    Subsidy,
    SubsidyBatch,
)
from beneficiaries.selectors import person_search
from core.admin_mixins import ReadOnlyAdminMixin, ReadOnlyInlineMixin


class ReadOnlyAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    pass


class IdentityInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Identity
    fields = ["category", "start", "end", "department", "document", "region", "end_reason"]
    readonly_fields = fields
    fk_name = "person"


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ["name", "id_number", "sex", "birth_date", "region", "residence"]
    list_filter = ["region", "residence", "sex"]
    search_fields = ["=id_number", "name", "=phone"]
    autocomplete_fields = ["region"]
    raw_id_fields = ["household"]
    readonly_fields = ["id_number", "sex", "birth_date"]
    inlines = [IdentityInline]
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        # The portal's own search: ID number and phone exact, name partial through the
        # trigram / n-gram indexes (admin's default icontains would scan a million rows).
        if not search_term.strip():
            return queryset, False
        return person_search(queryset, search_term), False


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ["person", "category", "start", "end", "department", "region", "last_roster"]
    list_filter = ["category", "department", "region"]
    search_fields = ["=person__id_number", "person__name"]
    raw_id_fields = ["person", "created_by", "last_roster"]
    list_select_related = ["person", "region", "last_roster"]
    date_hierarchy = "start"


@admin.register(Household)
class HouseholdAdmin(ReadOnlyAdmin):
    list_display = ["id", "region", "address", "members_count", "annual_income"]
    list_filter = ["region"]
    search_fields = ["address", "=members__id_number"]
    show_full_result_count = False


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ["person", "year", "scheme", "area", "paid_how", "paid_date", "benefit_start"]
    list_filter = ["year", "scheme", "paid_how", "area"]
    search_fields = ["=person__id_number", "person__name"]
    raw_id_fields = ["person", "created_by"]
    list_select_related = ["person", "area"]


class SubsidyInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Subsidy
    fields = ["person", "category", "rule", "amount", "note"]
    readonly_fields = fields


@admin.register(SubsidyBatch)
class SubsidyBatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "year", "area", "as_of", "status", "count", "total", "confirmed_by"]
    list_filter = ["year", "status", "area"]
    list_select_related = ["area", "confirmed_by"]


@admin.register(Subsidy)
class SubsidyAdmin(ReadOnlyAdmin):
    list_display = ["person", "year", "category", "rule", "amount", "batch", "area"]
    list_filter = ["year", "category", "rule", "area"]
    search_fields = ["=person__id_number", "person__name"]
    raw_id_fields = ["person", "identity", "batch"]
    list_select_related = ["person", "batch", "batch__area", "area"]


@admin.register(RosterBatch)
class RosterBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "department",
        "region",
        "as_of",
        "status",
        "rows",
        "new",
        "changed",
        "terminated",
        "unchanged",
        "applied_at",
    ]
    list_filter = ["department", "status", "region"]
    search_fields = ["file_name"]
    list_select_related = ["region"]


@admin.register(RosterLine)
class RosterLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["batch", "row", "effect", "person", "category", "start", "end"]
    list_filter = ["effect", "category"]
    search_fields = ["=person__id_number", "person__name", "=batch__id"]
    raw_id_fields = ["batch", "person", "identity"]
    list_select_related = ["batch", "batch__region", "person"]
