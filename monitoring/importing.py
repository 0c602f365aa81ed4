"""Settlement extract import (DOMAIN §9.2): one streaming pass, checks in SQL, all-or-nothing.

The file is read row by row (csv module / openpyxl read-only) and never held in memory. Each
row is checked on its own in Python (required fields, amounts, dates, ID number, region) and
streamed into a session-local staging table (PostgreSQL COPY; executemany on SQLite). The
checks that need the whole file or the database — a `setl_id` repeated in the file, a
`setl_id` already imported with other values, a reversal naming an unknown settlement — are
set-based SQL over the staging table. Only when no row has an error are the new rows merged
into `monitoring_settlement`, in one statement, so "exit 1 = nothing was written" holds.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter

from django.db import connection, transaction
from django.utils.translation import gettext as _

from claims.institutions import register_from_settlements
from core import idnumber, tabular
from core.identifiers import normalize_identifier
from core.models import Region
from core.money import money

from .medical_types import medical_type_lookup, unknown_codes

STAGE = "monitoring_settlement_stage"
CHUNK = 20_000
MAX_ERRORS = 10_000  # a file with more bad rows reports the first 10,000

# (field, aliases, required) in the platform's field codes; aliases are the 5203 extract names.
COLUMNS: list[tuple[str, tuple[str, ...], bool]] = [
    ("setl_id", (), True),
    ("psn_name", (), True),
    ("certno", (), True),
    ("insutype", (), True),
    ("med_type", (), True),
    ("begndate", (), True),
    ("enddate", (), True),
    ("setl_time", (), True),
    ("fixmedins_code", (), True),
    ("fixmedins_name", (), True),
    ("insu_admdvs", ("insu_optins",), True),  # 5203: 参保机构医保区划
    ("medfee_sumamt", (), True),
    ("inscp_scp_amt", ("inscp_amt",), True),
    ("fulamt_ownpay_amt", (), True),
    ("hifp_pay", (), True),
    ("hifmi_pay", (), True),
    ("maf_pay", (), True),
    ("fund_pay_sumamt", (), True),
    ("psn_part_amt", ("psn_pay",), True),
    # Not `ownpay_hosp_part` (自费中医院负担部分): another quantity, ignored like any column.
    ("hosp_part_amt", (), False),
    ("refd_setl_flag", (), False),
    ("init_setl_id", (), False),
    ("vali_flag", (), False),
    ("psn_cert_type", (), False),
]
AMOUNTS = [
    "medfee_sumamt",
    "inscp_scp_amt",
    "fulamt_ownpay_amt",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "hosp_part_amt",
]
INSUTYPES = frozenset({"310", "390", "320", "330", "340", "392", "510"})
RESIDENT_ID_CERT_TYPE = "01"
FIELD_ORDER = {name: i for i, (name, _a, _r) in enumerate(COLUMNS)}

# Staging and target columns, in this order (rowno and status are staging-only).
STAGE_COLUMNS = [
    "setl_id",
    "psn_name",
    "certno",
    "psn_cert_type",
    "insutype",
    "med_type",
    "visit_type",
    "begndate",
    "enddate",
    "year",
    "setl_time",
    "fixmedins_code",
    "fixmedins_name",
    "insu_admdvs",
    *AMOUNTS,
    "refd_setl_flag",
    "init_setl_id",
]
# Compared to tell an identical re-import (skipped) from a conflicting one (row error).
COMPARED = [c for c in STAGE_COLUMNS if c not in ("setl_id", "visit_type", "year")]

# Row status in the staging table.
NEW, INVALID, REPEATED, CONFLICT, SAME, NO_TARGET = 0, 1, 2, 3, 4, 5


class ImportFileError(Exception):
    """The file cannot be used at all (unreadable, no header, a required column missing)."""


@dataclass
class RowError:
    row: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass
class ImportResult:
    rows: int = 0
    imported: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    applied: bool = False
    batch_id: int | None = None
    seconds: float = 0.0
    # Not part of the §9.2 output: rows with `vali_flag = 0` (counted as skipped), rows the
    # COPY path handed to the row checker, and the checker of the file's header.
    ignored: int = 0
    irregular: int = 0
    # The file's med_type codes the medical-type dictionary lacks: [{"code", "rows"}] (§9.2).
    unknown_med_types: list[dict] = field(default_factory=list)
    checker: _RowChecker | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """The §9.2 JSON object."""
        return {
            "rows": self.rows,
            "imported": self.imported,
            "skipped": self.skipped,
            "errors": [e.as_dict() for e in self.errors],
            "applied": self.applied,
        }


Progress = Callable[[str, int, int], None]


# --- Reading ----------------------------------------------------------------------------


class _Source:
    """Rows of a CSV or xlsx file as lists of cell values, with progress units."""

    def __init__(self, path: str):
        self.path = str(path)
        self.total = 1
        self.position = 0
        try:
            self.size = os.path.getsize(self.path)
            # §9: .xlsx or .csv, decided by the content whatever the name says.
            self.is_xlsx = tabular.sniff_format(self.path) == "xlsx"
        except OSError as exc:
            raise ImportFileError(_("无法读取文件：%(error)s") % {"error": exc}) from exc
        except tabular.TableError as exc:
            raise ImportFileError(_("文件不是 CSV 或 Excel（.xlsx）格式")) from exc

    def rows(self, encoding: str) -> Iterator[list]:
        if self.is_xlsx:
            yield from self._xlsx_rows()
        else:
            yield from self._csv_rows(encoding)

    def _csv_rows(self, encoding: str) -> Iterator[list]:
        self.total = self.size or 1
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            for count, record in enumerate(csv.reader(text)):
                if count % 4096 == 0:
                    self.position = raw.tell()
                yield record
            self.position = self.total

    def _xlsx_rows(self) -> Iterator[list]:
        from core.tabular import TableError, xlsx_rows

        def opened(sheet):
            self.total = sheet.max_row or 1

        # core.tabular refuses zip bombs and over-long sheets before and while openpyxl reads.
        try:
            for count, values in enumerate(xlsx_rows(self.path, on_open=opened)):
                self.position = count
                yield ["" if v is None else v for v in values]
        except TableError as exc:
            raise ImportFileError(str(exc)) from exc
        self.position = self.total


def _header_map(header: list) -> dict[str, tuple[int, str]]:
    """Field code → (column index, header as written)."""
    twice = tabular.repeated_header(header)
    if twice is not None:
        raise ImportFileError(_("表头中“%(column)s”列出现了两次") % {"column": twice})
    seen: dict[str, tuple[int, str]] = {}
    for index, cell in enumerate(header):
        written = str(cell).strip().lstrip("\ufeff")
        if written:
            seen.setdefault(written.lower(), (index, written))
    columns: dict[str, tuple[int, str]] = {}
    missing = []
    for name, aliases, required in COLUMNS:
        for candidate in (name, *aliases):
            if candidate in seen:
                columns[name] = seen[candidate]
                break
        else:
            if required:
                missing.append(name)
    if missing:
        raise ImportFileError(_("缺少必需的列：%(columns)s") % {"columns": ", ".join(missing)})
    return columns


# --- Row checks (pure Python, cheap) -----------------------------------------------------

_CENT = Decimal("0.01")
_LIMIT = Decimal("1000000000000")  # DecimalField(14, 2)


_FAST_TEXT = [
    "setl_id",
    "psn_name",
    "certno",
    "insutype",
    "med_type",
    "begndate",
    "enddate",
    "setl_time",
    "fixmedins_code",
    "fixmedins_name",
    "insu_admdvs",
]
_FAST_OPTIONAL = ["vali_flag", "refd_setl_flag", "init_setl_id", "psn_cert_type"]
# One amount as the fast path accepts it: optional minus, up to 12 digits, up to 2 decimals.
_AMOUNT = r"(-?)(\d{1,12})(?:\.(\d{1,2}))?"
CHECK_CHARS = idnumber.CHECK_CHARS
# Plain forms the fast path takes as written; anything else is the checker's (DOMAIN §9).
_PLAIN_ID = re.compile(r"[!-~]*", re.ASCII).fullmatch  # printable ASCII, no space
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII).fullmatch
_PLAIN_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?", re.ASCII).fullmatch


class _Bad(Exception):
    def __init__(self, message: str):
        self.message = message


def _text(value) -> str:
    if value.__class__ is str:
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _amount(value) -> tuple[Decimal, str]:
    """An amount of DOMAIN §9 (plain decimal, ≤ 2 decimals, optional minus and thousands
    commas) and its canonical text (no commas)."""
    if value.__class__ is str and not value.strip():
        raise _Bad(_("不能为空"))
    try:
        amount = tabular.parse_amount_exact(value)
    except tabular.AmountError as exc:
        if exc.code == "decimals":
            raise _Bad(_("金额最多两位小数")) from None
        raise _Bad(_("不是有效金额")) from None
    if amount is None:
        raise _Bad(_("不能为空"))
    if abs(amount) >= _LIMIT:
        raise _Bad(_("不是有效金额"))
    return amount, str(amount)


def _date(value) -> date:
    """A date of DOMAIN §9; a time part (` HH:MM[:SS]`) after it is accepted and dropped."""
    if _blank_cell(value):
        raise _Bad(_("不能为空"))
    try:
        return tabular.parse_date(value, time_part=True)
    except ValueError:
        raise _Bad(_("日期格式应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD")) from None


def _timestamp(value) -> datetime:
    """`setl_time`: a date of DOMAIN §9 with or without a time part (` HH:MM[:SS]`)."""
    if _blank_cell(value):
        raise _Bad(_("不能为空"))
    try:
        moment = tabular.parse_datetime(value)
    except ValueError:
        raise _Bad(_("时间格式应为 YYYY-MM-DD HH:MM:SS")) from None
    if moment.tzinfo is None:
        # DOMAIN §9: times of the platform are China time.
        moment = moment.replace(tzinfo=idnumber.CHINA_TZ)
    return moment


def _blank_cell(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _utc_text(moment: datetime) -> str:
    """The form Django stores a datetime in (UTC), so staged and saved rows compare equal."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


