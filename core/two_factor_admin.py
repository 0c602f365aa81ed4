"""Django admin side of the second factor: the audited reset action, and no other door.

django-otp registers its device models in admin, where a superuser could delete or add a
device without an audit row; they are unregistered so that `second_factor_reset` is the only
way (DOMAIN §8: no side doors).
"""

from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.two_factor import second_factor_reset

for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.action(description=gettext_lazy("重置双因素认证（遗失手机时）"), permissions=["change"])
def second_factor_reset_action(modeladmin, request, queryset):
    for user in queryset:
        second_factor_reset(user=user, by=request.user, request=request)
    modeladmin.message_user(
        request,
        _("已重置 %(n)d 个用户的双因素认证，他们下次登录时须重新绑定。") % {"n": len(queryset)},
        messages.SUCCESS,
    )
