"""Department rosters (名单): read a file and plan what it changes (DOMAIN §9.1).

- ``read_roster(name, data)`` turns a .xlsx or .csv file into rows through the one reader
  (`core.tabular`, column spec `COLUMNS`; RosterFileError when the file is unusable, e.g. a
  required column is missing);
- ``roster_plan(...)`` matches every row with the department's identities and returns the new,
  changed, unchanged and terminated identities and the row errors, writing nothing.

Storing, previewing and applying a roster (the writes) are `beneficiaries.roster_services`.

A roster is the department's complete current list for the region on `as_of`: an identity of
that department in the region, open on `as_of`, that no row matches is terminated.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Max, Q
from django.utils.translation import gettext as _

from beneficiaries.models import Identity, Person, RosterBatch, RosterLine
from beneficiaries.services import (
    id_number_message,
)
from core import idnumber, tabular
from core.choices import Category, Department
from core.models import Region
from core.regions import resolve_region
from core.scoping import can_write
from core.tabular import Column, TableError, blank, cell_text

__all__ = [
    "COLUMNS",
    "RosterFileError",
    "RosterPlan",
    "read_roster",
    "roster_plan",
    "roster_preview",
]

# The columns of §9.1 (a `core.tabular` column spec): Chinese header, English header.
COLUMNS = [
    Column("name", ("姓名", "name")),
    Column("id_number", ("公民身份号码", "id_number")),
    Column("category", ("救助对象类别", "category")),
    Column("start", ("认定日期", "start")),
    Column("end", ("终止日期", "end"), required=False),
    Column("region_code", ("行政区划代码", "region_code")),
    Column("phone", ("联系电话", "phone"), required=False),
]

_CHUNK = 1000


class RosterFileError(Exception):
    """The file cannot be used at all (not a roster, unreadable, a required column missing)."""


@dataclass
class RosterFile:
    headers: dict[str, str]  # field -> header as written in the file
    rows: list[tuple[int, dict]]  # (spreadsheet row number, {field: raw cell value})


@dataclass(slots=True)  # one per row of files up to IMPORT_MAX_ROWS: no __dict__ each
class RosterRow:
    row: int
    id_number: str = ""
    name: str = ""
    category: str = ""
    start: date | None = None
    end: date | None = None
    region_code: str = ""
    phone: str = ""
    effect: str = ""  # new / changed / unchanged, once planned
    person: Person | None = None
    identity: Identity | None = None  # the matched identity (None for a new one)
    valid: bool = True

    @property
    def category_label(self) -> str:
        return Category(self.category).label if self.category else ""


@dataclass
class RosterPlan:
    department: str
    region: Region
    as_of: date
    rows: int = 0
    planned: list[RosterRow] = field(default_factory=list)
    terminations: list[tuple[Identity, date]] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def rows_with(self, effect: str) -> list[RosterRow]:
        return [row for row in self.planned if row.effect == effect]

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "new": len(self.rows_with(RosterLine.Effect.NEW)),
            "changed": len(self.rows_with(RosterLine.Effect.CHANGED)),
            "terminated": len(self.terminations),
            "unchanged": len(self.rows_with(RosterLine.Effect.UNCHANGED)),
        }

    def summary(self, *, applied: bool) -> dict:
        """The DOMAIN §9.1 JSON object."""
        return {**self.counts, "errors": self.errors, "applied": applied}


# --- Reading ------------------------------------------------------------------------------


def read_roster(name: str, data: bytes) -> RosterFile:
    """Rows of an .xlsx or .csv roster, read by `core.tabular` (the format decided by the
    content, not by `name`); header = row 1, blank rows skipped. The whole roster is planned
    in memory: past IMPORT_MAX_ROWS rows it is refused."""
    try:
        table = tabular.open_table(data, COLUMNS, limit_rows=True)
        columns = table.columns
        positions = list(columns.index.values())
        cells_of = _cells_type(list(columns.index))
        rows = [
            (number, cells_of(cells[i] if i < len(cells) else None for i in positions))
            for number, cells in table.rows()
        ]
    except TableError as exc:
        raise RosterFileError(str(exc)) from exc
    return RosterFile(headers=dict(columns.written), rows=rows)


class _Cells(tuple):
    """One row's cells by field, read like a dict (`cells["name"]`, `cells.get("phone")`) but
    a third of a dict's size: files up to IMPORT_MAX_ROWS rows are held while planned."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def get(self, key, default=None):
        index = self._index.get(key)
        return default if index is None else tuple.__getitem__(self, index)

    def keys(self):
        return self._index.keys()

    def items(self):
        return ((key, tuple.__getitem__(self, i)) for key, i in self._index.items())


def _cells_type(fields: list[str]) -> type[_Cells]:
    return type(
        "Cells", (_Cells,), {"__slots__": (), "_index": {k: i for i, k in enumerate(fields)}}
    )


