"""Sortable columns and "export what you see" for the portal's lists (issue #19).

A list declares its columns once; the same declaration gives the header links
(`?sort=col` / `?sort=-col`, with an arrow on the active column), the ORDER BY (only
whitelisted keys reach the database, with the primary key as a stable tie-break), and the
`.xlsx` export (same filters, same order, the cells as the screen shows them, ID numbers
masked, every cell through `core.exports.safe_cell`):

    COLUMNS = [Column("name", _("姓名"), ("name",), lambda p: p.name), ...]
    listing = Listing(request.GET, COLUMNS)  # no ?sort=: the queryset's own order
    rows = listing.sort(queryset)
    if listing.exporting:
        return listing.export(rows, filename="persons", by=request.user, request=request)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from core.exports import safe_row

__all__ = ["EXPORT_LIMIT", "Column", "Listing"]

# A list export is for working a queue in Excel, not a bulk extract: past this many rows the
# sheet stops with a line saying so (bulk extracts have their own commands, DOMAIN §9).
EXPORT_LIMIT = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Column:
    """One column of a list: its sort key, header, ORDER BY fields and export cell."""

    key: str
    label: Any
    order: tuple = ()  # field names or expressions
    value: Callable[[Any], Any] | None = None
    align: str = ""

    @property
    def sortable(self) -> bool:
        return bool(self.order)


class Listing:
    """A list's sort state, read from the query string and limited to its columns."""

    def __init__(self, params, columns: Sequence[Column], *, default: str = ""):
        self.params = params
        self.columns = list(columns)
        self.by_key = {c.key: c for c in self.columns if c.sortable}
        requested = (params.get("sort") or "").strip()
        self.key, self.descending = self._parse(requested) or self._parse(default) or ("", False)
        self.exporting = params.get("export") == "xlsx"

    def _parse(self, text: str) -> tuple[str, bool] | None:
        key = text.removeprefix("-")
        return (key, text.startswith("-")) if key in self.by_key else None

    @property
    def sort_param(self) -> str:
        return ("-" if self.descending else "") + self.key

    def order_by(self) -> list:
        column = self.by_key.get(self.key)
        fields = list(column.order) if column else []
        tiebreak = "pk"
        expressions = []
        for field in fields:  # a field name or an expression (Coalesce("burden", "amount"))
            value = F(field) if isinstance(field, str) else field
            expressions.append(
                value.desc(nulls_last=True) if self.descending else value.asc(nulls_last=True)
            )
        # A stable secondary order: equal keys keep one order from page to page.
        expressions.append(F(tiebreak).desc() if self.descending else F(tiebreak).asc())
        return expressions

    def sort(self, queryset: QuerySet) -> QuerySet:
        """The rows in the chosen order; without a (valid) choice, the list's own order."""
        return queryset.order_by(*self.order_by()) if self.key else queryset

    def _query(self, **changes) -> str:
        query = self.params.copy()
        for name in ("page", "export", "sort"):
            query.pop(name, None)
        for name, value in changes.items():
            query[name] = value
        return query.urlencode()

    def _sorted(self) -> dict:
        return {"sort": self.sort_param} if self.key else {}

    @property
    def query(self) -> str:
        """The filters and sort, without page: what pagination links carry."""
        return self._query(**self._sorted())

    @property
    def export_query(self) -> str:
        return self._query(**self._sorted(), export="xlsx")

    def header(self, key: str):
        """The header cell's content: a link that sorts by the column (or flips it)."""
        column = next(c for c in self.columns if c.key == key)
        if not column.sortable:
            return column.label
        active = key == self.key
        target = f"-{key}" if active and not self.descending else key
        if active:
            icon = "bi-caret-down-fill" if self.descending else "bi-caret-up-fill"
            state = _("降序") if self.descending else _("升序")
        else:
            icon, state = "bi-chevron-expand text-secondary opacity-50", ""
        return format_html(
            '<a class="sort-link text-reset text-decoration-none" href="?{}"{}>{} '
            '<i class="bi {}" aria-hidden="true"></i><span class="visually-hidden">{}</span></a>',
            self._query(sort=target),
            format_html(' aria-sort="{}"', "descending" if self.descending else "ascending")
            if active
            else "",
            column.label,
            icon,
            state,
        )

    def export(
        self,
        rows: Iterable,
        *,
        filename: str,
        by=None,
        request=None,
        prepare: Callable[[list], None] | None = None,
        sheet_title: str | None = None,
    ) -> HttpResponse:
        """The rows as one `.xlsx` sheet (write-only, streamed in chunks); logs the export."""
        import openpyxl

        from core.audit import audit_event
        from core.models import AuditEvent

        exported = [c for c in self.columns if c.value is not None]
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet((sheet_title or filename)[:31])
        sheet.append(safe_row([str(c.label) for c in exported]))
        count = 0
        for chunk in _chunks(rows, 2000):
            if count + len(chunk) > EXPORT_LIMIT:
                chunk = chunk[: EXPORT_LIMIT - count]
            if prepare is not None:
                prepare(chunk)
            for row in chunk:
                sheet.append(safe_row([_cell(c.value(row)) for c in exported]))
            count += len(chunk)
            if count >= EXPORT_LIMIT:
                sheet.append([_("仅导出前 %(n)s 行，请缩小筛选范围。") % {"n": EXPORT_LIMIT}])
                break
        if by is not None:
            audit_event(
                by=by,
                action=AuditEvent.Action.EXPORT,
                request=request,
                what=filename,
                filters=self.query,
                rows=count,
            )
        response = HttpResponse(content_type=XLSX)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.xlsx"'
        book.save(response)
        return response


def _cell(value):
    """Lazy translations and choice labels become plain text; numbers and dates stay."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, (int, float, str, Decimal, date)):
        return value
    return str(value)


def _chunks(rows: Iterable, size: int):
    iterator = rows.iterator(chunk_size=size) if isinstance(rows, QuerySet) else iter(rows)
    chunk: list = []
    for row in iterator:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
