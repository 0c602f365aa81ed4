"""Clearings after a medical-type re-mapping (§9.2 re-files imported settlements, §10).

A draft's lines follow the dictionary: a draft holding a settlement whose visit type has
changed since it was computed is recomputed. Approved and paid clearings keep what was
approved and paid (their lines, holds and postings); their page says how many of their
settlements have been re-filed since.
"""

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils.translation import gettext as _

from funds.clearing import ClearingResult, _compute_locked
from funds.models_clearing import ClearedSettlement, Clearing


def _refiled_holds():
    """Holds whose settlement's visit type is no longer the one it was cleared with."""
    return ClearedSettlement.objects.exclude(visit_type=F("settlement__visit_type"))


def refiled_since_clearing(clearing: Clearing) -> int:
    """How many of a clearing's settlements a dictionary change has re-filed since (the
    detail page's note on an approved or paid clearing, whose amounts stay as cleared)."""
    return _refiled_holds().filter(line__clearing=clearing).count()


def recompute_refiled_drafts() -> list[Clearing]:
    """Recompute every draft clearing holding a settlement whose visit type a dictionary
    change re-filed (called by `monitoring.services.medical_type_save` / `_delete`, inside
    their transaction, after the re-filing). Done by the system on the draft maker's behalf:
    the maker stays the one who computed it, so maker-checker still applies; the history
    row has no user and says why. Approved and paid clearings are not touched: their lines,
    holds and postings are what was approved and paid; `refiled_since_clearing` shows on
    their page how many of their settlements have another visit type now."""
    drafts = (
        Clearing.objects.filter(status=Clearing.Status.DRAFT)
        .filter(Exists(_refiled_holds().filter(line__clearing=OuterRef("pk"))))
        .select_related("fund__area", "computed_by")
        .order_by("fund", "year", "month")
    )
    recomputed = []
    reason = _("医疗类别字典调整后自动重新计算")
    for draft in drafts:
        result = ClearingResult(area=draft.fund.area_id, period=draft.period)
        with transaction.atomic():
            _compute_locked(
                result,
                draft.fund.area,
                draft.year,
                draft.month,
                None,
                redo=(draft.computed_by, reason),
            )
        if result.clearing is not None:
            recomputed.append(result.clearing)
    return recomputed