def _category(value) -> str | None:
    text = cell_text(value)
    for code, label in Category.choices:
        if text in (code, str(label)):
            return code
    # The labels may be translated; the Chinese names of DOMAIN §1 are always accepted.
    chinese = {
        "特困人员": Category.DESTITUTE,
        "低保对象": Category.SUBSISTENCE,
        "易返贫致贫人口": Category.POVERTY_RISK,
        "返贫致贫人口": Category.POVERTY_RISK,
        "低保边缘家庭成员": Category.NEAR_SUBSISTENCE,
        "因病致贫重病患者": Category.ILLNESS_IMPOVERISHED,
        "其他特殊困难人员": Category.OTHER_SPECIAL,
    }
    return chinese.get(text)


# --- Planning -----------------------------------------------------------------------------


def roster_preview(
    *, name: str, data: bytes, department: str, region: Region, as_of: date, by=None
) -> RosterPlan:
    """Read and plan a roster file (raises RosterFileError when it is unusable). `by`: the
    user of a web import, whose rows must lie in their writable subtree (None: the system)."""
    return roster_plan(
        roster=read_roster(name, data), department=department, region=region, as_of=as_of, by=by
    )


def _validate_rows(roster: RosterFile, region: Region, plan: RosterPlan) -> list[RosterRow]:
    """Each row read and checked on its own, then the rows repeated in the file (§9.1)."""
    headers = roster.headers
    codes = {resolve_region(cell_text(cells.get("region_code"))) for _n, cells in roster.rows}
    known_regions = set(Region.objects.filter(code__in=codes).values_list("code", flat=True))

    def error(row: RosterRow, key: str, message: str):
        row.valid = False
        plan.errors.append({"row": row.row, "field": headers[key], "message": message})

    parsed = [
        _read_row(number, cells, region, known_regions, "phone" in headers, error)
        for number, cells in roster.rows
    ]
    _mark_repeated(parsed, error)
    return parsed


def _read_row(number, cells, region: Region, known_regions, has_phone: bool, error) -> RosterRow:
    """One roster row with its field errors (`error(row, field, message)`)."""
    row = RosterRow(row=number)
    row.name = cell_text(cells.get("name"))
    if not row.name:
        error(row, "name", _("必填项为空"))
    raw_id = cell_text(cells.get("id_number"))
    if not raw_id:
        error(row, "id_number", _("必填项为空"))
    else:
        try:
            row.id_number = idnumber.validate(raw_id)
        except idnumber.InvalidIdNumber as exc:
            error(row, "id_number", id_number_message(exc))
    raw_category = cells.get("category")
    if blank(raw_category):
        error(row, "category", _("必填项为空"))
    else:
        row.category = _category(raw_category) or ""
        if not row.category:
            message = _("未知的救助对象类别：%(value)s") % {"value": cell_text(raw_category)}
            error(row, "category", message)
    for key in ("start", "end"):
        raw = cells.get(key)
        try:
            setattr(row, key, tabular.parse_date(raw))  # the dates of §9, nothing else
        except ValueError:
            error(row, key, _("日期格式无效，应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD"))
            continue
        if key == "start" and blank(raw):
            error(row, key, _("必填项为空"))
    if row.start and row.end and row.end < row.start:
        error(row, "end", _("终止日期早于认定日期"))
    raw_region = cell_text(cells.get("region_code"))
    row.region_code = resolve_region(raw_region) or raw_region  # §8: old codes map
    if not row.region_code:
        error(row, "region_code", _("必填项为空"))
    elif row.region_code not in known_regions:
        error(row, "region_code", _("未知的行政区划代码：%(code)s") % {"code": row.region_code})
    elif not region.contains(row.region_code):
        error(row, "region_code", _("不在名单区划%(region)s范围内") % {"region": region.name})
    row.phone = cell_text(cells.get("phone")) if has_phone else ""
    return row


def _mark_repeated(parsed: list[RosterRow], error) -> None:
    """The same person and category twice in one file: both rows are wrong (§9.1)."""
    seen = defaultdict(list)
    for row in parsed:
        if row.id_number and row.category:
            seen[(row.id_number, row.category)].append(row)
    for rows in seen.values():
        if len(rows) > 1:
            numbers = "、".join(str(r.row) for r in rows)
            for row in rows:
                error(
                    row,
                    "id_number",
                    _("同一公民身份号码和类别在文件中重复出现（第 %(rows)s 行）")
                    % {"rows": numbers},
                )


def _open_on(identity: Identity, day: date) -> bool:
    """§9.1: an identity is open on `day` when start ≤ day and (no end, or end ≥ day)."""
    return identity.start <= day and (identity.end is None or identity.end >= day)


