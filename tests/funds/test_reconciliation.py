import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from funds.balance_statement import reconciliation_done
from funds.matching import match_manual, reconciliation_rematch
from funds.models import MatchedLeg, Reconciliation, StatementLine, Subject
from funds.reconciliation import statement_reconcile

pytestmark = pytest.mark.django_db

HEADER = "日期,凭证号,摘要,收入,支出\n"


def _csv(tmp_path, body, name="statement.csv", header=HEADER, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes((header + body).encode(encoding))
    return path


def _run(fund, path, by=None, dry_run=False):
    return statement_reconcile(
        fund=fund, year=2023, month=7, file_or_path=path, filename=path.name, by=by, dry_run=dry_run
    )


def test_exact_reference_matches_even_far_apart_in_date(tmp_path, fund, post_income):
    post_income("1000.00", booked_on=date(2023, 7, 1), reference="CZ-001")
    path = _csv(tmp_path, "2023-07-20,CZ-001,中央补助,1000.00,\n")
    result = _run(fund, path)
    assert result == {
        "lines": 1,
        "matched": 1,
        "unmatched_statement": 0,
        "unmatched_ledger": 0,
        "errors": [],
        "applied": True,
    }


def test_date_within_three_days_matches_without_reference(tmp_path, fund, post_income):
    post_income("500.00", booked_on=date(2023, 7, 10))
    path = _csv(tmp_path, "2023-07-13,,利息,500.00,\n")
    assert _run(fund, path)["matched"] == 1


def test_date_four_days_apart_does_not_match(tmp_path, fund, post_income):
    post_income("500.00", booked_on=date(2023, 7, 10))
    path = _csv(tmp_path, "2023-07-14,,利息,500.00,\n")
    result = _run(fund, path)
    assert (result["matched"], result["unmatched_statement"], result["unmatched_ledger"]) == (
        0,
        1,
        1,
    )


def test_direction_must_agree(tmp_path, fund, post_income):
    post_income("500.00", booked_on=date(2023, 7, 10))
    path = _csv(tmp_path, "2023-07-10,,支出,,500.00\n")
    assert _run(fund, path)["matched"] == 0


def test_line_with_two_candidates_stays_unmatched(tmp_path, fund, post_income):
    post_income("800.00", booked_on=date(2023, 7, 10))
    post_income("800.00", booked_on=date(2023, 7, 11))
    path = _csv(tmp_path, "2023-07-10,,补助,800.00,\n")
    result = _run(fund, path)
    assert (result["matched"], result["unmatched_statement"], result["unmatched_ledger"]) == (
        0,
        1,
        2,
    )


def test_entry_that_is_candidate_of_two_lines_is_matched_to_neither(tmp_path, fund, post_income):
    post_income("800.00", booked_on=date(2023, 7, 10))
    path = _csv(tmp_path, "2023-07-09,,补助,800.00,\n2023-07-11,,补助,800.00,\n")
    result = _run(fund, path)
    assert result["matched"] == 0
    assert MatchedLeg.objects.count() == 0


def test_one_to_several_manual_match(tmp_path, fund, post_income, accountant_city):
    a = post_income("300.00", booked_on=date(2023, 7, 5))
    b = post_income("200.00", booked_on=date(2023, 7, 20))
    path = _csv(tmp_path, "2023-07-28,HB-9,合并拨付,500.00,\n")
    _run(fund, path, by=accountant_city)
    recon = Reconciliation.objects.get()
    line = recon.lines.get()
    legs = [leg.pk for v in (a, b) for leg in v.legs.filter(subject_id=Subject.FISCAL)]
    match_manual(recon=recon, line_ids=[line.pk], leg_ids=legs, by=accountant_city)
    line.refresh_from_db()
    assert line.match is not None
    assert MatchedLeg.objects.filter(match=line.match).count() == 2
    reconciliation_done(recon=recon, by=accountant_city)
    recon.refresh_from_db()
    assert (recon.status, recon.done_by) == ("done", accountant_city)


def test_manual_match_refuses_unequal_amounts(tmp_path, fund, post_income, accountant_city):
    a = post_income("300.00", booked_on=date(2023, 7, 5))
    _run(fund, _csv(tmp_path, "2023-07-28,,x,500.00,\n"), by=accountant_city)
    recon = Reconciliation.objects.get()
    with pytest.raises(ValidationError, match="金额不一致"):
        match_manual(
            recon=recon,
            line_ids=[recon.lines.get().pk],
            leg_ids=[a.legs.get(subject_id=Subject.FISCAL).pk],
            by=accountant_city,
        )


def test_done_is_refused_while_statement_lines_are_unmatched(tmp_path, fund, accountant_city):
    _run(fund, _csv(tmp_path, "2023-07-28,,x,500.00,\n"), by=accountant_city)
    with pytest.raises(ValidationError):
        reconciliation_done(recon=Reconciliation.objects.get(), by=accountant_city)


def test_a_bad_row_applies_nothing(tmp_path, fund, post_income):
    post_income("1000.00", booked_on=date(2023, 7, 1), reference="CZ-001")
    path = _csv(
        tmp_path,
        "2023-07-01,CZ-001,ok,1000.00,\n2023-07-32,,bad,5.00,\n2023-07-03,,both,5.00,6.00\n",
    )
    result = _run(fund, path)
    assert result["applied"] is False
    assert result["matched"] == 1
    assert result["errors"] == [
        {
            "row": 3,
            "field": "日期",
            "message": "日期格式错误，应为 YYYY-MM-DD、YYYY/MM/DD、YYYYMMDD 或 Excel 日期",
        },
        {"row": 4, "field": "收入", "message": "收入和支出应填且只填一项"},
    ]
    assert not Reconciliation.objects.exists()
    assert not StatementLine.objects.exists()


def test_rematch_after_adjusting_entry(tmp_path, fund, post_income, accountant_city):
    _run(fund, _csv(tmp_path, "2023-07-28,LX-7,利息,12.34,\n"), by=accountant_city)
    post_income("12.34", booked_on=date(2023, 7, 28), reference="LX-7", counter="4004")
    recon = Reconciliation.objects.get()
    assert reconciliation_rematch(recon=recon, by=accountant_city) == 1


def test_ledger_entry_is_never_matched_twice_across_months(tmp_path, fund, post_income):
    post_income("700.00", booked_on=date(2023, 7, 31))
    _run(fund, _csv(tmp_path, "2023-07-31,,x,700.00,\n"))
    path = _csv(tmp_path, "2023-08-01,,x,700.00,\n", name="aug.csv")
    result = statement_reconcile(
        fund=fund, year=2023, month=8, file_or_path=path, filename="aug.csv", by=None
    )
    assert result["matched"] == 0


# --- the command (DOMAIN §9.3 contract) ------------------------------------------------


def _command(capsys, *args):
    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile", *args)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_command_prints_the_contract_json(tmp_path, capsys, fund, post_income):
    post_income("1000.00", booked_on=date(2023, 7, 1), reference="CZ-001")
    path = _csv(
        tmp_path,
        '2023/07/02,CZ-001,中央补助,"1,000.00",\n20230715,,未达,88.00,\n',
        header="\ufeffdate,reference,memo,credit,debit\n",
    )
    code, out, err = _command(capsys, str(path), "--area", "150300", "--period", "2023-07")
    assert code == 0
    assert json.loads(out) == {
        "lines": 2,
        "matched": 1,
        "unmatched_statement": 1,
        "unmatched_ledger": 0,
        "errors": [],
        "applied": True,
    }


def test_command_dry_run_writes_nothing(tmp_path, capsys, fund):
    path = _csv(tmp_path, "2023-07-02,,x,1.00,\n")
    code, out, _err = _command(
        capsys, str(path), "--area", "150300", "--period", "2023-07", "--dry-run"
    )
    assert code == 0
    assert json.loads(out)["applied"] is False
    assert not Reconciliation.objects.exists()


def test_command_row_errors_exit_1_with_json(tmp_path, capsys, fund):
    path = _csv(tmp_path, "2023-07-02,,x,abc,\n")
    code, out, _err = _command(capsys, str(path), "--area", "150300", "--period", "2023-07")
    assert code == 1
    assert json.loads(out)["errors"] == [
        {"row": 2, "field": "收入", "message": "金额格式错误（元，最多两位小数）"}
    ]


def test_command_missing_column_exits_2_with_nothing_on_stdout(tmp_path, capsys, fund):
    path = _csv(tmp_path, "x,1\n", header="摘要,收入\n")
    code, out, err = _command(capsys, str(path), "--area", "150300", "--period", "2023-07")
    assert (code, out) == (2, "")
    assert "日期" in err


@pytest.mark.parametrize("period", ["2023-13", "0000-07", "２０２３-０７", "2023-00"])
def test_command_bad_period_exits_2(tmp_path, capsys, fund, period):
    path = _csv(tmp_path, "2023-07-02,,x,1.00,\n")
    code, out, _err = _command(capsys, str(path), "--area", "150300", "--period", period)
    assert (code, out) == (2, "")


def test_gb18030_statement_is_read(tmp_path, capsys, fund):
    path = _csv(tmp_path, "2023-07-02,,利息收入,1.00,\n", encoding="gb18030")
    code, out, _err = _command(capsys, str(path), "--area", "150300", "--period", "2023-07")
    assert code == 0 and json.loads(out)["lines"] == 1


def test_xlsx_statement_with_date_cells(tmp_path, capsys, fund, post_income):
    from openpyxl import Workbook

    post_income("250.00", booked_on=date(2023, 7, 5))
    wb = Workbook()
    ws = wb.active
    ws.append(["日期", "凭证号", "摘要", "收入", "支出"])
    ws.append([date(2023, 7, 6), "", "补助", 250, None])
    path = tmp_path / "s.xlsx"
    wb.save(path)
    code, out, _err = _command(capsys, str(path), "--area", "150300", "--period", "2023-07")
    assert code == 0
    assert json.loads(out)["matched"] == 1
    assert Decimal(StatementLine.objects.get().amount) == Decimal("250.00")


def test_a_new_statement_replaces_the_months_previous_one(tmp_path, fund, post_income):
    post_income("500.00", booked_on=date(2023, 7, 10))
    _run(fund, _csv(tmp_path, "2023-07-10,,x,500.00,\n2023-07-11,,y,1.00,\n"))
    result = _run(fund, _csv(tmp_path, "2023-07-10,,x,500.00,\n", name="v2.csv"))
    assert result["matched"] == 1
    recon = Reconciliation.objects.get()
    assert recon.lines.count() == 1 and MatchedLeg.objects.count() == 1
