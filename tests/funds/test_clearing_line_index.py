"""The holds' line index: BRIN on PostgreSQL (no B-tree insertion per hold), a plain index
elsewhere; drill-downs, release and recomputation still find exactly a line's holds."""

from datetime import date, datetime

import pytest
import time_machine
from clearing_helpers import settlement
from django.db import connection

from core import idnumber
from funds.clearing import clearing_compute, line_settlements
from funds.models import ClearedSettlement, ClearingLine

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        yield


def _line_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "funds_clearedsettlement")
    return constraints["funds_cleared_line_brin"]


def test_the_line_index_is_brin_on_postgresql_and_plain_elsewhere():
    index = _line_index()
    assert index["columns"] == ["line_id"] and index["index"] and not index["unique"]
    if connection.vendor == "postgresql":
        # Ranges filled by a clearing are summarized without waiting for a VACUUM.
        assert index["type"] == "brin" and index["options"] == ["autosummarize=on"]
    else:
        assert index["type"] != "brin"
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "funds_clearedsettlement")
    on_line = [name for name, c in constraints.items() if c["columns"] == ["line_id"]]
    assert on_line == ["funds_cleared_line_brin"]  # no B-tree beside it


def test_drill_down_lists_each_lines_own_holds_across_clearings():
    july = [settlement(maf_pay=10 + n, code=f"H1503020000{n % 3}") for n in range(9)]
    august = [
        settlement(maf_pay=5 + n, code=f"H1503020000{n % 2}", setl_time=date(2023, 8, 3))
        for n in range(4)
    ]
    first = clearing_compute(area_code="150300", period="2023-07")
    second = clearing_compute(area_code="150300", period="2023-08")
    for clearing, rows in ((first.clearing, july), (second.clearing, august)):
        for line in ClearingLine.objects.filter(clearing=clearing):
            expected = {s.pk for s in rows if s.fixmedins_code == line.institution_code}
            assert {s.pk for s in line_settlements(line)} == expected
    # Recomputing the August draft releases and retakes exactly its own holds.
    late = settlement(maf_pay=7, code="H15030200000", setl_time=date(2023, 8, 20))
    again = clearing_compute(area_code="150300", period="2023-08")
    assert again.clearing.pk == second.clearing.pk and again.settlements == 5
    held = ClearedSettlement.objects.filter(line__clearing=again.clearing)
    assert {h.settlement_id for h in held} == {s.pk for s in [*august, late]}
    assert ClearedSettlement.objects.filter(line__clearing=first.clearing).count() == 9
