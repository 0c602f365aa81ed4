from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from beneficiaries.models import Household, Identity, Person


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ["category", "start", "end", "department", "document", "region", "end_reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Person)
class PersonAdmin(SimpleHistoryAdmin):
    list_display = ["name", "id_number", "sex", "birth_date", "region", "residence"]
    list_filter = ["region", "residence", "sex"]
    search_fields = ["=id_number", "name", "=phone"]
    autocomplete_fields = ["region"]
    raw_id_fields = ["household"]
    inlines = [IdentityInline]
    show_full_result_count = False


@admin.register(Identity)
class IdentityAdmin(SimpleHistoryAdmin):
    list_display = ["person", "category", "start", "end", "department", "region"]
    list_filter = ["category", "department", "region"]
    search_fields = ["=person__id_number", "person__name"]
    raw_id_fields = ["person", "created_by"]
    show_full_result_count = False


@admin.register(Household)
class HouseholdAdmin(SimpleHistoryAdmin):
    list_display = ["id", "region", "address", "members_count"]
    list_filter = ["region"]
