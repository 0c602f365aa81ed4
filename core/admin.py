from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin_mixins import ReadOnlyAdminMixin
from core.models import AuditEvent, Policy, PolicyCategory, Region, User


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "name", "region", "is_active", "is_staff", "role_names"]
    list_filter = ["is_active", "is_staff", "groups", "region"]
    search_fields = ["username", "name"]
    autocomplete_fields = ["region"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("name", "email", "region")}),
        (
            _("角色与权限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "name", "region", "groups", "password1", "password2"),
            },
        ),
    )

    @admin.display(description=_("角色"))
    def role_names(self, obj):
        return "、".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups").select_related("region")


class PolicyCategoryInline(admin.TabularInline):
    model = PolicyCategory
    extra = 0
    min_num = 1


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    list_display = ["name", "area", "valid_from", "valid_to", "annual_cap"]
    list_filter = ["area"]
    inlines = [PolicyCategoryInline]
    fieldsets = (
        (None, {"fields": ("area", "name", "document", "valid_from", "valid_to")}),
        (
            _("收入与保障标准"),
            {
                "fields": (
                    "all_resident_income",
                    "rural_income",
                    "min_living_standard",
                    "contribution_standard",
                )
            },
        ),
        (
            _("救助标准"),
            {
                "fields": (
                    "annual_cap",
                    "tilted_deductible",
                    "tilted_ratio",
                    "processing_days_limit",
                )
            },
        ),
        (
            _("监测标准"),
            {
                "fields": (
                    "impoverishment_threshold",
                    "poverty_return_threshold",
                    "out_of_catalog_limit_level2",
                    "out_of_catalog_limit_level3",
                )
            },
        ),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "user", "action", "object_type", "object_id", "ip_address"]
    list_filter = ["action"]
    search_fields = ["object_id", "user__username"]
    list_select_related = ["user"]
