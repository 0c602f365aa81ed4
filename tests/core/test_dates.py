"""core.dates: the one "today in Asia/Shanghai" and the one month end (DOMAIN §9, P §15)."""

import ast
import pathlib
from datetime import UTC, date, datetime

import pytest
import time_machine

from core.dates import month_end, shanghai_today

ROOT = pathlib.Path(__file__).resolve().parents[2]
APPS = ("core", "claims", "beneficiaries", "funds", "monitoring", "config")


@time_machine.travel(datetime(2026, 2, 28, 16, 0, tzinfo=UTC), tick=False)
def test_shanghai_today_turns_at_midnight_shanghai_not_utc():
    assert shanghai_today() == date(2026, 3, 1)


@time_machine.travel(datetime(2026, 2, 28, 15, 59, 59, tzinfo=UTC), tick=False)
def test_shanghai_today_before_midnight_shanghai_is_still_the_day_before():
    assert shanghai_today() == date(2026, 2, 28)


@pytest.mark.parametrize(
    ("year", "month", "last"),
    [(2023, 1, 31), (2023, 2, 28), (2024, 2, 29), (1900, 2, 28), (2000, 2, 29), (2023, 12, 31)],
)
def test_month_end_is_the_last_day_of_the_month(year, month, last):
    assert month_end(year, month) == date(year, month, last)


def _sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_no_module_reads_today_any_other_way():
    """localdate(), date.today() and private Shanghai clocks drifted apart once (§9); a moment
    converted with localdate(moment) is not "today" and stays."""
    offenders = []
    for path in _sources():
        if path.name == "dates.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name, owner = node.func.attr, node.func.value
                if (name == "localdate" and not node.args) or (
                    name == "today" and isinstance(owner, ast.Name) and owner.id == "date"
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
