"""The medical-type dictionary lookup (医疗类别字典, DOMAIN §9.2 and §10).

One ordered rule list decides the visit type of a settlement's `med_type`, for every door:
`MedicalTypeLookup.visit_type()` in Python (the row checker of the streaming import) and
`MedicalTypeLookup.sql()` — a CASE expression built from the same list at import time — in SQL
(the PostgreSQL COPY path's view, and the re-filing of imported rows when an admin changes
the dictionary). Both walk the rules in the same order, so they cannot disagree.

Order: the longest code first; for the same length an exact code before a prefix rule
(`1401*`); for the same code the area's row before the region-wide one. The first rule that
matches decides; none matching is general outpatient, and the code is *unknown* (the import
page lists those).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.choices import VisitType

DEFAULT = VisitType.GENERAL_OUTPATIENT


@dataclass(frozen=True)
class Rule:
    code: str  # without the trailing `*` of a prefix rule
    prefix: bool
    area_prefix: str | None  # the code prefix of the area's subtree ("1503"); None: region-wide
    visit_type: str

    def matches(self, med_type: str, admdvs: str) -> bool:
        if self.area_prefix is not None and not admdvs.startswith(self.area_prefix):
            return False
        return med_type.startswith(self.code) if self.prefix else med_type == self.code

    def sql_condition(self, med_type: str, admdvs: str) -> str:
        """The same test as `matches`, over SQL expressions (PostgreSQL and SQLite)."""
        if self.prefix:
            test = f"substr({med_type}, 1, {len(self.code)}) = {_literal(self.code)}"
        else:
            test = f"{med_type} = {_literal(self.code)}"
        if self.area_prefix is not None:
            n = len(self.area_prefix)
            test += f" AND substr({admdvs}, 1, {n}) = {_literal(self.area_prefix)}"
        return test


def _literal(text: str) -> str:
    # Codes are validated as letters and digits (MedicalType.code); quoting is belt and braces.
    return "'" + text.replace("'", "''") + "'"


def _precedence(rule: Rule):
    return (-len(rule.code), rule.prefix, rule.area_prefix is None, rule.code)


class MedicalTypeLookup:
    """The dictionary as loaded at one moment (an import loads it once, when it starts)."""

    def __init__(self, rules):
        self.rules: tuple[Rule, ...] = tuple(sorted(rules, key=_precedence))
        self._cache: dict[tuple[str, str], Rule | None] = {}

    def __eq__(self, other):
        return isinstance(other, MedicalTypeLookup) and self.rules == other.rules

    __hash__ = None

    def rule_for(self, med_type: str, admdvs: str) -> Rule | None:
        key = (med_type, admdvs)
        try:
            return self._cache[key]
        except KeyError:
            pass
        found = next((r for r in self.rules if r.matches(med_type, admdvs)), None)
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key] = found
        return found

    def visit_type(self, med_type: str, admdvs: str) -> str:
        """The visit type of a settlement with this `med_type` and `insu_admdvs`."""
        rule = self.rule_for(med_type, admdvs)
        return DEFAULT if rule is None else rule.visit_type

    def is_known(self, med_type: str, admdvs: str) -> bool:
        return self.rule_for(med_type, admdvs) is not None

    def sql(self, med_type: str, admdvs: str) -> str:
        """`visit_type` as one SQL CASE expression over the given column expressions."""
        whens = " ".join(
            f"WHEN {r.sql_condition(med_type, admdvs)} THEN {_literal(str(r.visit_type))}"
            for r in self.rules
        )
        default = _literal(str(DEFAULT))
        return f"(CASE {whens} ELSE {default} END)" if whens else default


def rule_of(code: str, visit_type: str, area_id: str | None) -> Rule:
    """The rule of one dictionary row (`code` as stored, `2*` for a prefix rule)."""
    return Rule(
        code=code.rstrip("*"),
        prefix=code.endswith("*"),
        # A coordination area is a city-level region: its subtree shares the code's first 4.
        area_prefix=area_id[:4] if area_id else None,
        visit_type=visit_type,
    )


def medical_type_lookup() -> MedicalTypeLookup:
    """The current dictionary (a handful of rows: read whole)."""
    from monitoring.models import MedicalType

    rows = MedicalType.objects.values_list("code", "visit_type", "area_id")
    return MedicalTypeLookup(rule_of(*row) for row in rows)


def unknown_codes(cursor, stage: str, lookup: MedicalTypeLookup, statuses) -> list[dict]:
    """The `med_type` codes of the staged rows (of these statuses) the dictionary lacks, with
    their row counts, most rows first."""
    marks = ", ".join(["%s"] * len(statuses))
    cursor.execute(
        f"SELECT med_type, insu_admdvs, COUNT(*) FROM {stage} WHERE status IN ({marks}) "
        "GROUP BY med_type, insu_admdvs",
        list(statuses),
    )
    counts: dict[str, int] = {}
    for med_type, admdvs, n in cursor.fetchall():
        if med_type and not lookup.is_known(med_type, admdvs or ""):
            counts[med_type] = counts.get(med_type, 0) + n
    return [
        {"code": code, "rows": n} for code, n in sorted(counts.items(), key=lambda c: (-c[1], c[0]))
    ]