class _RowChecker:
    def __init__(self, columns: dict[str, tuple[int, str]], regions: set[str]):
        self.columns = columns
        self.regions = regions
        # §9.2: med_type → visit type by the medical-type dictionary, loaded once per import;
        # the COPY path builds its SQL from this same lookup (`pgcopy._Layout.view_sql`).
        self.medical_types = medical_type_lookup()
        self.written = {name: written for name, (_i, written) in columns.items()}
        self.index = {name: i for name, (i, _w) in columns.items()}
        self.today = idnumber._today()

    def header(self, name: str) -> str:
        return self.written.get(name, name)

    def prepare_fast(self, pg: bool) -> None:
        """Column getters for `fast()`."""
        index = self.index
        self.pg = pg
        self.width = max(index.values()) + 1
        self.get_text = itemgetter(*(index[n] for n in _FAST_TEXT))
        optional = [n for n in _FAST_OPTIONAL if n in index]
        self.optional_names = optional
        positions = [index[n] for n in optional]
        self.get_optional = (
            itemgetter(*positions)
            if len(positions) > 1
            else (lambda values: tuple(values[i] for i in positions))
        )
        amounts = [n for n in AMOUNTS if n in index]
        self.has_hosp = "hosp_part_amt" in index
        self.get_amounts = itemgetter(*(index[n] for n in amounts))
        self.amounts_pattern = re.compile("\x00".join([_AMOUNT] * len(AMOUNTS)), re.ASCII)
        self.valid_ids: set[str] = set()
        self.births: dict[str, bool] = {}
        self.dates: dict[str, date] = {}
        self.today_text = f"{self.today:%Y%m%d}"

    def _fast_id(self, certno: str) -> bool:
        """A well-formed resident ID number (upper-case X), checked without allocation-heavy
        normalising; anything unusual goes to the full validator in `check()`."""
        if certno in self.valid_ids:
            return True
        if len(certno) != 18:
            return False
        first17, last = certno[:17], certno[17]
        if not (first17.isdigit() and first17.isascii()) or last not in CHECK_CHARS:
            return False
        born = certno[6:14]
        ok = self.births.get(born)
        if ok is None:
            try:
                ok = date(int(born[:4]), int(born[4:6]), int(born[6:])) >= idnumber.EARLIEST_BIRTH
            except ValueError:
                ok = False
            ok = ok and born <= self.today_text
            self.births[born] = ok
        if not ok:
            return False
        # The check digit is verified set-based in SQL (`_recheck_sql`), not row by row here.
        if len(self.valid_ids) > 1_000_000:
            self.valid_ids.clear()
        self.valid_ids.add(certno)
        return True

    def fast(self, values: list, rowno: int):
        """The staged row of a plainly valid CSV row, as a COPY line on PostgreSQL (a tuple on
        SQLite); None when anything needs a closer look — then `check()` decides and words the
        errors. Amounts are checked in integer fen, ID numbers and dates are memoised: this is
        the hot loop of a 10-million-row extract."""
        if len(values) < self.width:
            return None
        try:
            setl_id, name, certno, insutype, med_type, begn, end, stime, fcode, fname, admdvs = map(
                str.strip, self.get_text(values)
            )
            optional = dict(
                zip(self.optional_names, map(str.strip, self.get_optional(values)), strict=True)
            )
            amounts = "\x00".join(map(str.strip, self.get_amounts(values)))
        except TypeError:  # not text (an xlsx cell)
            return None
        vali = optional.get("vali_flag", "")
        refd = optional.get("refd_setl_flag", "")
        init_id = optional.get("init_setl_id", "")
        cert_type = optional.get("psn_cert_type", "")
        if not (setl_id and name and certno and insutype and med_type and fcode and fname):
            return None
        if not (_PLAIN_ID(setl_id) and _PLAIN_ID(init_id)):  # to normalize: the checker's
            return None
        if vali not in ("1", "") or refd not in ("0", "1", "") or insutype not in INSUTYPES:
            return None
        if admdvs not in self.regions or cert_type not in ("", RESIDENT_ID_CERT_TYPE):
            return None
        if len(setl_id) > 40 or len(name) > 50 or len(fname) > 200 or len(fcode) > 30:
            return None
        if len(med_type) > 10 or len(init_id) > 40:
            return None
        reversal = refd == "1"
        if reversal and not init_id:
            return None
        if not self._fast_id(certno):
            return None
        dates = self.dates
        begndate = dates.get(begn)
        enddate = dates.get(end)
        if begndate is None or enddate is None:
            try:
                if not (_ISO_DAY(begn) and _ISO_DAY(end)):  # not 2025-W10-3, not １２…
                    return None
                begndate = dates[begn] = date.fromisoformat(begn)
                enddate = dates[end] = date.fromisoformat(end)
            except ValueError:
                return None
            if len(dates) > 100_000:
                dates.clear()
        if enddate < begndate:
            return None
        if not _PLAIN_STAMP(stime):
            return None
        try:
            moment = datetime.fromisoformat(stime)
        except ValueError:
            return None
        if not self.has_hosp:
            amounts += "\x000"
        match = self.amounts_pattern.fullmatch(amounts)
        if match is None:
            if self.has_hosp and amounts.endswith("\x00"):
                amounts += "0"  # an empty hosp_part_amt is 0
                match = self.amounts_pattern.fullmatch(amounts)
            if match is None:
                return None
        # Signs and sums of the amounts are verified set-based in SQL (`_recheck_sql`).
        visit = self.medical_types.visit_type(med_type, admdvs)
        if not self.pg:
            stamp = _utc_text(_timestamp(moment))
            return (
                rowno,
                NEW,
                setl_id,
                name,
                certno,
                cert_type,
                insutype,
                med_type,
                visit,
                begndate,
                enddate,
                enddate.year,
                stamp,
                fcode,
                fname,
                admdvs,
                *amounts.split("\x00"),
                reversal,
                init_id,
            )
        stamp = moment.isoformat() if moment.tzinfo else moment.isoformat() + "+08:00"
        line = (
            f"{rowno}\t0\t{setl_id}\t{name}\t{certno}\t{cert_type}\t{insutype}\t{med_type}\t"
            f"{visit}\t{begn}\t{end}\t{enddate.year}\t{stamp}\t{fcode}\t{fname}\t{admdvs}\t"
            f"{amounts.replace(chr(0), chr(9))}\t{'t' if reversal else 'f'}\t{init_id}\n"
        )
        # Text needing COPY escapes (rare in the platform's extract) takes the careful path.
        if "\\" in line or "\r" in line or line.count("\t") != _TABS or line.count("\n") != 1:
            return None
        return line

    def check(self, values: list, rowno: int):
        """(staged row tuple or None when ignored, list of RowError)."""
        errors: list[RowError] = []
        index = self.index
        width = len(values)

        def cell(name):
            i = index.get(name)
            if i is None or i >= width:
                return ""
            return values[i]

        def bad(name, message):
            errors.append(RowError(rowno, self.header(name), message))

        vali_flag = _text(cell("vali_flag")) or "1"
        if vali_flag == "0":
            return None, errors
        if vali_flag != "1":
            bad("vali_flag", _("有效标志应为 0 或 1"))

        texts = {}
        for name in (
            "setl_id",
            "psn_name",
            "certno",
            "insutype",
            "med_type",
            "fixmedins_code",
            "fixmedins_name",
            "insu_admdvs",
        ):
            value = _text(cell(name))
            if name == "setl_id":
                value = normalize_identifier(value)  # §9: identifiers compared normalized
            if not value:
                bad(name, _("不能为空"))
            texts[name] = value
        setl_id = texts["setl_id"]
        if len(setl_id) > 40:
            bad("setl_id", _("结算ID过长"))
        if len(texts["psn_name"]) > 50:
            bad("psn_name", _("姓名过长"))
        if len(texts["fixmedins_name"]) > 200 or len(texts["fixmedins_code"]) > 30:
            bad("fixmedins_name", _("机构名称或编号过长"))

        cert_type = _text(cell("psn_cert_type"))
        if len(cert_type) > 6:
            bad("psn_cert_type", _("证件类型代码过长"))
            cert_type = ""
        certno = texts["certno"]
        if certno:
            if cert_type in ("", RESIDENT_ID_CERT_TYPE):
                try:
                    certno = idnumber.validate(certno, today=self.today)
                except idnumber.InvalidIdNumber as exc:
                    bad("certno", exc.message)
            else:
                certno = normalize_identifier(certno)
                if len(certno) > 30:
                    bad("certno", _("证件号码过长"))
        insutype = texts["insutype"]
        if insutype and insutype not in INSUTYPES:
            bad("insutype", _("险种类型不在允许范围内"))
        med_type = texts["med_type"]
        if len(med_type) > 10:
            bad("med_type", _("医疗类别过长"))
        admdvs = texts["insu_admdvs"]
        if admdvs and admdvs not in self.regions:
            bad("insu_admdvs", _("医保区划代码未知"))

        begndate = enddate = setl_time = None
        for name in ("begndate", "enddate"):
            try:
                parsed = _date(cell(name))
            except _Bad as exc:
                bad(name, exc.message)
                continue
            if name == "begndate":
                begndate = parsed
            else:
                enddate = parsed
        if begndate and enddate and enddate < begndate:
            bad("enddate", _("结束日期早于开始日期"))
        try:
            setl_time = _timestamp(cell("setl_time"))
        except _Bad as exc:
            bad("setl_time", exc.message)

        refd = _text(cell("refd_setl_flag")) or "0"
        if refd not in ("0", "1"):
            bad("refd_setl_flag", _("退费结算标志应为 0 或 1"))
        reversal = refd == "1"
        init_setl_id = normalize_identifier(_text(cell("init_setl_id")))
        if reversal and not init_setl_id:
            bad("init_setl_id", _("退费结算须填写原结算ID"))
        if len(init_setl_id) > 40:
            bad("init_setl_id", _("原结算ID过长"))

        amounts: dict[str, Decimal] = {}
        amount_texts: dict[str, str] = {}
        for name in AMOUNTS:
            raw = cell(name)
            if name == "hosp_part_amt" and (raw == "" or raw is None):
                amounts[name], amount_texts[name] = Decimal(0), "0"
                continue
            try:
                amounts[name], amount_texts[name] = _amount(raw)
            except _Bad as exc:
                bad(name, exc.message)
        if len(amounts) == len(AMOUNTS):
            self._check_amounts(amounts, reversal, bad)

        if errors:
            # Only kept to find repeats and reversal targets; the columns hold 40 characters.
            return (rowno, INVALID, setl_id[:40], init_setl_id[:40], reversal), errors
        row = (
            rowno,
            NEW,
            setl_id,
            texts["psn_name"],
            certno,
            cert_type,
            insutype,
            med_type,
            self.medical_types.visit_type(med_type, admdvs),
            begndate,
            enddate,
            enddate.year,
            _utc_text(setl_time),
            texts["fixmedins_code"],
            texts["fixmedins_name"],
            admdvs,
            *(amount_texts[name] for name in AMOUNTS),
            reversal,
            init_setl_id,
        )
        return row, errors

    @staticmethod
    def _check_amounts(a: dict[str, Decimal], reversal: bool, bad) -> None:
        if reversal:
            # A reversal has every amount ≤ 0 and the same checks on absolute values.
            positive = [name for name in AMOUNTS if a[name] > 0]
            for name in positive:
                bad(name, _("退费结算的金额应小于或等于0"))
            a = {name: abs(value) for name, value in a.items()}
        else:
            for name in AMOUNTS:
                if a[name] < 0:
                    bad(name, _("金额不能为负数"))
        if a["inscp_scp_amt"] > a["medfee_sumamt"]:
            bad("inscp_scp_amt", _("符合政策范围金额大于医疗费总额"))
        if a["hifp_pay"] + a["hifmi_pay"] > a["inscp_scp_amt"]:
            bad("hifp_pay", _("统筹基金与大病保险支出之和大于符合政策范围金额"))
        if a["psn_part_amt"] != a["medfee_sumamt"] - a["fund_pay_sumamt"] - a["hosp_part_amt"]:
            bad("psn_part_amt", _("个人负担总金额应等于医疗费总额减基金支付总额减医院负担金额"))


