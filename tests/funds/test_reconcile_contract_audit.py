"""Conformance audit of `reconcile` (DOMAIN §9.3): headers, one-of-two amounts, exit codes."""

import json
from datetime import date

import pytest
from django.core.management import call_command

from funds.models import Reconciliation

pytestmark = pytest.mark.django_db

KEYS = {"lines", "matched", "unmatched_statement", "unmatched_ledger", "errors", "applied"}


def _write(tmp_path, text, name="s.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _command(path, capsys, *extra):
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", path, "--area", "150300", "--period", "2023-07", *extra)
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_english_headers_any_case_are_accepted(tmp_path, capsys, fund, post_income):
    post_income("300.00", booked_on=date(2023, 7, 5), reference="V1")
    path = _write(tmp_path, "Date,Reference,Memo,Credit,Debit\n2023-07-20,V1,x,300.00,\n")
    code, out, _err = _command(path, capsys)
    result = json.loads(out)
    assert code == 0 and set(result) == KEYS
    assert (result["lines"], result["matched"], result["applied"]) == (1, 1, True)


def test_both_or_neither_amount_is_a_row_error_and_nothing_is_written(tmp_path, capsys, fund):
    body = "日期,凭证号,摘要,收入,支出\n2023-07-01,,a,10.00,5.00\n2023-07-02,,b,,\n2023-07-03,,c,7.00,\n"
    code, out, _err = _command(_write(tmp_path, body), capsys)
    result = json.loads(out)
    assert code == 1
    assert [e["row"] for e in result["errors"]] == [2, 3]
    assert (result["lines"], result["unmatched_statement"], result["applied"]) == (3, 1, False)
    assert not Reconciliation.objects.exists()


def test_missing_date_column_exits_2_with_nothing_on_stdout(tmp_path, capsys, fund):
    code, out, err = _command(_write(tmp_path, "凭证号,收入,支出\nA,1.00,\n"), capsys)
    assert (code, out) == (2, "") and err


def test_unknown_area_exits_2(tmp_path, capsys, fund):
    path = _write(tmp_path, "日期,凭证号,摘要,收入,支出\n2023-07-01,,a,1.00,\n")
    with pytest.raises(SystemExit) as exit_:
        call_command("reconcile", path, "--area", "999900", "--period", "2023-07")
    out, err = capsys.readouterr()
    assert (exit_.value.code, out) == (2, "") and err


def test_reference_and_date_candidates_together_are_ambiguous(tmp_path, capsys, fund, post_income):
    post_income("400.00", booked_on=date(2023, 7, 1), reference="R9")
    post_income("400.00", booked_on=date(2023, 7, 20))
    path = _write(tmp_path, "日期,凭证号,摘要,收入,支出\n2023-07-21,R9,x,400.00,\n")
    code, out, _err = _command(path, capsys, "--dry-run")
    result = json.loads(out)
    assert (code, result["matched"], result["unmatched_ledger"], result["applied"]) == (
        0,
        0,
        2,
        False,
    )


def test_a_line_with_one_candidate_matches_even_if_an_ambiguous_line_also_sees_it(
    tmp_path, capsys, fund, post_income
):
    """§9.3: only a line with more than one candidate stays unmatched."""
    post_income("500.00", booked_on=date(2023, 7, 10))  # Y: candidate of both lines
    post_income("500.00", booked_on=date(2023, 7, 16))  # X: candidate of the second line only
    path = _write(
        tmp_path,
        "日期,凭证号,摘要,收入,支出\n2023-07-08,,L1,500.00,\n2023-07-13,,L2,500.00,\n",
    )
    code, out, _err = _command(path, capsys, "--dry-run")
    result = json.loads(out)
    assert (code, result["matched"], result["unmatched_statement"], result["unmatched_ledger"]) == (
        0,
        1,
        1,
        1,
    )


def test_two_lines_whose_only_candidate_is_the_same_entry_both_stay_unmatched(
    tmp_path, capsys, fund, post_income
):
    post_income("600.00", booked_on=date(2023, 7, 10))
    path = _write(
        tmp_path,
        "日期,凭证号,摘要,收入,支出\n2023-07-09,,L1,600.00,\n2023-07-11,,L2,600.00,\n",
    )
    code, out, _err = _command(path, capsys, "--dry-run")
    result = json.loads(out)
    assert (result["matched"], result["unmatched_statement"], result["unmatched_ledger"]) == (
        0,
        2,
        1,
    )
