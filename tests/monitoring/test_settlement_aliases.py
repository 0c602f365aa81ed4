"""§9.2 column names: the 5203 extract's `insu_optins` is `insu_admdvs`; `ownpay_hosp_part`
(自费中医院负担部分) is another quantity than `hosp_part_amt` and is ignored.

Each rule is checked on the streaming path (every database) and, on PostgreSQL, on the COPY
path too, which takes its columns from the same header map."""

from decimal import Decimal

import pytest
from django.db import connection
from monitoring_helpers import HEADER, certno, srow

from monitoring.models import Settlement
from monitoring.settlements import copypath, settlement_import

pytestmark = pytest.mark.django_db

C1, C2 = certno(1), certno(2)
ON_POSTGRES = connection.vendor == "postgresql"


def _streaming_only(monkeypatch):
    monkeypatch.setattr(copypath, "load_csv", lambda *a, **k: None)


def _copy_taken(monkeypatch) -> list[bool]:
    taken: list[bool] = []
    real = copypath.load_csv

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(copypath, "load_csv", spy)
    return taken


PATHS = ["streaming"] + (["copy"] if ON_POSTGRES else [])


def _import(path, mode, monkeypatch):
    taken = None
    if mode == "streaming":
        _streaming_only(monkeypatch)
    else:
        taken = _copy_taken(monkeypatch)
    result = settlement_import(path=path)
    if taken is not None:
        assert taken == [True], "the COPY path did not take the file"
    return result


@pytest.mark.parametrize("mode", PATHS)
def test_insu_optins_is_accepted_as_insu_admdvs(settlement_file, monkeypatch, mode):
    header = ["insu_optins" if h == "insu_admdvs" else h for h in HEADER]
    row = srow("S1", C1)
    row["insu_optins"] = "150304"
    result = _import(settlement_file([row], header=header), mode, monkeypatch)
    assert (result.imported, result.errors) == (1, [])
    assert Settlement.objects.get(setl_id="S1").insu_admdvs_id == "150304"


@pytest.mark.parametrize("mode", PATHS)
def test_an_unknown_insu_optins_is_a_row_error_named_as_written(settlement_file, monkeypatch, mode):
    header = ["insu_optins" if h == "insu_admdvs" else h for h in HEADER]
    row = srow("S1", C1)
    row["insu_optins"] = "990000"
    result = _import(settlement_file([row], header=header), mode, monkeypatch)
    assert [e.field for e in result.errors] == ["insu_optins"]
    assert not Settlement.objects.exists()


@pytest.mark.parametrize("mode", PATHS)
def test_a_field_beside_its_alias_is_read_from_the_first_written(
    settlement_file, monkeypatch, mode
):
    # Not "the same column twice" (§9: that is one header after normalization): the 2207 and
    # the 5203 name of one field; the first written is read, as before the one reader.
    header = [*HEADER, "insu_optins"]
    row = srow("S1", C1)
    row["insu_admdvs"] = "150304"
    row["insu_optins"] = "990000"  # would be a row error if it were read
    result = _import(settlement_file([row], header=header), mode, monkeypatch)
    assert (result.imported, result.errors) == (1, [])
    assert Settlement.objects.get(setl_id="S1").insu_admdvs_id == "150304"


@pytest.mark.parametrize("mode", PATHS)
def test_ownpay_hosp_part_is_not_read_as_hosp_part_amt(settlement_file, monkeypatch, mode):
    # A file with only ownpay_hosp_part: hosp_part_amt is 0, so psn_part_amt =
    # medfee_sumamt − fund_pay_sumamt holds; the 50.00 of ownpay_hosp_part changes nothing.
    header = [h for h in HEADER if h != "hosp_part_amt"] + ["ownpay_hosp_part"]
    rows = [srow("S1", C1, ownpay_hosp_part="50.00"), srow("S2", C2, ownpay_hosp_part="")]
    result = _import(settlement_file(rows, header=header), mode, monkeypatch)
    assert (result.imported, result.errors) == (2, [])
    assert set(Settlement.objects.values_list("hosp_part_amt", flat=True)) == {Decimal("0.00")}


@pytest.mark.parametrize("mode", PATHS)
def test_hosp_part_amt_beside_ownpay_hosp_part_is_the_one_read(settlement_file, monkeypatch, mode):
    header = [*HEADER, "ownpay_hosp_part"]
    row = srow("S1", C1, ownpay_hosp_part="999.00")
    row["hosp_part_amt"] = Decimal("100.00")
    row["psn_part_amt"] -= Decimal("100.00")
    result = _import(settlement_file([row], header=header), mode, monkeypatch)
    assert (result.imported, result.errors) == (1, [])
    assert Settlement.objects.get(setl_id="S1").hosp_part_amt == Decimal("100.00")


def test_import_settlements_json_is_unchanged(settlement_file, monkeypatch):
    import json
    from io import StringIO

    from django.core.management import call_command

    header = ["insu_optins" if h == "insu_admdvs" else h for h in HEADER]
    row = srow("S1", C1)
    row["insu_optins"] = row["insu_admdvs"]
    out = StringIO()
    call_command("import_settlements", settlement_file([row], header=header), stdout=out)
    assert json.loads(out.getvalue()) == {
        "rows": 1,
        "imported": 1,
        "skipped": 0,
        "errors": [],
        "applied": True,
    }
