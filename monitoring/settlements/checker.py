"""The Python check of one settlement row (DOMAIN §9.2), with the errors it words.

`RowChecker.check` decides every row rule and words each bad field; `RowChecker.fast` is the
hot loop of the streaming path: it admits a row in plain form as its staged COPY line (or
tuple) and leaves the rules that are cheaper set-based (amount sums, the ID check digit) to
the recheck SQL (`staging.recheck_sql`), which takes them from the same rule table
(`spec.AMOUNT_RULES`). Anything unusual goes to `check`, which words the errors."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from operator import itemgetter

from django.utils.translation import gettext as _

from core import idnumber, tabular
from core.dates import CHINA_TZ, shanghai_today
from core.identifiers import normalize_identifier
from core.regions import resolve_region
from core.tabular import ColumnMap, blank, cell_text

from ..medical_types import medical_type_lookup
from .spec import (
    AMOUNT_LIMIT,
    AMOUNT_RULES,
    AMOUNTS,
    COPY_TABS,
    FIELD_ORDER,
    HOSP,
    INSUTYPES,
    RESIDENT_ID_CERT_TYPE,
    TEXT_LIMITS,
    StageStatus,
    sign_errors,
)

NEW, INVALID = StageStatus.NEW.value, StageStatus.INVALID.value


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
    # The years of the new rows (the partitions they go to; `monitoring.partitions`).
    years: list[int] = field(default_factory=list)
    checker: RowChecker | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        """The §9.2 JSON object."""
        return {
            "rows": self.rows,
            "imported": self.imported,
            "skipped": self.skipped,
            "errors": [e.as_dict() for e in self.errors],
            "applied": self.applied,
        }

    def sort_errors(self) -> None:
        self.errors.sort(key=lambda e: (e.row, FIELD_ORDER.get(e.field, 99)))


class BadValue(Exception):
    """One field's value is not acceptable; `message` says why (the row error's text)."""

    def __init__(self, message: str):
        self.message = message


def parse_amount_field(value) -> tuple[Decimal, str]:
    """An amount of DOMAIN §9 (plain decimal, ≤ 2 decimals, optional minus and thousands
    commas) and its canonical text (no commas); BadValue otherwise."""
    try:
        amount = tabular.parse_amount_exact(value)
    except tabular.AmountError as exc:
        if exc.code == "decimals":
            raise BadValue(_("金额最多两位小数")) from None
        raise BadValue(_("不是有效金额")) from None
    if amount is None:
        raise BadValue(_("不能为空"))
    if abs(amount) >= AMOUNT_LIMIT:
        raise BadValue(_("不是有效金额"))
    return amount, str(amount)


def parse_date_field(value) -> date:
    """A date of DOMAIN §9; a time part (` HH:MM[:SS]`) after it is accepted and dropped."""
    if blank(value):
        raise BadValue(_("不能为空"))
    try:
        return tabular.parse_date(value, time_part=True)
    except ValueError:
        raise BadValue(_("日期格式应为 YYYY-MM-DD、YYYY/MM/DD 或 YYYYMMDD")) from None


def parse_time_field(value) -> datetime:
    """`setl_time`: a date of DOMAIN §9 with or without a time part, in China time."""
    if blank(value):
        raise BadValue(_("不能为空"))
    try:
        moment = tabular.parse_datetime(value)
    except ValueError:
        raise BadValue(_("时间格式应为 YYYY-MM-DD HH:MM:SS")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)  # §9: the platform's times
    return moment


def utc_text(moment: datetime) -> str:
    """The form Django stores a datetime in (UTC), so staged and saved rows compare equal."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


