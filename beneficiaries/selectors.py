"""Reads on beneficiaries: search and filters, the applicable identity, pages, panels.

Every query starts from `scoped()` (the user's region subtree).
"""

import importlib
import re
from dataclasses import dataclass
from datetime import date

import django_filters
from django.db import connection, models
from django.db.models import Count, Exists, Func, OuterRef
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import (
    Enrollment,
    Identity,
    Person,
    RosterBatch,
    Subsidy,
    SubsidyBatch,
)
from core import idnumber
from core.choices import Category
from core.coverage import highest_ranked
from core.dates import shanghai_today
from core.models import Policy, Region
from core.scoping import scoped, user_region_codes

_ID_NUMBER = re.compile(r"\d{17}[\dX]")
_PHONE = re.compile(r"[\d\-+ ]{7,20}")


def visible_regions(user, *, levels=(Region.Level.CITY, Region.Level.COUNTY)):
    codes = user_region_codes(user)
    regions = Region.objects.filter(level__in=levels)
    if codes is not None:
        regions = regions.filter(code__in=codes)
    return regions.order_by("code")


def person_search(queryset, text: str):
    """One box for ID number (exact, via the unique index), phone (exact) or name (partial,
    via the pg_trgm index on PostgreSQL)."""
    text = (text or "").strip()
    if not text:
        return queryset
    number = idnumber.normalize(text)
    if _ID_NUMBER.fullmatch(number):
        return queryset.filter(id_number=number)
    if number.isdigit() and 15 <= len(number) <= 17:
        return queryset.none()  # an incomplete ID number: not a phone, not a name
    if _PHONE.fullmatch(text) and any(ch.isdigit() for ch in text):
        return queryset.filter(phone=text.replace(" ", ""))
    # Chinese names have no case: a plain LIKE '%…%', which the trigram index serves from
    # three characters on. One- and two-character queries (a given name: "建国") go through
    # the index of the name's 1- and 2-character substrings (migration 0005).
    if connection.vendor == "postgresql" and len(text) <= 2:
        return _short_name_search(queryset, text)
    return queryset.filter(name__contains=text)


# A short query matching more persons than this is common (a surname: ~1% of a region): its
# first page is near the top of the id-ordered walk, whatever the size of the register.
SHORT_SEARCH_PROBE = 500


def _short_name_search(queryset, text: str):
    """A one- or two-character name search at any register size (PostgreSQL).

    The substring index finds a rare query's few persons at once, but a common one ("王":
    40,000 of 4,000,000) would fetch and sort every match for one page, and the planner cannot
    tell the two apart from the LIKE and the index condition together (their selectivities are
    multiplied as if independent). So one probe asks the index for up to SHORT_SEARCH_PROBE
    persons in scope: a rare query is those ids; a common one is the LIKE alone, which the
    list's id-ordered index walk answers within a few thousand rows.
    """
    grams = queryset.order_by().alias(name_grams=NameGrams("name"))
    probe = list(
        grams.filter(name_grams__contains=[text]).values_list("pk", flat=True)[
            : SHORT_SEARCH_PROBE + 1
        ]
    )
    if len(probe) <= SHORT_SEARCH_PROBE:
        return queryset.filter(pk__in=probe)
    return queryset.filter(name__contains=text)


class NameGrams(Func):
    """person_name_grams(name): the 1- and 2-character substrings of a name (PostgreSQL)."""

    function = "person_name_grams"

    @property
    def output_field(self):
        from django.contrib.postgres.fields import ArrayField

        return ArrayField(models.TextField())


