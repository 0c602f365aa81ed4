"""The one place a file's region code is mapped to a current region (DOMAIN §8, §9).

Rosters (`region_code`), settlement extracts (`insu_admdvs`) and national institution codes
(`H15030200002`: the 6 digits after the letter) all carry GB/T 2260 codes. A code that was
superseded (撤盟设市: 152100 呼伦贝尔盟 → 150700 呼伦贝尔市) still maps, through the
`RegionAlias` table loaded from `core/data/regions_150000.csv`.
"""

import re
import threading

from django.db.models.signals import post_delete, post_migrate, post_save

from core.models import Region, RegionAlias

_lock = threading.Lock()
_cache: dict[str, dict[str, str]] = {}
INSTITUTION_CODE = re.compile(r"[A-Z]([0-9]{6})[0-9]{5}", re.ASCII)


def _maps() -> dict[str, str]:
    """code → current code, for every current region and every superseded code. Cached:
    regions change by migration or in admin, both of which clear the cache."""
    maps = _cache.get("codes")
    if maps is None:
        with _lock:
            current = {code: code for code in Region.objects.values_list("code", flat=True)}
            aliases = dict(RegionAlias.objects.values_list("code", "successor_id"))
            maps = {**aliases, **current}
            _cache["codes"] = maps
    return maps


def clear_cache(**_kwargs) -> None:
    _cache.clear()


def resolve_region(code: str | None) -> str | None:
    """The current region code for `code` (itself when current, its successor when
    superseded), or None when unknown. Surrounding whitespace is ignored."""
    if not code:
        return None
    return _maps().get(str(code).strip())


def resolve_regions(codes) -> dict[str, str]:
    """{code: current code} for those of `codes` that resolve (one lookup for a file)."""
    maps = _maps()
    return {code: maps[code] for code in codes if code in maps}


def institution_region(code: str | None) -> str | None:
    """The region of a national institution code (§8): its current code when known (an old
    code maps to its successor), else the code's 6 digits as written; None if malformed."""
    match = INSTITUTION_CODE.fullmatch(code or "")
    if not match:
        return None
    return resolve_region(match.group(1)) or match.group(1)


def agency_name(area: Region | None) -> str:
    """The medical-security agency of a coordination area, as forms print it (§8: every
    league/city runs its own); settings.AGENCY_NAME without an area."""
    from django.conf import settings

    if area is None or area.code == settings.AGENCY_AREA:
        return settings.AGENCY_NAME
    return settings.AGENCY_NAMES.get(area.code) or f"{area.name}医疗保障事务中心"


for _model in (Region, RegionAlias):
    post_save.connect(clear_cache, sender=_model, dispatch_uid=f"regions-cache-{_model.__name__}")
    post_delete.connect(
        clear_cache, sender=_model, dispatch_uid=f"regions-cache-del-{_model.__name__}"
    )
post_migrate.connect(clear_cache, dispatch_uid="regions-cache-migrate")