def roster_plan(
    *, roster: RosterFile, department: str, region: Region, as_of: date, by=None
) -> RosterPlan:
    """What applying `roster` would do; writes nothing.

    Matching (§9.1): a row is matched with this department's identity of the same person and
    category in the region, the one open on `as_of`, else the latest one.
    """
    _check_fresh(department, region, as_of)
    plan = RosterPlan(department=department, region=region, as_of=as_of, rows=len(roster.rows))
    rows = _validate_rows(roster, region, plan)
    subtree = set(region.subtree_codes())
    persons, identities = _known(rows)
    claimed: set[int] = set()
    for row in rows:
        # A row with a readable ID number and category claims its identity even when another
        # of its fields is wrong: the person is on the roster, so it is not a termination.
        if not (row.id_number and row.category):
            continue
        row.person = persons.get(row.id_number)
        same = identities.get((row.person.pk, row.category), []) if row.person else []
        mine = [i for i in same if i.department == department and i.region_id in subtree]
        open_now = [i for i in mine if _open_on(i, as_of)]
        matched = max(open_now or mine, key=lambda i: (i.start, i.pk), default=None)
        if matched is not None:
            claimed.add(matched.pk)
        if row.valid and _plan_row(row, matched, same, roster.headers, plan):
            plan.planned.append(row)
    if by is not None:
        _scope_rows(plan, roster, by)
    plan.terminations = _terminations(department, subtree, as_of, claimed)
    field_order = {header: i for i, header in enumerate(roster.headers.values())}
    plan.errors.sort(key=lambda e: (e["row"], field_order.get(e["field"], 99)))
    return plan


def _check_fresh(department: str, region: Region, as_of: date) -> None:
    """A known department, and a roster not older than the last one applied (§9.1)."""
    if department not in Department.values:
        raise RosterFileError(_("未知的来源部门：%(value)s") % {"value": department})
    latest = RosterBatch.objects.filter(
        department=department, region=region, status=RosterBatch.Status.APPLIED
    ).aggregate(latest=Max("as_of"))["latest"]
    if latest is not None and as_of < latest:
        # §9.1: a stale roster would terminate what a newer one recognised.
        raise RosterFileError(
            _("名单日期早于已导入的最新名单（%(date)s）") % {"date": latest.isoformat()}
        )


def _known(rows: list[RosterRow]):
    """The persons of the rows' ID numbers, and their identities by (person, category)."""
    numbers = sorted({row.id_number for row in rows if row.id_number})
    persons: dict[str, Person] = {}
    for i in range(0, len(numbers), _CHUNK):
        for person in Person.objects.filter(id_number__in=numbers[i : i + _CHUNK]):
            persons[person.id_number] = person
    identities: dict[tuple[int, str], list[Identity]] = defaultdict(list)
    person_ids = sorted(p.pk for p in persons.values())
    for i in range(0, len(person_ids), _CHUNK):
        for identity in Identity.objects.filter(person_id__in=person_ids[i : i + _CHUNK]):
            identities[(identity.person_id, identity.category)].append(identity)
    return persons, identities


def _plan_row(row: RosterRow, matched, same: list[Identity], headers, plan: RosterPlan) -> bool:
    """The effect of a valid row (new, changed, unchanged); False with a row error when the
    identity would overlap one of the same category recognised by another department."""
    if matched is None or (matched.end is not None and matched.end < row.start):
        row.effect = RosterLine.Effect.NEW  # unknown, or re-recognised after it ended
        others = same
    else:
        row.identity = matched
        equal = (
            matched.start == row.start
            and matched.end == row.end
            and matched.region_id == row.region_code
        )
        row.effect = RosterLine.Effect.UNCHANGED if equal else RosterLine.Effect.CHANGED
        others = [i for i in same if i.pk != matched.pk]
    clash = next(
        (
            i
            for i in others
            if (i.end is None or i.end >= row.start) and (row.end is None or i.start <= row.end)
        ),
        None,
    )
    if clash is None:
        return True
    row.valid = False
    row.effect = ""
    message = _("与%(department)s认定的同类别身份（%(start)s 起）期间重叠") % {
        "department": clash.get_department_display(),
        "start": clash.start.isoformat(),
    }
    plan.errors.append({"row": row.row, "field": headers["start"], "message": message})
    return False


def _terminations(department, subtree, as_of: date, claimed: set[int]):
    """(identity, end) for each identity of the department in the region, open on `as_of`,
    that no row claimed: it ends the day before `as_of` (its start, if that is later). One
    that starts after `as_of` is newer than the roster and is never terminated by it."""
    day_before = as_of - timedelta(days=1)
    still_open = (
        Identity.objects.filter(department=department, region_id__in=subtree, start__lte=as_of)
        .filter(Q(end__isnull=True) | Q(end__gte=as_of))
        .select_related("person")
        .order_by("person__id_number", "category")
    )
    terminations = []
    for identity in still_open.iterator(chunk_size=2000):
        if identity.pk in claimed:
            continue
        end = max(day_before, identity.start)
        if identity.end is not None and identity.end <= end:
            continue
        terminations.append((identity, end))
    return terminations


def _scope_rows(plan: RosterPlan, roster: RosterFile, by) -> None:
    """DOMAIN §8: a user's roster changes only their writable subtree — the row's region and,
    for a known person, the region the person is registered in now. Others are row errors."""
    kept = []
    for row in plan.planned:
        if not can_write(by, row.region_code):
            key, message = "region_code", _("行政区划不在您的辖区内，不能导入。")
        elif row.person is not None and not can_write(by, row.person.region_id):
            key, message = "id_number", _("该人员户籍不在您的辖区内，不能通过本名单变更。")
        else:
            kept.append(row)
            continue
        row.valid, row.effect = False, ""
        plan.errors.append({"row": row.row, "field": roster.headers[key], "message": message})
    plan.planned = kept
