"""Settlement extract import (DOMAIN §9.2): counts, idempotency, reversals and each row rule."""

import json
from datetime import date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from monitoring_helpers import HEADER, certno, srow

from monitoring.models import Settlement, SettlementImport
from monitoring.settlements import ImportFileError, settlement_import

pytestmark = pytest.mark.django_db

C1 = certno(1)
C2 = certno(2)


def errors_of(result):
    return [(e.row, e.field, e.message) for e in result.errors]


def test_valid_file_is_imported_with_counts_and_year_of_its_end_date(settlement_file):
    rows = [srow("S1", C1, enddate="2023-12-31"), srow("S2", C2, enddate="2024-01-02")]
    result = settlement_import(path=settlement_file(rows))
    assert result.as_dict() == {
        "rows": 2,
        "imported": 2,
        "skipped": 0,
        "errors": [],
        "applied": True,
    }
    s1 = Settlement.objects.get(setl_id="S1")
    assert (s1.year, s1.psn_part_amt, s1.visit_type) == (2023, Decimal("400.00"), "inpatient")
    assert Settlement.objects.get(setl_id="S2").year == 2024
    assert s1.batch.status == SettlementImport.Status.APPLIED


def test_reimporting_the_same_file_skips_every_row(settlement_file):
    path = settlement_file([srow("S1", C1), srow("S2", C2)])
    settlement_import(path=path)
    again = settlement_import(path=path)
    assert (again.imported, again.skipped, again.errors) == (0, 2, [])
    assert Settlement.objects.count() == 2


def test_same_values_written_differently_are_skipped_not_errors(settlement_file):
    settlement_import(path=settlement_file([srow("S1", C1)]))
    other_form = srow(
        "S1",
        C1,
        begndate="2023/03/10",
        enddate="20230310",
        setl_time="2023-03-10 10:00",
        medfee_sumamt="1000",
        psn_part_amt="400.0",
    )
    result = settlement_import(path=settlement_file([other_form]))
    assert (result.skipped, result.errors) == (1, [])


def test_an_imported_setl_id_with_other_values_is_a_row_error(settlement_file):
    settlement_import(path=settlement_file([srow("S1", C1)]))
    result = settlement_import(path=settlement_file([srow("S2", C2), srow("S1", C1, "500")]))
    assert errors_of(result) == [(3, "setl_id", "该结算ID已导入，但数据与已导入的不一致")]
    assert not result.applied
    assert not Settlement.objects.filter(setl_id="S2").exists()


def test_a_setl_id_repeated_in_the_file_errs_on_its_later_rows(settlement_file):
    rows = [srow("S1", C1), srow("S1", C1), srow("S2", C2), srow("S1", C1)]
    result = settlement_import(path=settlement_file(rows))
    assert [e[:2] for e in errors_of(result)] == [(3, "setl_id"), (5, "setl_id")]
    assert result.imported == 2  # what the valid rows would have done
    assert Settlement.objects.count() == 0


def test_row_errors_write_nothing_and_report_spreadsheet_row_numbers(settlement_file):
    rows = [srow("S1", C1), srow("S2", C2, certno="150302197001011014")]
    result = settlement_import(path=settlement_file(rows))
    assert errors_of(result) == [(3, "certno", "校验码错误")]
    assert (result.rows, result.imported, result.applied) == (2, 1, False)
    assert Settlement.objects.count() == 0
    assert SettlementImport.objects.count() == 0


def test_dry_run_checks_everything_and_writes_nothing(settlement_file):
    result = settlement_import(path=settlement_file([srow("S1", C1)]), dry_run=True)
    assert (result.imported, result.applied) == (1, False)
    assert Settlement.objects.count() == 0


