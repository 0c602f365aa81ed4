"""Writes to users that admin makes: deactivation instead of deletion (DOMAIN §8).

A user is never deleted: applications, ledger entries, alerts and every history row name who
did what, and that "who" must survive. `User.delete()` refuses, and so does any queryset
delete (a pre_delete receiver), so no door — admin, shell, a cascade — removes one.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _


def refuse_user_delete(sender, instance, **kwargs):
    from core.models.users import USER_NOT_DELETABLE

    raise ValidationError(USER_NOT_DELETABLE)


def user_deactivate(*, user, by):
    """Deactivate `user` (no more sign-ins); their records and history keep naming them."""
    if user.pk == getattr(by, "pk", None):
        raise ValidationError(_("不能停用您本人的账号。"))
    with transaction.atomic():
        user = type(user).objects.select_for_update().get(pk=user.pk)
        if not user.is_active:
            return user
        user.is_active = False
        user._history_user = by
        user._change_reason = _("停用账号")
        user.save(update_fields=["is_active"])
    return user