# The columns the fast path reads, and its plain forms; anything else is `check`'s (§9).
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
_AMOUNT = r"(-?)(\d{1,12})(?:\.(\d{1,2}))?"  # optional minus, ≤ 12 digits, ≤ 2 decimals
_PLAIN_ID = re.compile(r"[!-~]*", re.ASCII).fullmatch  # printable ASCII, no space
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII).fullmatch
_PLAIN_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?", re.ASCII).fullmatch
_MAX = TEXT_LIMITS
_CHECKED_TEXT = (
    "setl_id",
    "psn_name",
    "certno",
    "insutype",
    "med_type",
    "fixmedins_code",
    "fixmedins_name",
    "insu_admdvs",
)


class RowChecker:
    """The checks of one file's rows: its column map, the known regions, the medical-type
    dictionary (loaded once per import; the COPY path builds its SQL from the same lookup)."""

    def __init__(self, columns: ColumnMap, regions: set[str]):
        self.columns = columns
        self.regions = regions
        self.medical_types = medical_type_lookup()
        self.index = columns.index
        self.today = shanghai_today()

    def header(self, name: str) -> str:
        return self.columns.header(name)

    # --- The fast path -------------------------------------------------------------------

    def prepare_fast(self, pg: bool) -> None:
        """Column getters and memos for `fast()`."""
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
        self.has_hosp = HOSP in index
        self.get_amounts = itemgetter(*(index[n] for n in AMOUNTS if n in index))
        self.amounts_pattern = re.compile("\x00".join([_AMOUNT] * len(AMOUNTS)), re.ASCII)
        self.valid_ids: set[str] = set()
        self.births: dict[str, bool] = {}
        self.dates: dict[str, date] = {}
        self.today_text = f"{self.today:%Y%m%d}"

    def _fast_id(self, certno: str) -> bool:
        """A well-formed resident ID number (upper-case X), checked without allocation-heavy
        normalising; the check digit is verified set-based in SQL (`staging.recheck_sql`)."""
        if certno in self.valid_ids:
            return True
        if len(certno) != 18:
            return False
        first17, last = certno[:17], certno[17]
        if not (first17.isdigit() and first17.isascii()) or last not in idnumber.CHECK_CHARS:
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
        if len(self.valid_ids) > 1_000_000:
            self.valid_ids.clear()
        self.valid_ids.add(certno)
        return True

    def _fast_cells(self, values: list):
        """The stripped cells of a row in plain form (codes in their sets, texts within their
        widths, an ID number well formed), else None."""
        if len(values) < self.width:
            return None
        try:
            texts = tuple(map(str.strip, self.get_text(values)))
            optional = dict(
                zip(self.optional_names, map(str.strip, self.get_optional(values)), strict=True)
            )
            amounts = "\x00".join(map(str.strip, self.get_amounts(values)))
        except TypeError:  # not text (an xlsx cell)
            return None
        setl_id, name, certno, insutype, med_type, _b, _e, _s, fcode, fname, admdvs = texts
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
        if (
            len(setl_id) > _MAX["setl_id"]
            or len(name) > _MAX["psn_name"]
            or len(fname) > _MAX["fixmedins_name"]
            or len(fcode) > _MAX["fixmedins_code"]
            or len(med_type) > _MAX["med_type"]
            or len(init_id) > _MAX["init_setl_id"]
        ):
            return None
        if (refd == "1" and not init_id) or not self._fast_id(certno):
            return None
        return texts, refd == "1", init_id, cert_type, amounts

    def _fast_days(self, begn: str, end: str) -> tuple[date, date] | None:
        dates = self.dates
        begndate, enddate = dates.get(begn), dates.get(end)
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
        return (begndate, enddate) if enddate >= begndate else None

    def _fast_amounts(self, amounts: str) -> str | None:
        if not self.has_hosp:
            amounts += "\x000"
        if self.amounts_pattern.fullmatch(amounts) is None:
            if not (self.has_hosp and amounts.endswith("\x00")):
                return None
            amounts += "0"  # an empty hosp_part_amt is 0
            if self.amounts_pattern.fullmatch(amounts) is None:
                return None
        # Signs and sums of the amounts are verified set-based in SQL (`staging.recheck_sql`).
        return amounts

    def fast(self, values: list, rowno: int):
        """The staged row of a plainly valid CSV row, as a COPY line on PostgreSQL (a tuple on
        SQLite); None when anything needs a closer look — then `check()` decides and words the
        errors. This is the hot loop of a 10-million-row extract."""
        cells = self._fast_cells(values)
        if cells is None:
            return None
        texts, reversal, init_id, cert_type, amounts = cells
        setl_id, name, certno, insutype, med_type, begn, end, stime, fcode, fname, admdvs = texts
        days = self._fast_days(begn, end)
        if days is None or not _PLAIN_STAMP(stime):
            return None
        try:
            moment = datetime.fromisoformat(stime)
        except ValueError:
            return None
        amounts = self._fast_amounts(amounts)
        if amounts is None:
            return None
        visit = self.medical_types.visit_type(med_type, admdvs)
        begndate, enddate = days
        if not self.pg:
            return (
                rowno, NEW, setl_id, name, certno, cert_type, insutype, med_type, visit,
                begndate, enddate, enddate.year, utc_text(parse_time_field(moment)), fcode,
                fname, admdvs, *amounts.split("\x00"), reversal, init_id,
            )  # fmt: skip
        stamp = moment.isoformat() if moment.tzinfo else moment.isoformat() + "+08:00"
        line = (
            f"{rowno}\t{NEW}\t{setl_id}\t{name}\t{certno}\t{cert_type}\t{insutype}\t{med_type}\t"
            f"{visit}\t{begn}\t{end}\t{enddate.year}\t{stamp}\t{fcode}\t{fname}\t{admdvs}\t"
            f"{amounts.replace(chr(0), chr(9))}\t{'t' if reversal else 'f'}\t{init_id}\n"
        )
        # Text needing COPY escapes (rare in the platform's extract) takes the careful path.
        if "\\" in line or "\r" in line or line.count("\t") != COPY_TABS or line.count("\n") != 1:
            return None
        return line

    # --- The full check ------------------------------------------------------------------

    def check(self, values: list, rowno: int):
        """(staged row tuple, or None when the row is ignored; list of RowError)."""
        errors: list[RowError] = []

        def cell(name):
            return self.columns.cell(values, name)

        def bad(name, message):
            errors.append(RowError(rowno, self.header(name), message))

        vali_flag = cell_text(cell("vali_flag")) or "1"
        if vali_flag == "0":
            return None, errors
        if vali_flag != "1":
            bad("vali_flag", _("有效标志应为 0 或 1"))
        texts = self._check_texts(cell, bad)
        begndate, enddate, setl_time = self._check_dates(cell, bad)
        refd = cell_text(cell("refd_setl_flag")) or "0"
        if refd not in ("0", "1"):
            bad("refd_setl_flag", _("退费结算标志应为 0 或 1"))
        reversal = refd == "1"
        init_setl_id = normalize_identifier(cell_text(cell("init_setl_id")))
        if reversal and not init_setl_id:
            bad("init_setl_id", _("退费结算须填写原结算ID"))
        if len(init_setl_id) > _MAX["init_setl_id"]:
            bad("init_setl_id", _("原结算ID过长"))
        amount_texts = self._check_amounts(cell, reversal, bad)
        setl_id = texts["setl_id"]
        if errors:
            # Only kept to find repeats and reversal targets; the columns hold 40 characters.
            return (rowno, INVALID, setl_id[:40], init_setl_id[:40], reversal), errors
        admdvs, med_type = texts["insu_admdvs"], texts["med_type"]
        row = (
            rowno, NEW, setl_id, texts["psn_name"], texts["certno"], texts["psn_cert_type"],
            texts["insutype"], med_type, self.medical_types.visit_type(med_type, admdvs),
            begndate, enddate, enddate.year, utc_text(setl_time), texts["fixmedins_code"],
            texts["fixmedins_name"], admdvs, *(amount_texts[n] for n in AMOUNTS), reversal,
            init_setl_id,
        )  # fmt: skip
        return row, errors

    def _check_texts(self, cell, bad) -> dict[str, str]:
        texts = {}
        for name in _CHECKED_TEXT:
            value = cell_text(cell(name))
            if name == "setl_id":
                value = normalize_identifier(value)  # §9: identifiers compared normalized
            if not value:
                bad(name, _("不能为空"))
            texts[name] = value
        if len(texts["setl_id"]) > _MAX["setl_id"]:
            bad("setl_id", _("结算ID过长"))
        if len(texts["psn_name"]) > _MAX["psn_name"]:
            bad("psn_name", _("姓名过长"))
        if (
            len(texts["fixmedins_name"]) > _MAX["fixmedins_name"]
            or len(texts["fixmedins_code"]) > _MAX["fixmedins_code"]
        ):
            bad("fixmedins_name", _("机构名称或编号过长"))
        texts["psn_cert_type"] = cert_type = cell_text(cell("psn_cert_type"))
        if len(cert_type) > 6:
            bad("psn_cert_type", _("证件类型代码过长"))
            texts["psn_cert_type"] = cert_type = ""
        texts["certno"] = self._check_certno(texts["certno"], cert_type, bad)
        if texts["insutype"] and texts["insutype"] not in INSUTYPES:
            bad("insutype", _("险种类型不在允许范围内"))
        if len(texts["med_type"]) > _MAX["med_type"]:
            bad("med_type", _("医疗类别过长"))
        # §8: an old code is stored as its successor
        admdvs = texts["insu_admdvs"] = resolve_region(texts["insu_admdvs"]) or texts["insu_admdvs"]
        if admdvs and admdvs not in self.regions:
            bad("insu_admdvs", _("医保区划代码未知"))
        return texts

    def _check_certno(self, certno: str, cert_type: str, bad) -> str:
        """§9.2: a resident ID (§8) unless `psn_cert_type` says the document is not one."""
        if not certno:
            return certno
        if cert_type in ("", RESIDENT_ID_CERT_TYPE):
            try:
                return idnumber.validate(certno, today=self.today)
            except idnumber.InvalidIdNumber as exc:
                bad("certno", exc.message)
                return certno
        certno = normalize_identifier(certno)
        if len(certno) > 30:
            bad("certno", _("证件号码过长"))
        return certno

    @staticmethod
    def _check_dates(cell, bad):
        days = {}
        for name in ("begndate", "enddate"):
            try:
                days[name] = parse_date_field(cell(name))
            except BadValue as exc:
                bad(name, exc.message)
        begndate, enddate = days.get("begndate"), days.get("enddate")
        if begndate and enddate and enddate < begndate:
            bad("enddate", _("结束日期早于开始日期"))
        setl_time = None
        try:
            setl_time = parse_time_field(cell("setl_time"))
        except BadValue as exc:
            bad("setl_time", exc.message)
        return begndate, enddate, setl_time

    @staticmethod
    def _check_amounts(cell, reversal: bool, bad) -> dict[str, str]:
        """Each amount parsed, then the rules of §9.2 (`spec`) when all are."""
        amounts: dict[str, Decimal] = {}
        texts: dict[str, str] = {}
        for name in AMOUNTS:
            raw = cell(name)
            if name == HOSP and (raw == "" or raw is None):
                amounts[name], texts[name] = Decimal(0), "0"
                continue
            try:
                amounts[name], texts[name] = parse_amount_field(raw)
            except BadValue as exc:
                bad(name, exc.message)
        if len(amounts) == len(AMOUNTS):
            for name, message in sign_errors(amounts, reversal):
                bad(name, message)
            if reversal:  # the same checks on absolute values
                amounts = {name: abs(value) for name, value in amounts.items()}
            for rule in AMOUNT_RULES:
                if not rule.holds(amounts):
                    bad(rule.field, str(rule.message))
        return texts