# --- Staging table ------------------------------------------------------------------------


def _vendor() -> str:
    return connection.vendor


def _stage_name() -> str:
    return f"pg_temp.{STAGE}" if _vendor() == "postgresql" else f"temp.{STAGE}"


def _create_stage(cursor) -> None:
    numeric = "numeric(14,2)" if _vendor() == "postgresql" else "NUMERIC"
    stamp = "timestamptz" if _vendor() == "postgresql" else "TEXT"
    boolean = "boolean" if _vendor() == "postgresql" else "INTEGER"
    cursor.execute(f"DROP TABLE IF EXISTS {_stage_name()}")
    amounts = ", ".join(f"{name} {numeric}" for name in AMOUNTS)
    cursor.execute(
        f"CREATE TEMP TABLE {STAGE} ("
        "rowno integer NOT NULL, status smallint NOT NULL, setl_id varchar(40), "
        "psn_name varchar(50), certno varchar(30), psn_cert_type varchar(6), "
        "insutype varchar(6), med_type varchar(10), visit_type varchar(20), "
        f"begndate date, enddate date, year smallint, setl_time {stamp}, "
        "fixmedins_code varchar(30), fixmedins_name varchar(200), insu_admdvs varchar(6), "
        f"{amounts}, refd_setl_flag {boolean}, init_setl_id varchar(40))"
    )


