"""The regional (自治区) comparison of the coordination areas (DOMAIN §8).

Each figure is one set-based query grouped by area (the 4-digit prefix of a region code, the
league/city of GB/T 2260), never a query per area: the page costs the same for 12 areas as
for 3.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr

from core.models import Region

ZERO = Decimal("0.00")
BANK_ACCOUNTS = ["1003", "1004"]  # 财政专户存款, 支出户存款 (funds' chart of subjects)


@dataclass
class AreaFigures:
    area: Region
    beneficiaries: dict[str, int] = field(default_factory=dict)
    applications: int = 0
    manual_paid: Decimal = ZERO
    onestop_paid: Decimal = ZERO
    fund_balance: Decimal = ZERO
    alerts: dict[str, int] = field(default_factory=dict)
    has_policy: bool = False

    @property
    def beneficiaries_total(self) -> int:
        return sum(self.beneficiaries.values())

    @property
    def alerts_total(self) -> int:
        return sum(self.alerts.values())

    @property
    def assistance_paid(self) -> Decimal:
        return self.manual_paid + self.onestop_paid

    @property
    def prefix(self) -> str:
        return self.area.prefix


def _by_prefix(rows, key: str = "prefix") -> dict[str, list[dict]]:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


def _beneficiaries(day: date) -> dict[str, dict[str, int]]:
    from beneficiaries.models import Identity

    rows = (
        Identity.objects.open_on(day)
        .annotate(prefix=Substr("person__region", 1, 4))
        .values("prefix", "category")
        .annotate(n=Count("person", distinct=True))
    )
    return {p: {r["category"]: r["n"] for r in rs} for p, rs in _by_prefix(rows).items()}


def _applications(year: int) -> dict[str, dict]:
    from claims.models import Application

    start, end = date(year, 1, 1), date(year, 12, 31)
    received = Q(received_on__gte=start, received_on__lte=end)
    paid = Q(status=Application.Status.PAID, paid_on__gte=start, paid_on__lte=end)
    rows = (
        Application.objects.filter(received | paid)
        .values("area_id")
        .annotate(n=Count("id", filter=received), paid=Sum("total", filter=paid))
    )
    return {r["area_id"][:4]: r for r in rows}


def _onestop(year: int) -> dict[str, Decimal]:
    from monitoring.models import Settlement

    rows = (
        Settlement.objects.filter(year=year)
        .annotate(prefix=Substr("insu_admdvs", 1, 4))
        .values("prefix")
        .annotate(paid=Sum("maf_pay"))
    )
    return {r["prefix"]: r["paid"] or ZERO for r in rows}


def _fund_balances(day: date) -> dict[str, Decimal]:
    from funds.models import Leg

    rows = (
        Leg.objects.filter(subject_id__in=BANK_ACCOUNTS, booked_on__lte=day)
        .values("fund__area_id")
        .annotate(balance=Sum("amount"))
    )
    return {r["fund__area_id"][:4]: r["balance"] or ZERO for r in rows}


def _open_alerts() -> dict[str, dict[str, int]]:
    from monitoring.models import Alert

    rows = (
        Alert.objects.filter(status__in=Alert.ACTIVE)
        .annotate(prefix=Substr("region", 1, 4))
        .values("prefix", "kind")
        .annotate(n=Count("id"))
    )
    return {p: {r["kind"]: r["n"] for r in rs} for p, rs in _by_prefix(rows).items()}


def _with_policy(day: date) -> set[str]:
    from core.models import Policy

    rows = Policy.objects.filter(valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )
    return {code[:4] for code in rows.values_list("area_id", flat=True)}


def area_comparison(year: int, day: date) -> list[AreaFigures]:
    """The figures of every league/city, in code order: identities open on `day` by
    category, applications received and assistance paid in `year` (manual: paid
    applications; one-stop: the settlements' 医疗救助基金支出 `maf_pay` of the year, by their
    `insu_admdvs`), the bank-account balance of the area's fund on `day`, open alerts by kind."""
    beneficiaries = _beneficiaries(day)
    applications = _applications(year)
    onestop = _onestop(year)
    balances = _fund_balances(day)
    alerts = _open_alerts()
    policies = _with_policy(day)
    figures = []
    for area in Region.objects.filter(level=Region.Level.CITY).order_by("code"):
        p = area.prefix
        apps = applications.get(p, {})
        figures.append(
            AreaFigures(
                area=area,
                beneficiaries=beneficiaries.get(p, {}),
                applications=apps.get("n") or 0,
                manual_paid=apps.get("paid") or ZERO,
                onestop_paid=onestop.get(p, ZERO),
                fund_balance=balances.get(p, ZERO),
                alerts=alerts.get(p, {}),
                has_policy=p in policies,
            )
        )
    return figures


def totals(figures: list[AreaFigures]) -> dict:
    """The region's totals of the same figures (the table's last row)."""
    categories: dict[str, int] = defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)
    for f in figures:
        for key, n in f.beneficiaries.items():
            categories[key] += n
        for key, n in f.alerts.items():
            kinds[key] += n
    return {
        "beneficiaries": dict(categories),
        "beneficiaries_total": sum(categories.values()),
        "applications": sum(f.applications for f in figures),
        "manual_paid": sum((f.manual_paid for f in figures), ZERO),
        "onestop_paid": sum((f.onestop_paid for f in figures), ZERO),
        "assistance_paid": sum((f.assistance_paid for f in figures), ZERO),
        "fund_balance": sum((f.fund_balance for f in figures), ZERO),
        "alerts": dict(kinds),
        "alerts_total": sum(kinds.values()),
    }