class PersonFilter(django_filters.FilterSet):
    """The person list's filters (region, category, status, enrollment) and search box."""

    STATUS_CHOICES = [
        ("active", _("有有效身份")),
        ("ended", _("身份已终止")),
        ("none", _("无救助身份")),
    ]
    ENROLLMENT_CHOICES = [
        ("resident", _("城乡居民医保")),
        ("employee", _("职工医保")),
        ("none", _("未参保")),
    ]

    q = django_filters.CharFilter(method="filter_q", label=_("身份证号 / 姓名 / 电话"))
    region = django_filters.ChoiceFilter(
        choices=[], method="filter_region", label=_("区划"), empty_label=_("全部区划")
    )
    category = django_filters.ChoiceFilter(
        choices=Category.choices,
        method="filter_category",
        label=_("类别"),
        empty_label=_("全部类别"),
    )
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES,
        method="filter_status",
        label=_("身份状态"),
        empty_label=_("全部状态"),
    )
    enrollment = django_filters.ChoiceFilter(
        choices=ENROLLMENT_CHOICES,
        method="filter_enrollment",
        label=_("参保情况"),
        empty_label=_("全部参保情况"),
    )
    year = django_filters.ChoiceFilter(
        choices=[], method="filter_year", label=_("参保年度"), empty_label=None
    )

    class Meta:
        model = Person
        fields = ["q", "region", "category", "status", "enrollment", "year"]

    def __init__(self, data=None, *args, user=None, **kwargs):
        self.day = shanghai_today()
        if data is not None and not data.get("year"):
            data = data.copy()
            data["year"] = str(self.day.year)
        super().__init__(data, *args, **kwargs)
        # Plain choices (no queryset): the list page must not query regions per option.
        self.regions = {r.code: r for r in visible_regions(user)}
        self.filters["region"].extra["choices"] = [(c, r.name) for c, r in self.regions.items()]
        years = range(self.day.year, 2019, -1)
        self.filters["year"].extra["choices"] = [(str(y), str(y)) for y in years]

    def filter_year(self, queryset, name, value):
        return queryset  # the year the enrollment filter looks at

    def filter_q(self, queryset, name, value):
        return person_search(queryset, value)

    def filter_region(self, queryset, name, value):
        region = self.regions[value]
        return queryset.filter(region_id__in=[c for c in self.regions if region.contains(c)])

    def _open_identities(self, **extra):
        return Identity.objects.open_on(self.day).filter(person=OuterRef("pk"), **extra)

    def filter_category(self, queryset, name, value):
        return queryset.filter(Exists(self._open_identities(category=value)))

    def filter_status(self, queryset, name, value):
        any_identity = Identity.objects.filter(person=OuterRef("pk"))
        if value == "active":
            return queryset.filter(Exists(self._open_identities()))
        if value == "ended":
            return queryset.filter(Exists(any_identity)).exclude(Exists(self._open_identities()))
        return queryset.exclude(Exists(any_identity))

    def filter_enrollment(self, queryset, name, value):
        year = int(self.form.cleaned_data.get("year") or self.day.year)
        enrolled = Enrollment.objects.filter(person=OuterRef("pk"), year=year)
        if value == "none":
            return queryset.exclude(Exists(enrolled))
        return queryset.filter(Exists(enrolled.filter(scheme=value)))


@dataclass
class CheapPage:
    """A page that knows whether there is a next one without counting every row.

    Counting a million persons for each list request is what makes lists slow; fetching one
    row more than the page size answers "is there a next page?" for free.
    """

    object_list: list
    number: int
    has_next: bool

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def cheap_page(queryset, page: str | int | None, per_page: int = 25) -> CheapPage:
    try:
        number = max(1, int(page or 1))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return CheapPage(rows[:per_page], number, len(rows) > per_page)


def person_list_rows(user, params, listing=None):
    """The person list's FilterSet and its filtered, scoped rows (sorted by `listing`)."""
    base = scoped(Person.objects.select_related("region"), user).order_by("-id")
    if listing is not None:
        base = listing.sort(base)
    person_filter = PersonFilter(params, queryset=base, user=user)
    rows = person_filter.qs if person_filter.is_valid() else base.none()
    return person_filter, rows


def with_current_category(persons: list) -> None:
    """Sets `current_category` (the label of the first open identity) on each person."""
    open_identities = Identity.objects.open_on(shanghai_today()).filter(
        person_id__in=[p.pk for p in persons]
    )
    held: dict[int, list[str]] = {}
    for person_id, category in open_identities.values_list("person_id", "category"):
        held.setdefault(person_id, []).append(category)
    order = {c: i for i, c in enumerate(Category.values)}
    for person in persons:
        categories = sorted(held.get(person.pk, []), key=order.get)
        person.current_category = Category(categories[0]).label if categories else ""


