"""Reconciliation of the fiscal special account with the finance department (P §23, DOMAIN §9.3):
importing the month's statement and matching it automatically (`statement_reconcile`, a
service), and what the reconciliation page shows (`reconciliation_sides`).

The matching rule and the manual matching services are `funds.matching`; the 余额调节表 and
finishing the month are `funds.balance_statement`.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import month_end
from core.scoping import check_allowed
from funds.balance_statement import reconciling_since
from funds.matching import free_ledger, match_pairs, match_window, matched_exists, matches_write
from funds.models import (
    Fund,
    Leg,
    Match,
    MatchedLeg,
    Reconciliation,
    StatementLine,
    Subject,
)
from funds.statements import StatementError, statement_parse


# canonical name → accepted headers (Chinese first; English compared case-insensitively)
def statement_reconcile(
    *,
    fund: Fund,
    year: int,
    month: int,
    file_or_path,
    filename: str,
    by,
    dry_run: bool = False,
) -> dict:
    """Import the month's statement and match it automatically (DOMAIN §9.3).

    With any row error (or `dry_run`) nothing is written; the counts are what the valid rows
    would give. A new statement replaces the month's previous one and its matches, unless
    the reconciliation is done. Raises StatementError when the file or arguments are unusable.
    """
    if by is not None:  # None: the `reconcile` command (the system)
        check_allowed(by, "funds.add_reconciliation", fund.area_id)
    parsed = statement_parse(file_or_path, filename, year=year, month=month)
    recon = Reconciliation.objects.filter(fund=fund, year=year, month=month).first()
    if recon is not None and recon.status == Reconciliation.Status.DONE:
        raise StatementError(
            _("%(y)d年%(m)d月已完成对账，不能再导入对账单。") % {"y": year, "m": month}
        )
    first, last = match_window(year, month)
    items = free_ledger(fund, first, last, exclude_reconciliation=recon)
    pairs = match_pairs(parsed.lines, items)
    in_month = [i for i in items if i.date.year == year and i.date.month == month]
    taken = {item.leg_id for _line, item in pairs}
    result = {
        "lines": parsed.rows,
        "matched": len(pairs),
        "unmatched_statement": len(parsed.lines) - len(pairs),
        "unmatched_ledger": len([i for i in in_month if i.leg_id not in taken]),
        "errors": parsed.errors,
        "applied": False,
    }
    if parsed.errors or dry_run:
        return result
    with transaction.atomic():
        if recon is None:
            recon = Reconciliation(fund=fund, year=year, month=month)
        else:
            recon = Reconciliation.objects.select_for_update().get(pk=recon.pk)
            _clear(recon)
        recon.filename = filename[:200]
        recon.imported_by = by
        recon.imported_at = timezone.now()
        recon._history_user = by
        recon.save()
        matches_write(recon, parsed.lines, pairs, Match.Kind.AUTO, by)
    result["applied"] = True
    return result


def _clear(recon: Reconciliation) -> None:
    """Drop a statement's lines and matches (before a new statement of the month): plain
    DELETEs, as Django's cascade would load every row of a large statement first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM funds_matchedleg WHERE match_id IN"
            " (SELECT id FROM funds_match WHERE reconciliation_id = %s)",
            [recon.pk],
        )
        cursor.execute("DELETE FROM funds_statementline WHERE reconciliation_id = %s", [recon.pk])
        cursor.execute("DELETE FROM funds_match WHERE reconciliation_id = %s", [recon.pk])


MATCHES_SHOWN = 300


def reconciliation_sides(recon: Reconciliation) -> dict:
    """Both sides' unmatched items and the matches (manual first, then the latest automatic
    ones, at most MATCHES_SHOWN) for the reconciliation page."""
    first, last = date(recon.year, recon.month, 1), month_end(recon.year, recon.month)
    wide_first, wide_last = match_window(recon.year, recon.month)
    # Entries of earlier reconciled months still unmatched (未达账项 carried forward) are
    # listed too, so they can be matched by hand with this month's statement lines.
    wide_first = min(wide_first, reconciling_since(recon.fund))
    unmatched_lines = list(recon.lines.filter(match__isnull=True).order_by("row"))
    ledger = list(
        Leg.objects.filter(
            fund=recon.fund,
            subject_id=Subject.FISCAL,
            booked_on__gte=wide_first,
            booked_on__lte=wide_last,
        )
        .exclude(matched_exists())
        .select_related("transaction")
        .order_by("booked_on", "pk")
    )
    shown = list(
        recon.matches.select_related("created_by").order_by("-kind", "-pk")[:MATCHES_SHOWN]
    )  # "manual" sorts after "auto": descending puts manual matches first
    shown_ids = [m.pk for m in shown]
    lines_of = defaultdict(list)
    for line in recon.lines.filter(match_id__in=shown_ids).order_by("row"):
        lines_of[line.match_id].append(line)
    legs_of = defaultdict(list)
    for ml in MatchedLeg.objects.filter(match_id__in=shown_ids).select_related("leg__transaction"):
        legs_of[ml.match_id].append(ml.leg)
    counts = recon.lines.aggregate(
        total=Count("pk"),
        matched=Count("pk", filter=Q(match__isnull=False)),
        credit=Sum("amount", filter=Q(direction=StatementLine.Direction.CREDIT)),
        debit=Sum("amount", filter=Q(direction=StatementLine.Direction.DEBIT)),
    )
    return {
        "unmatched_lines": unmatched_lines,
        "unmatched_legs": [leg for leg in ledger if first <= leg.booked_on <= last]
        + [leg for leg in ledger if not first <= leg.booked_on <= last],
        "matches": [
            {
                "match": m,
                "lines": lines_of[m.pk],
                "legs": legs_of[m.pk],
                "amount": sum((leg.amount for leg in legs_of[m.pk]), Decimal("0")),
            }
            for m in shown
        ],
        "match_count": recon.matches.count(),
        "line_count": counts["total"],
        "matched_count": counts["matched"],
        "totals": {"credit": counts["credit"], "debit": counts["debit"]},
        "period_first": first,
        "period_last": last,
    }
