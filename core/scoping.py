"""Region scoping: the only way views reach case data (DOMAIN §8).

Each model holding case data names the path to its region in `region_lookup`
(e.g. `"person__region"`). District users see their district, city users their city,
regional users everything; regional users may only change records of their own city.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _


def user_region_codes(user) -> list[str] | None:
    """Codes the user may see; None means everything (superusers, regional users)."""
    if user.is_superuser:
        return None
    region = user.region
    if region is None:
        return []
    if region.level == region.Level.PROVINCE:
        return None
    return region.subtree_codes()


def scoped(queryset: QuerySet, user) -> QuerySet:
    """`queryset` limited to the records of the user's region subtree."""
    lookup = queryset.model.region_lookup
    codes = user_region_codes(user)
    if codes is None:
        return queryset
    return queryset.filter(**{f"{lookup}__in": codes})


def region_of(obj) -> str:
    """The region code of a case record, following its `region_lookup`."""
    target = obj
    parts = type(obj).region_lookup.split("__")
    for part in parts[:-1]:
        target = getattr(target, part)
    return getattr(target, f"{parts[-1]}_id")


def can_write(user, region_code: str) -> bool:
    """Users change records only inside their own region subtree.

    Regional (自治区) users supervise: they read everything and change nothing.
    """
    if user.is_superuser:
        return True
    region = user.region
    if region is None or region.level == region.Level.PROVINCE:
        return False
    return region.contains(region_code)


def check_writable(user, obj) -> None:
    if not can_write(user, region_of(obj)):
        raise PermissionDenied(_("您只能修改本辖区的记录。"))


def writable_codes(user) -> list[str] | None:
    """Region codes the user may change; None means everywhere (superusers)."""
    if user.is_superuser:
        return None
    region = user.region
    if region is None or region.level == region.Level.PROVINCE:
        return []
    return region.subtree_codes()


def check_allowed(by, perm: str, region_code: str | None = None) -> None:
    """The service-level door (DOMAIN §8): `by` holds `perm` and may change `region_code`.

    Every write service calls this itself, whatever its view checked: a regional (自治区)
    user reads everything and changes nothing, another district's user changes nothing here.
    """
    if by is None or not by.is_authenticated:
        raise PermissionDenied(_("请先登录。"))
    region = by.region
    if not by.is_superuser and region is None:
        raise PermissionDenied(_("您的账号未设置所属区划，不能修改记录。"))
    if not by.is_superuser and region.level == region.Level.PROVINCE:
        raise PermissionDenied(_("自治区级用户只能查看，不能修改。"))
    if not by.has_perm(perm):
        raise PermissionDenied(_("您没有执行此操作的权限。"))
    if region_code is not None and not can_write(by, region_code):
        raise PermissionDenied(_("您只能修改本辖区的记录。"))