def test_reversal_rows_keep_the_original_and_net_out(settlement_file):
    rows = [srow("R1", C1, "400", reversal_of="S1"), srow("S1", C1, "400")]  # any order
    result = settlement_import(path=settlement_file(rows))
    assert (result.imported, result.errors) == (2, [])
    reversal = Settlement.objects.get(setl_id="R1")
    assert reversal.refd_setl_flag and reversal.init_setl_id == "S1"
    assert sum(s.psn_part_amt for s in Settlement.objects.all()) == 0


def test_a_partial_reversal_of_an_imported_settlement_is_accepted(settlement_file):
    settlement_import(path=settlement_file([srow("S1", C1, "400")]))
    result = settlement_import(path=settlement_file([srow("R1", C1, "100", reversal_of="S1")]))
    assert (result.imported, result.errors) == (1, [])


def test_a_reversal_of_an_unknown_settlement_is_a_row_error(settlement_file):
    result = settlement_import(path=settlement_file([srow("R1", C1, reversal_of="NOPE")]))
    assert errors_of(result) == [(2, "init_setl_id", "原结算ID不存在（未导入且不在本文件中）")]


def test_a_reversal_without_init_setl_id_is_a_row_error(settlement_file):
    row = srow("R1", C1, reversal_of="S1", init_setl_id="")
    result = settlement_import(path=settlement_file([srow("S1", C1), row]))
    assert (3, "init_setl_id") in [e[:2] for e in errors_of(result)]


def test_a_reversal_with_positive_amounts_is_a_row_error(settlement_file):
    row = srow("R1", C1, reversal_of="S1", maf_pay="5.00")
    result = settlement_import(path=settlement_file([srow("S1", C1), row]))
    assert [e[:2] for e in errors_of(result)] == [(3, "maf_pay")]


def test_invalid_rows_vali_flag_0_are_counted_and_skipped(settlement_file):
    rows = [srow("S1", C1), srow("S2", C2, vali_flag="0", certno="garbage")]
    result = settlement_import(path=settlement_file(rows))
    assert result.as_dict() == {
        "rows": 2,
        "imported": 1,
        "skipped": 1,
        "errors": [],
        "applied": True,
    }
    assert not Settlement.objects.filter(setl_id="S2").exists()


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"medfee_sumamt": "1000.001", "psn_part_amt": "400.001"}, "medfee_sumamt"),
        ({"hifp_pay": "abc"}, "hifp_pay"),
        ({"maf_pay": "-1.00"}, "maf_pay"),
        ({"inscp_scp_amt": "1000.01"}, "inscp_scp_amt"),
        ({"hifp_pay": "600.00", "hifmi_pay": "100.00"}, "hifp_pay"),
        ({"psn_part_amt": "400.01"}, "psn_part_amt"),
        ({"certno": "15030219700101101"}, "certno"),
        ({"insu_admdvs": "990000"}, "insu_admdvs"),
        ({"insutype": "999"}, "insutype"),
        ({"enddate": "2023-02-30"}, "enddate"),
        ({"setl_time": "yesterday"}, "setl_time"),
        ({"psn_name": ""}, "psn_name"),
        ({"setl_id": ""}, "setl_id"),
        ({"refd_setl_flag": "2"}, "refd_setl_flag"),
        ({"begndate": "2023-03-11"}, "enddate"),
    ],
)
def test_each_row_rule_is_a_row_error_naming_the_field(settlement_file, override, field):
    result = settlement_import(path=settlement_file([srow("S1", C1, **override)]))
    assert field in [e.field for e in result.errors], result.errors
    assert all(e.row == 2 for e in result.errors)
    assert Settlement.objects.count() == 0


def test_psn_part_amt_accounts_for_the_hospital_share(settlement_file):
    row = srow("S1", C1, "400", hosp_part_amt="50.00", psn_part_amt="350.00")
    assert settlement_import(path=settlement_file([row])).errors == []


def test_certno_is_not_checked_as_a_resident_id_for_other_documents(settlement_file):
    header = [*HEADER, "psn_cert_type"]
    row = srow("S1", "P12345678", psn_cert_type="02")
    result = settlement_import(path=settlement_file([row], header=header))
    assert (result.imported, result.errors) == (1, [])