def person_list_page(user, params, page=None, per_page: int = 25, listing=None):
    """The filtered, scoped person list and one page of it (newest first by default)."""
    person_filter, rows = person_list_rows(user, params, listing)
    result = cheap_page(rows, page, per_page)
    with_current_category(result.object_list)
    return person_filter, result


def policy_for(person: Person, day: date) -> Policy | None:
    area = person.region.coordination_area
    return Policy.objects.in_force(area, day) if area else None


def applicable_identity(person: Person, day: date | None = None) -> Identity | None:
    """The highest-ranked identity covering `day` (就高不就低, W 三(三), P §17)."""
    day = day or shanghai_today()
    covering = [i for i in person.identities.all() if i.covers(day)]
    if not covering:
        return None
    policy = policy_for(person, day)
    rank = policy.rank() if policy else list(Category.values)
    best = highest_ranked((i.category for i in covering), rank)
    return min((i for i in covering if i.category == best), key=lambda i: i.start)


def person_detail_context(person: Person, user) -> dict:
    day = shanghai_today()
    identities = list(
        person.identities.select_related("region", "created_by", "last_roster").order_by(
            "-start", "-id"
        )
    )
    person._prefetched_objects_cache = {"identities": identities}
    applicable = applicable_identity(person, day)
    enrollments = person.enrollments.select_related("area").order_by("-year", "id")
    by_year: dict[int, list[Enrollment]] = {}
    for enrollment in enrollments:
        by_year.setdefault(enrollment.year, []).append(enrollment)
    household_members = (
        person.household.members.exclude(pk=person.pk).order_by("id")
        if person.household_id
        else Person.objects.none()
    )
    return {
        "person": person,
        "today": day,
        "identities": identities,
        "applicable": applicable,
        "enrollments_by_year": sorted(by_year.items(), reverse=True),
        "subsidies": person.subsidies.select_related("batch").order_by("-year"),
        "household_members": household_members,
        "panels": person_panels(person, user),
        "identity_history": identity_history(person),
    }


def identity_history(person: Person, limit: int = 20) -> list:
    """The latest changes to the person's identities: who, when, why (DOMAIN §3)."""
    rows = list(
        Identity.history.filter(person_id=person.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[:limit]
    )
    labels = {"+": _("认定"), "~": _("变更"), "-": _("删除")}
    for row in rows:
        row.action_label = labels.get(row.history_type, row.history_type)
        row.category_label = Category(row.category).label
    return rows


PANEL_PROVIDERS = ["claims.selectors", "monitoring.selectors", "funds.selectors"]


def person_panels(person: Person, user) -> list[dict]:
    """Sections later apps add to the person page (claims, alerts, …).

    Each provider module may define `person_panel(person, user) -> dict | None`; the dict has
    a "template" key (rendered with the dict as `panel`) and whatever that template needs.
    """
    panels = []
    for module_name in PANEL_PROVIDERS:
        module = importlib.import_module(module_name)  # later apps: no import at load time
        provider = getattr(module, "person_panel", None)
        if provider is None:
            continue
        panel = provider(person, user)
        if panel:
            panels.append(panel)
    return panels


def roster_batches(user):
    return scoped(RosterBatch.objects.select_related("region", "created_by", "applied_by"), user)


def subsidy_batches(user):
    return scoped(SubsidyBatch.objects.select_related("area", "created_by", "confirmed_by"), user)


def dashboard_context(user) -> dict:
    """Figures for the dashboard card (templates/beneficiaries/_dashboard.html)."""
    day = shanghai_today()
    open_identities = scoped(Identity.objects.open_on(day), user)
    labels = dict(Category.choices)
    counts = {c: 0 for c in Category.values}
    for row in open_identities.values("category").annotate(n=Count("id")).order_by():
        counts[row["category"]] = row["n"]
    return {
        "beneficiaries_by_category": [(labels[c], n) for c, n in counts.items()],
        "beneficiaries_active_total": sum(counts.values()),
        "beneficiaries_draft_rosters": roster_batches(user)
        .filter(status=RosterBatch.Status.DRAFT)
        .count(),
        "beneficiaries_draft_subsidy_batches": subsidy_batches(user)
        .filter(status=SubsidyBatch.Status.DRAFT)
        .count(),
        "beneficiaries_subsidies_this_year": scoped(
            Subsidy.objects.filter(year=day.year), user
        ).count(),
    }
