from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin_mixins import ReadOnlyAdminMixin
from core.models import AuditEvent, Policy, PolicyCategory, Region, RegionAlias, User
from core.models.policy import POLICY_IN_USE
from core.two_factor_admin import second_factor_reset_action
from core.user_services import user_deactivate


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent", "valid_from"]
    list_filter = ["level"]
    search_fields = ["code", "name"]


@admin.register(RegionAlias)
class RegionAliasAdmin(admin.ModelAdmin):
    """Superseded codes (loaded from core/data/regions_150000.csv) and their successors."""

    list_display = ["code", "name", "successor", "valid_until", "source"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["successor"]


@admin.register(User)
class UserAdmin(SimpleHistoryAdmin, DjangoUserAdmin):
    """Users, their roles (groups) and region; every change keeps a history with who and the
    client IP. Users are deactivated (the action), never deleted."""

    actions = ["deactivate_users", second_factor_reset_action]
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

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("停用所选用户"), permissions=["change"])
    def deactivate_users(self, request, queryset):
        done = 0
        for user in queryset:
            try:
                if user.is_active:
                    user_deactivate(user=user, by=request.user)
                    done += 1
            except ValidationError as exc:
                self.message_user(request, "；".join(exc.messages), messages.ERROR)
        self.message_user(request, _("已停用 %(n)s 个用户。") % {"n": done}, messages.SUCCESS)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # No revert from an old version: it would bring back roles without a visible change.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class PolicyCategoryInline(admin.TabularInline):
    """The category rules; frozen once an assessment, approval or scan used the policy."""

    model = PolicyCategory
    extra = 0
    min_num = 1

    def _frozen(self, obj) -> bool:
        return obj is not None and obj.is_used()

    def has_add_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    """Versioned policies. One that an assessment, approval or scan used (Policy.is_used) is
    never deleted and its category rules are frozen: it is superseded by a newer version."""

    list_display = ["name", "area", "valid_from", "valid_to", "annual_cap"]
    list_filter = ["area"]
    inlines = [PolicyCategoryInline]
    actions = ["copy_policy"]

    @admin.action(description=_("以所选政策为模板建立新政策"), permissions=["add"])
    def copy_policy(self, request, queryset):
        """To the portal page that copies it (area, start date), then back here to edit."""
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一项政策作为模板。"), messages.WARNING)
            return None
        return HttpResponseRedirect(f"{reverse('policy_copy')}?source={queryset.get().pk}")

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_used():
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one policy at a time, through the check above
        return actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and obj.is_used() and request.method == "GET":
            self.message_user(request, POLICY_IN_USE, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and obj.is_used():
            self.message_user(request, POLICY_IN_USE, messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:core_policy_change", args=[obj.pk], current_app=self.admin_site.name)
            )
        return super().delete_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Reverting to an old version would change what a used policy applied behind a form.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

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