def _drop_stage() -> None:
    try:
        with connection.cursor() as cursor:
            if _vendor() == "postgresql":
                from . import pgcopy

                pgcopy.drop(cursor)  # the raw table, with the view named like the stage
            cursor.execute(f"DROP TABLE IF EXISTS {_stage_name()}")
    except Exception:  # the connection may be in an aborted transaction
        pass


_ALL_STAGE = ["rowno", "status", *STAGE_COLUMNS]
_INVALID_STAGE = ["rowno", "status", "setl_id", "init_setl_id", "refd_setl_flag"]
_TABS = len(_ALL_STAGE) - 1  # separators of a well-formed COPY line


class _StageWriter:
    """Buffers staged rows and writes them in chunks (COPY on PostgreSQL)."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.valid: list[tuple] = []
        self.invalid: list[tuple] = []
        self.lines: list[str] = []
        self.pg = _vendor() == "postgresql"

    def add(self, row: tuple) -> None:
        (self.valid if row[1] == NEW else self.invalid).append(row)
        if len(self.valid) >= CHUNK:
            self.flush()

    def add_line(self, line: str) -> None:
        """A valid row already formatted as a COPY text line (the fast path)."""
        self.lines.append(line)
        if len(self.lines) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            sql = f"COPY {STAGE} ({', '.join(_ALL_STAGE)}) FROM STDIN"
            with self.cursor.copy(sql) as copy:
                copy.write("".join(self.lines))
            self.lines.clear()
        for rows, columns in ((self.valid, _ALL_STAGE), (self.invalid, _INVALID_STAGE)):
            if not rows:
                continue
            if self.pg:
                sql = f"COPY {STAGE} ({', '.join(columns)}) FROM STDIN"
                with self.cursor.copy(sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                self.cursor.executemany(
                    f"INSERT INTO {STAGE} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            rows.clear()


# --- Set-based checks and merge -----------------------------------------------------------


def _differs(outer: str) -> str:
    """A stored row differs from a staged one (compared as numbers and dates, not text). A
    missing or empty `psn_cert_type` means a resident ID (`01`), so the two are equal."""

    def compare(c: str) -> str:
        if c == "psn_cert_type":
            cert = f"'{RESIDENT_ID_CERT_TYPE}'"
            stored, staged = (f"COALESCE(NULLIF({t}.{c}, ''), {cert})" for t in ("t", outer))
            return f"{stored} <> {staged}"
        return f"t.{c} <> {outer}.{c}"

    return " OR ".join(compare(c) for c in COMPARED)


def _recheck_sql() -> str:
    """Rows the fast path admitted that may break an amount rule or the ID check digit."""
    pg = _vendor() == "postgresql"
    greatest, least = ("GREATEST", "LEAST") if pg else ("MAX", "MIN")
    amounts = ", ".join(AMOUNTS)
    weights = " + ".join(
        f"CAST(substr(certno, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(idnumber.WEIGHTS)
    )
    mismatch = (
        "psn_part_amt <> medfee_sumamt - fund_pay_sumamt - hosp_part_amt"
        if pg
        else "abs(psn_part_amt - (medfee_sumamt - fund_pay_sumamt - hosp_part_amt)) > 0.001"
    )
    return (
        f"SELECT rowno, {', '.join(STAGE_COLUMNS)} FROM {STAGE} WHERE status = {NEW} AND ("
        f"(CASE WHEN refd_setl_flag THEN {greatest}({amounts}) > 0 "
        f"ELSE {least}({amounts}) < 0 END) "
        "OR abs(inscp_scp_amt) > abs(medfee_sumamt) "
        "OR abs(hifp_pay) + abs(hifmi_pay) > abs(inscp_scp_amt) "
        f"OR {mismatch} "
        "OR (psn_cert_type IN ('', '01') AND "
        f"substr('{CHECK_CHARS}', (({weights}) % 11) + 1, 1) <> substr(certno, 18, 1)))"
    )


def _recheck(cursor, checker: _RowChecker, errors: list[RowError]) -> None:
    """Word the errors of the rows `_recheck_sql` finds with the row checker itself, so they
    read exactly as when a row is checked in Python, and mark those rows invalid."""
    cursor.execute(_recheck_sql())
    bad: list[int] = []
    position = checker.index
    width = max(position.values()) + 1
    while batch := cursor.fetchmany(5000):
        for record in batch:
            rowno, staged = record[0], dict(zip(STAGE_COLUMNS, record[1:], strict=True))
            values = [""] * width
            for name, i in position.items():
                value = staged.get(name, "")
                if name == "refd_setl_flag":
                    value = "1" if value else "0"
                elif name == "vali_flag":
                    value = "1"
                elif name in AMOUNTS:
                    value = str(money(str(value)))
                elif isinstance(value, datetime):
                    values[i] = value  # setl_time: the checker takes the moment as it is
                    continue
                elif isinstance(value, date):
                    value = value.isoformat()
                values[i] = "" if value is None else str(value)
            _row, row_errors = checker.check(values, rowno)
            if row_errors:
                bad.append(rowno)
                if len(errors) < MAX_ERRORS:
                    errors.extend(row_errors)
    for start in range(0, len(bad), 5000):
        chunk = bad[start : start + 5000]
        cursor.execute(
            f"UPDATE {STAGE} SET status = {INVALID} WHERE rowno IN "
            f"({', '.join(['%s'] * len(chunk))})",
            chunk,
        )


def _sql_checks(cursor, checker: _RowChecker, errors: list[RowError], *, recheck: bool) -> None:
    """Mark and report the rows whose error needs the whole file or the database. `recheck`:
    the rows were staged by the streaming path (whose fast path leaves some rules to SQL)."""
    stage = STAGE
    if recheck:
        _recheck(cursor, checker, errors)
        cursor.execute(f"CREATE INDEX {STAGE}_setl ON {stage} (setl_id)")
    if _vendor() == "postgresql":
        # The file's rows meet a table of tens of millions by its unique setl_id index: probe
        # it row by row instead of hashing the whole table (a monthly extract is mostly new).
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")

    # A setl_id repeated in the file: its later rows are errors.
    repeated = (
        f"SELECT rowno FROM (SELECT rowno, ROW_NUMBER() OVER "
        f"(PARTITION BY setl_id ORDER BY rowno) AS rn FROM {stage} WHERE setl_id <> '') d "
        "WHERE rn > 1"
    )
    cursor.execute(f"{repeated} ORDER BY rowno LIMIT {MAX_ERRORS}")
    message = _("结算ID在文件中重复")
    found = [RowError(r, checker.header("setl_id"), message) for (r,) in cursor.fetchall()]
    errors.extend(found)
    if found:  # the window again only when there is something to mark
        cursor.execute(f"UPDATE {stage} SET status = {REPEATED} WHERE rowno IN ({repeated})")

    # Already imported: identical values are skipped, other values are an error.
    target = "monitoring_settlement"
    cursor.execute(
        f"UPDATE {stage} SET status = {SAME} WHERE status = {NEW} AND EXISTS "
        f"(SELECT 1 FROM {target} t WHERE t.setl_id = {stage}.setl_id)"
    )
    cursor.execute(
        f"UPDATE {stage} SET status = {CONFLICT} WHERE status = {SAME} AND EXISTS "
        f"(SELECT 1 FROM {target} t WHERE t.setl_id = {stage}.setl_id "
        f"AND ({_differs(stage)}))"
    )
    cursor.execute(
        f"SELECT rowno FROM {stage} WHERE status = {CONFLICT} ORDER BY rowno LIMIT {MAX_ERRORS}"
    )
    message = _("该结算ID已导入，但数据与已导入的不一致")
    errors.extend(RowError(r, checker.header("setl_id"), message) for (r,) in cursor.fetchall())

    # A reversal names a settlement already imported or in the same file (any order).
    no_target = (
        f"SELECT s.rowno FROM {stage} s WHERE s.status = {NEW} AND s.refd_setl_flag "
        f"AND NOT EXISTS (SELECT 1 FROM {stage} x WHERE x.setl_id = s.init_setl_id) "
        f"AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.setl_id = s.init_setl_id)"
    )
    cursor.execute(f"{no_target} ORDER BY s.rowno LIMIT {MAX_ERRORS}")
    message = _("原结算ID不存在（未导入且不在本文件中）")
    errors.extend(
        RowError(r, checker.header("init_setl_id"), message) for (r,) in cursor.fetchall()
    )
    cursor.execute(f"UPDATE {STAGE} SET status = {NO_TARGET} WHERE rowno IN ({no_target})")


def _scope_checks(cursor, checker: _RowChecker, errors: list[RowError], by) -> None:
    """DOMAIN §8: a user imports only rows of their writable region subtree. A row's region
    is its person's registered region (certno → person), else the row's `insu_admdvs`; a row
    outside is a row error, so nothing of the file is written."""
    from beneficiaries.models import Person
    from core.scoping import writable_codes

    codes = writable_codes(by)
    if codes is None:
        return
    person = Person._meta.db_table
    outside = (
        f"COALESCE(p.region_id, s.insu_admdvs) NOT IN ({', '.join(['%s'] * len(codes))})"
        if codes
        else "1 = 1"
    )
    found = (
        f"SELECT s.rowno, p.region_id FROM {STAGE} s "
        f"LEFT JOIN {person} p ON p.id_number = s.certno "
        f"WHERE s.status <> {INVALID} AND {outside}"
    )
    cursor.execute(f"{found} ORDER BY s.rowno LIMIT {MAX_ERRORS}", codes)
    rows = cursor.fetchall()
    for rowno, registered in rows:
        if registered is not None:
            errors.append(
                RowError(rowno, checker.header("certno"), _("该人员不属于您的辖区，不能导入。"))
            )
        else:
            errors.append(
                RowError(
                    rowno, checker.header("insu_admdvs"), _("医保区划不在您的辖区内，不能导入。")
                )
            )
    if rows:
        cursor.execute(
            f"UPDATE {STAGE} SET status = {INVALID} WHERE rowno IN "
            f"(SELECT s.rowno FROM {STAGE} s LEFT JOIN {person} p ON p.id_number = s.certno "
            f"WHERE s.status <> {INVALID} AND {outside})",
            codes,
        )


def _merge(cursor, batch_id: int | None) -> int:
    """Insert the new rows in (year, certno) order, so the index the scans read is filled
    page by page. No ON CONFLICT: the table lock taken before the checks keeps every other
    import out until this transaction ends, and the checks already set the known rows apart."""
    columns = ", ".join(STAGE_COLUMNS)
    cursor.execute(
        f"INSERT INTO monitoring_settlement ({columns}, batch_id) "
        f"SELECT {columns}, %s FROM {STAGE} WHERE status = {NEW} ORDER BY year, certno",
        [batch_id],
    )
    return cursor.rowcount


# --- The service --------------------------------------------------------------------------


def settlement_import(
    *,
    path: str,
    by=None,
    dry_run: bool = False,
    batch_id: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import a settlement extract (§9.2). Writes nothing unless every row is valid.

    Idempotent by `setl_id`: rows already imported with the same values are skipped. The new
    rows carry `batch_id` (the import batch), the watermark of incremental high-cost scans.
    """
    from . import pgcopy

    started = time.monotonic()
    source = _Source(path)
    regions = set(Region.objects.values_list("code", flat=True))
    result = None
    if not dry_run:
        # A large CSV on PostgreSQL: checked on a second connection while this one writes.
        result = pgcopy.import_overlapped(
            source, regions, path=path, by=by, batch_id=batch_id, progress=progress
        )
    if result is None:
        result = _import(
            source, regions, path=path, by=by, dry_run=dry_run, batch_id=batch_id, progress=progress
        )
    register_from_settlements(result.batch_id if result.applied else None, by=by)  # §8
    result.seconds = time.monotonic() - started
    return result


