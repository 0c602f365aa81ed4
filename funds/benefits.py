"""Benefit expense by beneficiary category and visit type (DOMAIN §6, §10 last bullet).

Amounts always come from the ledger: every leg of 500101/500102/500103 in the period. A
manual benefit (a paid reimbursement, a subsidy) carries its category and visit type on its
voucher. A cleared one-stop payment posts per payee and visit type, without category (its key
is `clearing:{area}:{YYYY-MM}:{payee}:{visit_type}`, §10), so its amount is split here by the
settlements the paid clearing holds for that payee and visit type:

- the category of a settlement is the highest-ranked identity covering it on its end date
  (§3, `core.coverage.identity_covers`: the inpatient stay rule or the outpatient day;
  ranked by the area's policy in force that day, 就高不就低), `other` when none covers it;
- outpatient is chronic or general by the visit type the settlement had when it was cleared
  (`ClearedSettlement.visit_type`, what the posting summed).

The held settlements' `maf_pay` sum to the posted amount exactly (the posting is their sum),
so the split adds up to the ledger to the cent. A reversal of a clearing voucher splits the
same way, negated. A clearing voucher whose holds do not add up (never expected) stays
uncategorised rather than changing the ledger's total.
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Sum

from core.choices import Category, VisitType
from core.coverage import HeldIdentity, highest_ranked, identity_covers
from funds.models import Fund, Leg, Subject, Transaction
from funds.models_clearing import ClearedSettlement, Clearing

ZERO = Decimal("0.00")
OTHER = "other"  # §10: no identity covers the settlement on its end date
UNCATEGORISED = ""  # a manual posting without category
VISIT_COLUMNS = [v.value for v in VisitType]
CHUNK = 2000

Key = tuple[int, str, str]  # (clearing id, payee, posting kind "inpatient"/"outpatient")


def _parse_clearing_key(key: str) -> tuple[str, str, str, int] | None:
    """(period, payee, kind, sign) of a clearing posting's key or of its reversal's key."""
    parts = key.split(":")
    sign = 1
    if parts and parts[-1] == "reversal":
        parts, sign = parts[:-1], -1
    if len(parts) < 5 or parts[0] != "clearing" or parts[-1] not in ("inpatient", "outpatient"):
        return None
    return parts[2], ":".join(parts[3:-1]), parts[-1], sign


def _visit_column(subject_id: str, visit_type: str) -> str:
    if visit_type in VISIT_COLUMNS:
        return visit_type
    return VisitType.INPATIENT if subject_id == Subject.INPATIENT else "general_outpatient"


class _Ranks:
    """Category rank of the area's policy in force on a day (default: §2's order)."""

    def __init__(self, area_code: str):
        from core.models import Policy

        self.policies = list(
            Policy.objects.filter(area_id=area_code).prefetch_related("categories")
        )
        self.cache: dict[date, list[str]] = {}

    def on(self, day: date) -> list[str]:
        if day not in self.cache:
            policy = next(
                (
                    p
                    for p in self.policies
                    if p.valid_from <= day and (p.valid_to is None or day <= p.valid_to)
                ),
                None,
            )
            self.cache[day] = policy.rank() if policy else list(Category.values)
        return self.cache[day]


def _category(identities: list[HeldIdentity], visit_type: str, begin: date, end: date, rank) -> str:
    """The highest-ranked category covering the settlement (§3, 就高不就低), or OTHER."""
    if visit_type == VisitType.INPATIENT:
        begin = min(begin, end)
    covering = [i.category for i in identities if identity_covers(i, visit_type, begin, end)]
    return highest_ranked(covering, rank) or OTHER


def _splits(fund: Fund, wanted: set[Key]) -> dict[Key, dict[tuple[str, str], Decimal]]:
    """For each (clearing, payee, kind): Σ maf_pay of its held settlements by (category,
    visit column). Set-based: persons without any identity are summed by the database."""
    from beneficiaries.models import Identity, Person

    splits: dict[Key, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    if not wanted:
        return splits
    pairs = Q()
    for clearing_id, payee, _kind in wanted:
        pairs |= Q(line__clearing_id=clearing_id, line__payee=payee)
    holders = Person.objects.filter(
        id_number=OuterRef("settlement__certno"), identities__isnull=False
    )
    held = ClearedSettlement.objects.filter(pairs).annotate(holder=Exists(holders))

    def key_of(row) -> Key | None:
        kind = "inpatient" if row["visit_type"] == VisitType.INPATIENT else "outpatient"
        key = (row["line__clearing_id"], row["line__payee"], kind)
        return key if key in wanted else None

    # Settlements of persons holding no identity at all: `other`, summed in SQL.
    for row in (
        held.filter(holder=False)
        .values("line__clearing_id", "line__payee", "visit_type")
        .annotate(total=Sum("settlement__maf_pay"))
        .order_by()
    ):
        key = key_of(row)
        if key is not None:
            splits[key][(OTHER, _visit_column("", row["visit_type"]))] += row["total"]

    # Identity holders: core.coverage decides coverage, per person and stay/day.
    rows = list(
        held.filter(holder=True)
        .values(
            "line__clearing_id",
            "line__payee",
            "visit_type",
            "settlement__certno",
            "settlement__begndate",
            "settlement__enddate",
        )
        .annotate(total=Sum("settlement__maf_pay"))
        .order_by()
    )
    certnos = sorted({r["settlement__certno"] for r in rows})
    identities: dict[str, list[HeldIdentity]] = defaultdict(list)
    for start in range(0, len(certnos), CHUNK):
        for certno, category, begin, end in Identity.objects.filter(
            person__id_number__in=certnos[start : start + CHUNK]
        ).values_list("person__id_number", "category", "start", "end"):
            identities[certno].append(HeldIdentity(category, begin, end))
    ranks = _Ranks(fund.area_id)
    for row in rows:
        key = key_of(row)
        if key is None:
            continue
        end = row["settlement__enddate"]
        holdings = identities[row["settlement__certno"]]
        visit_type, begin = row["visit_type"], row["settlement__begndate"]
        category = _category(holdings, visit_type, begin, end, ranks.on(end))
        splits[key][(category, _visit_column("", row["visit_type"]))] += row["total"]
    return splits


def benefit_table(fund: Fund, start: date, end: date) -> dict[str, dict[str, dict[str, Decimal]]]:
    """{category: {"onestop"|"manual": {visit column: amount}, "subsidy": {"subsidy": amount}}}
    for the benefit legs booked in [start, end]. Categories: §1's, `other`, "" (manual
    postings without category). The grand total equals the ledger's Σ of 5001's legs."""
    legs = Leg.objects.filter(
        fund=fund, booked_on__gte=start, booked_on__lte=end, subject__parent_id="5001"
    )
    table: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(Decimal)))
    # Clearing postings and their reversals: a few per payee and month, found by the key's
    # index (a prefix search), not by scanning the month's legs.
    clearing_vouchers = list(
        Transaction.objects.filter(
            fund=fund,
            status=Transaction.Status.POSTED,
            booked_on__gte=start,
            booked_on__lte=end,
            key__startswith="clearing:",
        ).values_list("pk", flat=True)
    )
    # Manual benefits and subsidies: summed by the database per category and visit type.
    for subject_id, category, visit_type, total in (
        legs.exclude(transaction_id__in=clearing_vouchers)
        .values("subject_id", "transaction__category", "transaction__visit_type")
        .annotate(total=Sum("amount"))
        .values_list("subject_id", "transaction__category", "transaction__visit_type", "total")
        .order_by()
    ):
        if subject_id == Subject.SUBSIDY:
            table[category or UNCATEGORISED]["subsidy"]["subsidy"] += total
        else:
            column = _visit_column(subject_id, visit_type)
            table[category or UNCATEGORISED]["manual"][column] += total

    # Clearing postings (a few per payee and month): which (clearing, payee, kind) each pays.
    periods: dict[str, int | None] = {}
    clearing_legs = []
    for subject_id, key, visit_type, total in legs.filter(
        transaction_id__in=clearing_vouchers
    ).values_list("subject_id", "transaction__key", "transaction__visit_type", "amount"):
        parsed = _parse_clearing_key(key)
        if parsed is None or subject_id == Subject.SUBSIDY:
            table[UNCATEGORISED]["onestop"][_visit_column(subject_id, visit_type)] += total
            continue
        period, payee, kind, sign = parsed
        clearing_legs.append((period, payee, kind, sign, subject_id, visit_type, total))
        periods[period] = None
    if clearing_legs:
        for clearing in Clearing.objects.filter(fund=fund, status=Clearing.Status.PAID):
            if clearing.period in periods:
                periods[clearing.period] = clearing.pk
        wanted = {
            (periods[p], payee, kind)
            for p, payee, kind, *_rest in clearing_legs
            if periods[p] is not None
        }
        splits = _splits(fund, wanted)
        for period, payee, kind, sign, subject_id, visit_type, total in clearing_legs:
            split = splits.get((periods[period], payee, kind), {})
            if sum(split.values(), ZERO) * sign == total:
                for (category, column), amount in split.items():
                    table[category]["onestop"][column] += sign * amount
            else:  # holds that do not add up: keep the ledger's amount, uncategorised
                table[UNCATEGORISED]["onestop"][_visit_column(subject_id, visit_type)] += total
    return table
