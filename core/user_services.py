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


def user_grant_roles(*, user, roles=(), region=None, by, reason=""):
    """Give `user` a region (when one is given) and add `roles` (core.roles.Role values).

    Roles already held stay; none is taken away (that is Django admin's user form). Granting
    the admin role also makes the user staff, since Django admin is that role's workplace.
    Every change is in the user's history, naming `by` (None: the command line) and `reason`.
    `by`, when given, needs the permission to change users.
    """
    from django.core.exceptions import PermissionDenied

    from core.models import Region
    from core.roles import GROUP_NAMES, Role, grant_role

    if by is not None and not by.has_perm("core.change_user"):
        raise PermissionDenied(_("您无权修改用户。"))
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError(
            _("未知角色：%(roles)s（可选：%(choices)s）。")
            % {"roles": "、".join(unknown), "choices": "、".join(Role.values)}
        )
    if not roles and region is None:
        raise ValidationError(_("请指定区划或至少一个角色。"))
    if isinstance(region, str):
        region_obj = Region.objects.filter(code=region).first()
        if region_obj is None:
            raise ValidationError(_("区划代码 %(code)s 不存在。") % {"code": region})
        region = region_obj
    with transaction.atomic():
        user = type(user).objects.select_for_update().get(pk=user.pk)
        user._history_user = by
        user._change_reason = reason or _("授予区划和角色")
        fields = []
        if region is not None and user.region_id != region.pk:
            user.region = region
            fields.append("region")
        if Role.ADMIN in roles and not user.is_staff:
            user.is_staff = True
            fields.append("is_staff")
        if fields:
            user.save(update_fields=fields)
        held = set(user.groups.values_list("name", flat=True))
        for role in roles:
            if GROUP_NAMES[Role(role)] not in held:
                grant_role(user, role)
    return user