def _import(source, regions, *, path, by, dry_run, batch_id, progress) -> ImportResult:
    """Stage, check, then (unless dry_run or any row has an error) merge, in that order."""
    result = ImportResult(batch_id=batch_id)
    try:
        from . import pgcopy

        copied = pgcopy.load_csv(source, regions, progress, batch_id)
        for encoding in ("utf-8-sig", "gb18030") if copied is None else ():
            try:
                result = _load(source, regions, encoding, progress, batch_id)
                break
            except UnicodeDecodeError:
                if encoding == "gb18030":
                    raise ImportFileError(_("无法识别文件编码（应为 UTF-8 或 GB18030）")) from None
        if copied is not None:
            result = copied
        if progress:
            progress("checking", source.total, source.total)
        with transaction.atomic(), connection.cursor() as cursor:
            check_file(cursor, result, recheck=copied is None, by=by)
            if not result.errors and not dry_run:
                apply_file(cursor, result, path=path, by=by, progress=progress, total=source.total)
    finally:
        _drop_stage()
    return result


def check_file(cursor, result: ImportResult, *, recheck: bool, lock: bool = True, by=None) -> dict:
    """The file-wide checks of the staged rows, under the import lock; `result` gets the counts
    and the errors, in file order. Returns the staged rows counted by status. `by`: the user
    of a web import, whose rows must lie in their writable subtree (None: the system/cron)."""
    if lock and _vendor() == "postgresql":
        # One import at a time decides what is new; readers are not blocked.
        cursor.execute("LOCK TABLE monitoring_settlement IN SHARE ROW EXCLUSIVE MODE")
    _sql_checks(cursor, result.checker, result.errors, recheck=recheck)
    if by is not None:
        _scope_checks(cursor, result.checker, result.errors, by)
    # §9.2: codes the dictionary lacks, over the rows that are (or would be) settlements.
    result.unknown_med_types = unknown_codes(
        cursor, STAGE, result.checker.medical_types, (NEW, SAME)
    )
    cursor.execute(f"SELECT status, COUNT(*) FROM {STAGE} GROUP BY status")
    counts = dict(cursor.fetchall())
    result.imported = counts.get(NEW, 0)
    result.skipped = result.ignored + counts.get(SAME, 0)
    result.errors.sort(key=lambda e: (e.row, FIELD_ORDER.get(e.field, 99)))
    result.error_count = len(result.errors)
    del result.errors[MAX_ERRORS:]
    return counts


