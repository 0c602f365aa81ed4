"""Department rosters (名单): read a file, plan what it changes, apply it (DOMAIN §9.1).

One service for the web UI (upload → preview → confirm) and `manage.py import_roster`:

- ``read_roster(name, data)`` turns a .xlsx or .csv file into rows (RosterFileError when the
  file is unusable, e.g. a required column is missing);
- ``roster_plan(...)`` matches every row with the department's identities and returns the new,
  changed, unchanged and terminated identities and the row errors, writing nothing;
- ``roster_apply(...)`` writes a plan without errors in one transaction, recorded as an
  applied RosterBatch with one RosterLine per identity it touched.

A roster is the department's complete current list for the region on `as_of`: an identity of
that department in the region, open on `as_of`, that no row matches is terminated.
"""

import codecs
import csv
import io
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.models import Identity, Person, RosterBatch, RosterLine, RosterPreviewRow
from beneficiaries.services import (
    id_number_message,
    identity_change,
    identity_grant,
    identity_terminate,
    person_register,
    person_update,
)
from claims import corrections
from core import idnumber, tabular
from core.choices import Category, Department
from core.models import Region
from core.regions import resolve_region
from core.scoping import can_write, check_allowed
from core.tabular import TableError, count_rows, xlsx_rows

__all__ = [
    "COLUMNS",
    "RosterFileError",
    "RosterPlan",
    "read_roster",
    "roster_apply",
    "roster_plan",
    "roster_preview",
]

# field: (Chinese header, English header, required)
COLUMNS = {
    "name": ("姓名", "name", True),
    "id_number": ("公民身份号码", "id_number", True),
    "category": ("救助对象类别", "category", True),
    "start": ("认定日期", "start", True),
    "end": ("终止日期", "end", False),
    "region_code": ("行政区划代码", "region_code", True),
    "phone": ("联系电话", "phone", False),
}

_CHUNK = 1000
STORED_ERRORS = 1000  # row errors kept on a draft batch for its preview page


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
    """Rows of an .xlsx or .csv roster (decided by the content, not by `name`); header =
    row 1, blank rows skipped."""
    try:
        kind = tabular.sniff_format(data)
    except tabular.TableError as exc:
        raise RosterFileError(_("文件不是 CSV 或 Excel（.xlsx）格式。")) from exc
    if kind == "xlsx":
        table = _xlsx_rows(data)
    else:
        table = _csv_rows(data)
    header = next(table, None)
    if header is None:
        raise RosterFileError(_("文件为空，没有表头行。"))
    headers = _map_headers(header)
    cells_of = _cells_type(list(headers))
    columns = list(headers.values())
    rows = []
    for number, cells in enumerate(table, start=2):
        if all(_blank(cell) for cell in cells):
            continue
        width = len(cells)
        rows.append((number, cells_of(cells[i] if i < width else None for i in columns)))
    return RosterFile(
        headers={key: _header_text(header[i]) for key, i in headers.items()}, rows=rows
    )


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


def _xlsx_rows(data: bytes):
    # core.tabular refuses zip bombs and over-long sheets before and while openpyxl reads.
    rows = xlsx_rows(io.BytesIO(data))

    def generate():
        try:
            yield from rows
        except TableError as exc:
            raise RosterFileError(str(exc)) from exc

    return generate()


def _csv_rows(data: bytes):
    # The whole roster is planned in memory: past IMPORT_MAX_ROWS rows it is refused.
    rows = count_rows(_csv_records(data))

    def generate():
        try:
            yield from rows
        except TableError as exc:
            raise RosterFileError(str(exc)) from exc

    return generate()


def _csv_records(data: bytes):
    if data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise RosterFileError(_("无法识别文件编码（应为 UTF-8 或 GB18030）。")) from exc
    if "\x00" in text:
        raise RosterFileError(_("文件不是 CSV 或 Excel（.xlsx）格式。"))
    return iter(csv.reader(io.StringIO(text, newline="")))


def _header_text(cell) -> str:
    return "" if cell is None else str(cell).strip().lstrip("\ufeff").strip()


