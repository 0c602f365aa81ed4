"""The institution register (定点医药机构目录) filled from settlement extracts (DOMAIN §8).

A national institution code is a letter (`H` medical institution, `P` pharmacy) + the
6-digit region code + 5 digits, so a new institution's region follows from its code. Codes
the register lacks are added with the name the settlements carry, level 1 and designated
(they settled one-stop) until an admin edits them; institutions already known are never
changed here, so an admin's name, level and designation stay.

One register for every reader: the manual-bill form (`claims.selectors.institutions`), the
replay and the simulation (`claims.adapters.settlement_bill`), and the clearing lines.
"""

from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils.translation import gettext as _

from core.regions import institution_region  # §8: one reading of the code

__all__ = ["institution_region", "register_from_settlements", "register_codes"]


def register_from_settlements(settlements, *, by=None, reason: str = "") -> int:
    """Add to the register the institutions of `settlements` it lacks; returns how many.

    `settlements`: a Settlement queryset, or the id of a settlement import batch (its rows).
    Set-based: one GROUP BY over the rows (codes the register lacks only), then one insert of
    the new institutions with their history rows. Called by the import once its rows are
    committed (`monitoring.settlements.service.settlement_import`) and by the clearing for rows imported
    before the register was filled at import time.
    """
    from monitoring.models import Settlement

    if settlements is None:
        return 0
    if not isinstance(settlements, QuerySet):
        settlements = Settlement.objects.filter(batch_id=settlements)
    names = dict(
        settlements.exclude(Q(fixmedins_code="") | Q(fixmedins_code__in=_known_codes()))
        .order_by()
        .values("fixmedins_code")
        .annotate(name=Max("fixmedins_name"))
        .values_list("fixmedins_code", "name")
    )
    return register_codes(names, by=by, reason=reason or _("导入结算明细时登记"))


def _known_codes():
    from claims.models import Institution

    return Institution.objects.values("code")


def register_codes(names: dict[str, str], *, by=None, reason: str) -> int:
    """Register the codes of `names` ({code: name}) the register lacks (level 1, designated,
    region from the code). A code that is not a national institution code (§8) has no region
    to derive and is left out: readers treat it as an institution missing from the register.
    A code registered meanwhile by someone else is left as they wrote it (the insert is
    retried once without it)."""
    from simple_history.utils import bulk_create_with_history

    from claims.models import Institution

    for _attempt in range(2):
        known = set(Institution.objects.filter(code__in=names).values_list("code", flat=True))
        new = [
            Institution(
                code=code,
                name=(name or code)[:200],
                level=Institution.Level.ONE,
                admdvs=institution_region(code),
                designated=True,
            )
            for code, name in sorted(names.items())
            if code not in known and institution_region(code)
        ]
        if not new:
            return 0
        try:
            with transaction.atomic():
                bulk_create_with_history(
                    new, Institution, default_user=by, default_change_reason=reason
                )
            return len(new)
        except IntegrityError:
            continue  # a concurrent registration of one of the codes: read the register again
    return 0