def apply_file(cursor, result: ImportResult, *, path, by, progress, total: int) -> None:
    """Merge the checked new rows (in the transaction of `check_file`)."""
    if progress:
        progress("writing", total, total)
    if result.batch_id is None and result.imported:
        result.batch_id = _command_batch(path, by, result)
    result.imported = _merge(cursor, result.batch_id)
    refile_if_changed(cursor, result.checker.medical_types)
    result.applied = True


def refile_if_changed(cursor, lookup) -> None:
    """Under the import lock, after the merge: when an admin changed the medical-type
    dictionary after this import loaded it (`monitoring.services.medical_type_save` waits for
    the same lock), the rows just written take the visit types of the dictionary as it is now."""
    current = medical_type_lookup()
    if current == lookup:
        return
    visit = current.sql("med_type", "insu_admdvs")
    cursor.execute(
        f"UPDATE monitoring_settlement SET visit_type = {visit} "
        f"WHERE setl_id IN (SELECT setl_id FROM {STAGE} WHERE status = {NEW})"
    )


def _command_batch(path, by, result: ImportResult) -> int:
    """A batch row for an import from the shell (the web upload creates its own)."""
    from django.utils import timezone

    from monitoring.models import SettlementImport

    batch = SettlementImport.objects.create(
        file_name=os.path.basename(str(path))[:200],
        status=SettlementImport.Status.APPLIED,
        created_by=by,
        rows=result.rows,
        imported=result.imported,
        skipped=result.skipped,
        applied_at=timezone.now(),
        phase="done",
        unknown_med_types=result.unknown_med_types,
    )
    return batch.pk


