"""Django admin without side doors (DOMAIN §8 "No side doors").

Case data (persons, identities, applications, alerts, settlements, the ledger, …) changes only
through the services the portal's pages call; in admin it is looked up, never edited.
`ReadOnlyAdminMixin` makes a ModelAdmin read-only for everyone, superusers included: no add,
change or delete permission, no bulk delete action, every field shown read-only (also on
django-simple-history's version pages, whose POST would otherwise revert the record behind
the services' back). ID numbers are shown masked; the full number is one logged click away.
"""

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core import idnumber

# Model fields holding a full resident ID number → the admin method that shows it masked.
MASKED_FIELDS = {"id_number": "masked_id_number", "certno": "masked_certno"}
# … and on a detail page, masked with a button that reveals it (logged).
DETAIL_FIELDS = {
    "id_number": "id_number_with_reveal",
    "masked_id_number": "id_number_with_reveal",
    "certno": "certno_with_reveal",
    "masked_certno": "certno_with_reveal",
}
REVEAL_PERMISSION = "beneficiaries.reveal_id_number"


def _masked(names):
    return [MASKED_FIELDS.get(name, name) for name in names]


class MaskedIdMixin:
    """Shows the model's ID-number fields masked (`150302********1234`) in admin lists, change
    pages, history pages and their change deltas; revealing one is an audited POST."""

    def _id_fields(self) -> list[str]:
        names = {f.name for f in self.model._meta.get_fields()}
        return [name for name in MASKED_FIELDS if name in names]

    def _masked_value(self, obj, field: str):
        value = getattr(obj, field, "") or ""
        if not value:
            return "—"
        masked = idnumber.mask(value)
        if getattr(obj, "pk", None) is None or not hasattr(self, "admin_site"):
            return masked
        opts = self.model._meta
        url = reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_reveal",
            args=[obj.pk, field],
        )
        # Inside the change page's own form (with its CSRF token): posts to the reveal view.
        return format_html(
            '<span class="id-number">{}</span> '
            '<button type="submit" formaction="{}" formmethod="post" class="button">{}</button>',
            masked,
            url,
            _("查看完整号码（记录日志）"),
        )

    @admin.display(description=_("公民身份号码"), ordering="id_number")
    def masked_id_number(self, obj):
        return idnumber.mask(obj.id_number or "")

    @admin.display(description=_("证件号码"), ordering="certno")
    def masked_certno(self, obj):
        return idnumber.mask(obj.certno or "")

    @admin.display(description=_("公民身份号码"))
    def id_number_with_reveal(self, obj):
        return self._masked_value(obj, "id_number")

    @admin.display(description=_("证件号码"))
    def certno_with_reveal(self, obj):
        return self._masked_value(obj, "certno")

    def _detail_names(self, names):
        """Field names for a detail page: ID fields become their masked, revealable form."""
        out = []
        for name in names:
            name = DETAIL_FIELDS.get(name, name)
            if name not in out:
                out.append(name)
        return out

    def get_exclude(self, request, obj=None):
        # The raw ID number never becomes a form input (the masked form is shown instead).
        return [*(super().get_exclude(request, obj) or ()), *self._id_fields()]

    def get_list_display(self, request):
        return _masked(super().get_list_display(request))

    def get_fields(self, request, obj=None):
        return self._detail_names(super().get_fields(request, obj))

    def get_fieldsets(self, request, obj=None):
        return [
            (name, {**options, "fields": self._detail_names_nested(options.get("fields", ()))})
            for name, options in super().get_fieldsets(request, obj)
        ]

    def _detail_names_nested(self, fields):
        out = []
        for item in fields:
            if isinstance(item, (list, tuple)):
                out.append(tuple(self._detail_names(item)))
            else:
                out.extend(self._detail_names([item]))
        return out

    def get_historical_record_context_helper(self, request, historical_record):
        helper = super().get_historical_record_context_helper(request, historical_record)
        masked = set(self._id_fields())
        prepare = helper.prepare_delta_change_value

        def prepare_masked(change, value):
            if change.field in masked:
                return idnumber.mask(value or "")
            return prepare(change, value)

        helper.prepare_delta_change_value = prepare_masked
        return helper

    def get_urls(self):
        opts = self.model._meta
        urls = [
            path(
                "<path:object_id>/reveal/<str:field>/",
                self.admin_site.admin_view(require_POST(self.reveal_view)),
                name=f"{opts.app_label}_{opts.model_name}_reveal",
            )
        ]
        return urls + super().get_urls()

    def reveal_view(self, request, object_id, field):
        """The full ID number of one record, after an AuditEvent `reveal_id` (DOMAIN §8)."""
        from core.audit import audit_event
        from core.models import AuditEvent

        if field not in self._id_fields():
            raise Http404
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj) or not request.user.has_perm(
            REVEAL_PERMISSION
        ):
            raise PermissionDenied
        value = getattr(obj, field)
        audit_event(
            by=request.user,
            action=AuditEvent.Action.REVEAL_ID,
            obj=obj,
            request=request,
            via="admin",
            field=field,
        )
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "title": _("查看完整身份证号"),
            "opts": opts,
            "original": obj,
            "value": value,
            "change_url": reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=[obj.pk],
            ),
        }
        return TemplateResponse(request, "admin/core/reveal_id.html", context)


class ReadOnlyAdminMixin(MaskedIdMixin):
    """A ModelAdmin through which nothing changes, for every user (superusers included).

    Put it first in the bases: `class PersonAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin)`.
    """

    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_readonly_fields(self, request, obj=None):
        # Every field, so no page (the change page, simple-history's version page) has an
        # input, and ID numbers appear only masked.
        if self.fieldsets:
            names = flatten_fieldsets(self.fieldsets)
        elif self.fields:
            names = list(self.fields)
        else:
            opts = self.model._meta
            names = [
                f.name
                for f in [*opts.fields, *opts.many_to_many]
                if not f.primary_key and f.name not in (self.exclude or ())
            ]
            names += [n for n in self.readonly_fields if n not in names]
        return self._detail_names(names)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple-history saves a POSTed version form without asking has_change_permission:
        # that would be a revert behind the services' back.
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyInlineMixin:
    """An inline of a read-only admin: shows its rows, adds, changes and deletes none."""

    can_delete = False
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