def test_the_5203_extract_aliases_are_accepted_and_named_as_written(settlement_file):
    header = ["inscp_amt" if h == "inscp_scp_amt" else h for h in HEADER]
    header = ["psn_pay" if h == "psn_part_amt" else h for h in header]
    row = srow("S1", C1)
    row["inscp_amt"], row["psn_pay"] = row["inscp_scp_amt"], "1.00"
    result = settlement_import(path=settlement_file([row], header=header))
    assert [e.field for e in result.errors] == ["psn_pay"]
    row["psn_pay"] = row["psn_part_amt"]
    assert settlement_import(path=settlement_file([row], header=header)).imported == 1


def test_a_missing_required_column_makes_the_file_unusable(settlement_file):
    header = [h for h in HEADER if h != "maf_pay"]
    with pytest.raises(ImportFileError, match="maf_pay"):
        settlement_import(path=settlement_file([srow("S1", C1)], header=header))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_are_detected(settlement_file, encoding):
    row = srow("S1", C1, psn_name="乌云其其格", fixmedins_name="乌海市海勃湾区人民医院")
    result = settlement_import(path=settlement_file([row], encoding=encoding))
    assert result.errors == []
    assert Settlement.objects.get().psn_name == "乌云其其格"


def test_xlsx_with_real_date_and_number_cells(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    row = srow("S1", C1)
    row.update(
        begndate=date(2023, 3, 1),
        enddate=date(2023, 3, 10),
        setl_time=datetime(2023, 3, 10, 9, 30),
        medfee_sumamt=1000,
        psn_part_amt=400.0,
        insu_admdvs=150302,
    )
    sheet.append([row[h] if not isinstance(row[h], Decimal) else float(row[h]) for h in HEADER])
    path = tmp_path / "s.xlsx"
    book.save(path)
    result = settlement_import(path=str(path))
    assert (result.imported, result.errors) == (1, [])
    assert Settlement.objects.get().begndate == date(2023, 3, 1)


def test_command_prints_the_json_and_exits_1_on_row_errors(settlement_file):
    path = settlement_file([srow("S1", C1), srow("S2", C2, maf_pay="x")])
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_settlements", path, stdout=out)
    assert exit_info.value.code == 1
    printed = json.loads(out.getvalue())
    assert printed["applied"] is False and printed["imported"] == 1
    assert printed["errors"] == [{"row": 3, "field": "maf_pay", "message": "不是有效金额"}]


def test_command_exits_2_with_nothing_on_stdout_for_a_missing_column(settlement_file, capsys):
    path = settlement_file([srow("S1", C1)], header=HEADER[:5])
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_settlements", path, stdout=out, stderr=err)
    assert exit_info.value.code == 2
    assert out.getvalue() == "" and "缺少必需的列" in err.getvalue()


def test_command_dry_run_prints_applied_false(settlement_file):
    out = StringIO()
    call_command("import_settlements", settlement_file([srow("S1", C1)]), "--dry-run", stdout=out)
    assert json.loads(out.getvalue()) == {
        "rows": 1,
        "imported": 1,
        "skipped": 0,
        "errors": [],
        "applied": False,
    }
    assert Settlement.objects.count() == 0


def test_overlong_identifiers_are_row_errors_not_crashes(settlement_file):
    header = [*HEADER, "psn_cert_type"]
    rows = [
        srow("S" * 41, C1),
        srow("R1", C1, reversal_of="X" * 41),
        srow("S3", C2, psn_cert_type="0123456"),
    ]
    result = settlement_import(path=settlement_file(rows, header=header))
    assert [e[:2] for e in errors_of(result)] == [
        (2, "setl_id"),
        (3, "init_setl_id"),
        (4, "psn_cert_type"),
    ]