def _load(source: _Source, regions, encoding, progress, batch_id) -> ImportResult:
    result = ImportResult(batch_id=batch_id)
    with connection.cursor() as cursor:
        _create_stage(cursor)
        rows = source.rows(encoding)
        header = next(rows, None)
        if header is None:
            raise ImportFileError(_("文件为空"))
        checker = _RowChecker(_header_map(header), regions)
        writer = _StageWriter(cursor)
        checker.prepare_fast(writer.pg)
        fast = checker.fast
        errors = result.errors
        for rowno, values in enumerate(rows, start=2):
            if not any(values) and not any(v != "" and v is not None for v in values):
                continue  # blank line
            result.rows += 1
            staged = fast(values, rowno)
            if staged is not None:
                if writer.pg:
                    writer.add_line(staged)
                else:
                    writer.add(staged)
                if progress and result.rows % CHUNK == 0:
                    progress("reading", source.position, source.total)
                continue
            row, row_errors = checker.check(values, rowno)
            if row is None:
                result.ignored += 1  # vali_flag 0: counted as skipped, changes nothing
                continue
            if row_errors and len(errors) < MAX_ERRORS:
                errors.extend(row_errors)
            writer.add(row)
            if progress and result.rows % CHUNK == 0:
                progress("reading", source.position, source.total)
        writer.flush()
    result.checker = checker
    return result