def _map_headers(header: list) -> dict[str, int]:
    twice = tabular.repeated_header(header)
    if twice is not None:
        raise RosterFileError(_("表头中“%(column)s”列出现了两次。") % {"column": twice})
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        text = _header_text(cell)
        for key, (chinese, english, _required) in COLUMNS.items():
            if text == chinese or text.lower() == english:
                if key in found:  # 姓名 and name: one column twice (§9)
                    raise RosterFileError(
                        _("表头中“%(column)s”列出现了两次。") % {"column": chinese}
                    )
                found[key] = index
    missing = [
        chinese for key, (chinese, _e, required) in COLUMNS.items() if required and key not in found
    ]
    if missing:
        raise RosterFileError(_("缺少必需的列：%(columns)s") % {"columns": "、".join(missing)})
    return found


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    """A cell as text: Excel numbers (150302, 13904730001.0) lose the float tail."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


def parse_date(value) -> date | None:
    """A date of DOMAIN §9 (`YYYY-MM-DD`, `YYYY/M/D`, `YYYYMMDD` or a real date cell of an
    .xlsx file); raises ValueError for anything else, None for an empty cell."""
    return tabular.parse_date(value)


def _category(value) -> str | None:
    text = _text(value)
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
    headers = roster.headers
    known_regions = set(
        Region.objects.filter(
            code__in={resolve_region(_text(cells.get("region_code"))) for _n, cells in roster.rows}
        ).values_list("code", flat=True)
    )
    parsed = []

    def error(row: RosterRow, key: str, message: str):
        row.valid = False
        plan.errors.append({"row": row.row, "field": headers[key], "message": message})

    for number, cells in roster.rows:
        row = RosterRow(row=number)
        row.name = _text(cells.get("name"))
        if not row.name:
            error(row, "name", _("必填项为空"))
        raw_id = _text(cells.get("id_number"))
        if not raw_id:
            error(row, "id_number", _("必填项为空"))
        else:
            try:
                row.id_number = idnumber.validate(raw_id)
            except idnumber.InvalidIdNumber as exc:
                error(row, "id_number", id_number_message(exc))
        raw_category = cells.get("category")
        if _blank(raw_category):
            error(row, "category", _("必填项为空"))
        else:
            row.category = _category(raw_category) or ""
            if not row.category:
                error(
                    row,
                    "category",
                    _("未知的救助对象类别：%(value)s") % {"value": _text(raw_category)},
                )
        for key in ("start", "end"):
            raw = cells.get(key)
            try:
                setattr(row, key, parse_date(raw))
            except ValueError:
                error(row, key, _("日期格式无效，应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD"))
                continue
            if key == "start" and _blank(raw):
                error(row, key, _("必填项为空"))
        if row.start and row.end and row.end < row.start:
            error(row, "end", _("终止日期早于认定日期"))
        raw_region = _text(cells.get("region_code"))
        row.region_code = resolve_region(raw_region) or raw_region  # §8: old codes map
        if not row.region_code:
            error(row, "region_code", _("必填项为空"))
        elif row.region_code not in known_regions:
            error(row, "region_code", _("未知的行政区划代码：%(code)s") % {"code": row.region_code})
        elif not region.contains(row.region_code):
            error(
                row,
                "region_code",
                _("不在名单区划%(region)s范围内") % {"region": region.name},
            )
        row.phone = _text(cells.get("phone")) if "phone" in headers else ""
        parsed.append(row)

    # The same person and category twice in one file: both rows are wrong (§9.1).
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
    return parsed


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
    plan = RosterPlan(department=department, region=region, as_of=as_of, rows=len(roster.rows))
    rows = _validate_rows(roster, region, plan)
    subtree = set(region.subtree_codes())

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
        if not row.valid:
            continue
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
        if clash is not None:
            row.valid = False
            row.effect = ""
            plan.errors.append(
                {
                    "row": row.row,
                    "field": roster.headers["start"],
                    "message": _("与%(department)s认定的同类别身份（%(start)s 起）期间重叠")
                    % {
                        "department": clash.get_department_display(),
                        "start": clash.start.isoformat(),
                    },
                }
            )
            continue
        plan.planned.append(row)
    if by is not None:
        _scope_rows(plan, roster, by)

    day_before = as_of - timedelta(days=1)
    # Open on as_of (§9.1); an identity that starts after as_of is newer than the roster and
    # is never terminated by it.
    still_open = (
        Identity.objects.filter(department=department, region_id__in=subtree, start__lte=as_of)
        .filter(Q(end__isnull=True) | Q(end__gte=as_of))
        .select_related("person")
        .order_by("person__id_number", "category")
    )
    for identity in still_open.iterator(chunk_size=2000):
        if identity.pk in claimed:
            continue
        end = max(day_before, identity.start)
        if identity.end is not None and identity.end <= end:
            continue
        plan.terminations.append((identity, end))

    field_order = {header: i for i, header in enumerate(roster.headers.values())}
    plan.errors.sort(key=lambda e: (e["row"], field_order.get(e["field"], 99)))
    return plan


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


# --- Applying -----------------------------------------------------------------------------


def _latest_roster_dates(person_ids: list[int]) -> dict[int, date]:
    latest = {}
    for i in range(0, len(person_ids), _CHUNK):
        latest.update(
            RosterLine.objects.filter(
                person_id__in=person_ids[i : i + _CHUNK], batch__status=RosterBatch.Status.APPLIED
            )
            .values_list("person_id")
            .annotate(latest=Max("batch__as_of"))
        )
    return latest


def roster_batch_create(
    *,
    name: str,
    data: bytes,
    department: str,
    region: Region,
    as_of: date,
    by,
    preview: bool = True,
) -> RosterBatch:
    """Store an uploaded roster as a draft batch and, with `preview`, its preview: the file is
    read and planned once here, the pages show what was stored. `by=None` is the system (the
    `import_roster` command); a user is checked here, and the preview is planned as theirs."""
    if by is not None:
        check_allowed(by, "beneficiaries.add_rosterbatch", region.code)
    with transaction.atomic():
        batch = RosterBatch(
            department=department, region=region, as_of=as_of, file_name=name[:200], created_by=by
        )
        batch.file.save(name, ContentFile(data), save=False)
        batch._history_user = by
        batch.save()
        if preview:
            _store_preview(batch, data, by)
    return batch


def roster_batch_preview(batch: RosterBatch) -> dict:
    """The stored preview of a draft batch (planned now, once, for a batch stored without)."""
    if not batch.preview:
        with batch.file.open("rb") as handle:
            data = handle.read()
        with transaction.atomic():
            _store_preview(batch, data, batch.created_by)
    return batch.preview


def _store_preview(batch: RosterBatch, data: bytes, by) -> None:
    batch.preview_rows.all().delete()
    try:
        plan = roster_preview(
            name=batch.file_name,
            data=data,
            department=batch.department,
            region=batch.region,
            as_of=batch.as_of,
            by=by,
        )
    except RosterFileError as exc:
        batch.preview = {"file_error": str(exc)}
    else:
        rows = (
            RosterPreviewRow(
                batch=batch,
                row=row.row,
                effect=row.effect,
                name=row.name[:100],
                id_number=row.id_number,
                category=row.category,
                start=row.start,
                end=row.end,
                region_code=row.region_code,
                new_person=row.person is None,
                before=(
                    {
                        "start": row.identity.start.isoformat(),
                        "end": row.identity.end.isoformat() if row.identity.end else None,
                        "region": row.identity.region_id,
                    }
                    if row.identity is not None
                    else {}
                ),
            )
            for row in plan.planned
        )
        terminations = (
            RosterPreviewRow(
                batch=batch,
                effect=RosterLine.Effect.TERMINATED,
                name=identity.person.name[:100],
                id_number=identity.person.id_number,
                category=identity.category,
                start=identity.start,
                end=end,
                region_code=identity.region_id,
            )
            for identity, end in plan.terminations
        )
        # Built and written a chunk at a time: a 200,000-row roster never holds them all.
        chunk = []
        for preview_row in itertools.chain(rows, terminations):
            chunk.append(preview_row)
            if len(chunk) == 2000:
                RosterPreviewRow.objects.bulk_create(chunk)
                chunk = []
        RosterPreviewRow.objects.bulk_create(chunk)
        batch.preview = {
            "counts": plan.counts,
            "errors": plan.errors[:STORED_ERRORS],
            "error_count": len(plan.errors),
        }
    RosterBatch.objects.filter(pk=batch.pk).update(preview=batch.preview)


def roster_batch_plan(batch: RosterBatch, by=None) -> RosterPlan:
    with batch.file.open("rb") as handle:
        data = handle.read()
    return roster_preview(
        name=batch.file_name,
        data=data,
        department=batch.department,
        region=batch.region,
        as_of=batch.as_of,
        by=by,
    )


def roster_apply(*, batch: RosterBatch, by) -> RosterPlan:
    """Apply a draft roster batch in one transaction; refused (nothing written) with row errors.

    Invariant: a batch is applied once (claimed with a conditional update), and a roster with
    a bad row never half-applies. A user (`by`; None is the system) applies only a batch of
    their writable subtree whose rows all lie in it.
    """
    if by is not None:
        check_allowed(by, "beneficiaries.add_rosterbatch", batch.region_id)
    with transaction.atomic():
        claimed = RosterBatch.objects.filter(pk=batch.pk, status=RosterBatch.Status.DRAFT).update(
            status=RosterBatch.Status.APPLIED, applied_by=by, applied_at=timezone.now()
        )
        if claimed != 1:
            raise ValidationError(_("该名单已导入，不能重复确认。"))
        batch.refresh_from_db()
        plan = roster_batch_plan(batch, by=by)
        if plan.errors:
            raise ValidationError(
                _("名单有 %(count)s 处错误，未导入。") % {"count": len(plan.errors)}
            )
        _write(plan, batch, by)
        corrections.note_roster_batch(batch)  # the re-assessment it queues shows on its page
        batch.preview_rows.all().delete()  # the lines now say what the roster did
    return plan


def _write(plan: RosterPlan, batch: RosterBatch, by) -> None:
    department = batch.get_department_display()
    document = _("%(department)s名单（%(date)s）") % {
        "department": department,
        "date": batch.as_of.isoformat(),
    }
    regions = {
        r.code: r for r in Region.objects.filter(code__in={row.region_code for row in plan.planned})
    }
    lines = []
    touched_persons = {row.person.pk for row in plan.planned if row.person}
    latest = _latest_roster_dates(sorted(touched_persons))
    created: dict[str, Person] = {}

    for row in plan.planned:
        region = regions[row.region_code]
        person = row.person or created.get(row.id_number)
        if person is None:
            person = person_register(
                id_number=row.id_number, name=row.name, region=region, phone=row.phone, by=by
            )
            created[row.id_number] = person
        elif person.pk in touched_persons and latest.get(person.pk, date.min) <= batch.as_of:
            # The person's name and household region follow the latest roster (§9.1).
            changes = {"name": row.name, "region": region}
            if row.phone:
                changes["phone"] = row.phone
            person_update(person=person, by=by, reason=document, **changes)
        before = {}
        if row.effect == RosterLine.Effect.NEW:
            identity = identity_grant(
                person=person,
                category=row.category,
                start=row.start,
                end=row.end,
                region=region,
                department=batch.department,
                document=document,
                reason=document,
                by=by,
            )
        else:
            identity = row.identity
            before = {
                "start": identity.start.isoformat(),
                "end": identity.end.isoformat() if identity.end else None,
                "region": identity.region_id,
            }
            if row.effect == RosterLine.Effect.CHANGED:
                identity = identity_change(
                    identity=identity,
                    start=row.start,
                    end=row.end,
                    clear_end=row.end is None,
                    region=region,
                    reason=document,
                    by=by,
                )
        lines.append(
            RosterLine(
                batch=batch,
                row=row.row,
                effect=row.effect,
                person=person,
                identity=identity,
                category=row.category,
                start=row.start,
                end=row.end,
                before=before if row.effect == RosterLine.Effect.CHANGED else {},
            )
        )

    reason = _("未列入%(department)s %(date)s 名单") % {
        "department": department,
        "date": batch.as_of.isoformat(),
    }
    for identity, end in plan.terminations:
        before = {
            "start": identity.start.isoformat(),
            "end": identity.end.isoformat() if identity.end else None,
        }
        identity_terminate(identity=identity, end=end, reason=reason, by=by)
        lines.append(
            RosterLine(
                batch=batch,
                effect=RosterLine.Effect.TERMINATED,
                person_id=identity.person_id,
                identity=identity,
                category=identity.category,
                start=identity.start,
                end=end,
                before=before,
            )
        )
    RosterLine.objects.bulk_create(lines, batch_size=1000)
    confirmed = [line.identity_id for line in lines if line.effect != RosterLine.Effect.TERMINATED]
    for i in range(0, len(confirmed), _CHUNK):
        Identity.objects.filter(pk__in=confirmed[i : i + _CHUNK]).update(last_roster=batch)
    counts = plan.counts
    for key, value in counts.items():
        setattr(batch, key, value)
    batch._history_user = by
    batch.save(update_fields=list(counts))


def roster_import(
    *,
    name: str,
    data: bytes,
    department: str,
    region: Region,
    as_of: date,
    by,
    dry_run: bool = False,
) -> dict:
    """The `import_roster` command in one call: plan, and apply unless there are errors or
    `dry_run`. Returns the §9.1 JSON object. The command passes `by=None` (the system)."""
    plan = roster_preview(
        name=name, data=data, department=department, region=region, as_of=as_of, by=by
    )
    if plan.errors or dry_run:
        return plan.summary(applied=False)
    with transaction.atomic():
        batch = roster_batch_create(
            name=name,
            data=data,
            department=department,
            region=region,
            as_of=as_of,
            by=by,
            preview=False,
        )
        plan = roster_apply(batch=batch, by=by)
    return plan.summary(applied=True)
