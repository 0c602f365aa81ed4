"""`import_roster` against DOMAIN §9.1, word for word: cases found by a conformance audit."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from roster_helpers import csv_bytes

from beneficiaries.models import Identity, Person, RosterBatch
from core import idnumber

pytestmark = pytest.mark.django_db


def number_ending_in_x() -> str:
    for seq in range(1000):
        candidate = idnumber.make("150302", date(1980, 5, 5), seq)
        if candidate.endswith("X"):
            return candidate
    raise AssertionError("no ID number ending in X")


def command(tmp_path, data, *extra, as_of="2023-07-01"):
    path = tmp_path / "roster.csv"
    path.write_bytes(data)
    out = io.StringIO()
    args = ["--department", "civil_affairs", "--region", "150302", "--as-of", as_of, *extra]
    try:
        call_command("import_roster", str(path), *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


@pytest.mark.parametrize("as_of", ["2023-W26-6", "20230701", "2023/07/01", "2023-02-30", "x"])
def test_as_of_other_than_yyyy_mm_dd_exits_2_with_nothing_on_stdout(tmp_path, as_of):
    # date.fromisoformat alone would take the ISO week date and the compact form.
    code, out = command(tmp_path, csv_bytes([], encoding="utf-8"), as_of=as_of)
    assert (code, out) == (2, "")
    assert not RosterBatch.objects.exists()


def test_lowercase_x_is_stored_upper_case(tmp_path):
    upper = number_ending_in_x()
    rows = [["赵六", upper.lower(), "易返贫致贫人口", "2023-01-05", "", "150302", ""]]
    code, out = command(tmp_path, csv_bytes(rows, encoding="utf-8"))
    assert code == 0 and json.loads(out)["new"] == 1
    assert Person.objects.get().id_number == upper


def test_dry_run_with_a_row_error_exits_1_and_writes_nothing(tmp_path):
    good = idnumber.make("150302", date(1970, 1, 1), 1)
    rows = [
        ["张三", good, "特困人员", "2023-01-01", "", "150302", ""],
        ["", good[:17], "x", "", ""],
    ]
    code, out = command(tmp_path, csv_bytes(rows, encoding="utf-8"), "--dry-run")
    result = json.loads(out)
    assert code == 1
    assert set(result) == {"rows", "new", "changed", "terminated", "unchanged", "errors", "applied"}
    assert result["new"] == 1 and result["applied"] is False
    assert all(set(error) == {"row", "field", "message"} for error in result["errors"])
    assert not Person.objects.exists() and not Identity.objects.exists()
