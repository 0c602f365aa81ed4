"""Regressions found by a conformance audit of the §9.2 / §9.4 command contracts."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from monitoring_helpers import HEADER, certno, srow

from core.models import Policy
from monitoring.settlements import settlement_import

pytestmark = pytest.mark.django_db

C1 = certno(1)


def errors_of(result):
    return [(e.row, e.field, e.message) for e in result.errors]


def test_reimport_with_psn_cert_type_01_equals_a_file_without_that_column(settlement_file):
    # No psn_cert_type column means a resident ID (01): the same values, so skipped.
    settlement_import(path=settlement_file([srow("S1", C1)]))
    again = settlement_import(
        path=settlement_file(
            [{**srow("S1", C1), "psn_cert_type": "01"}], header=[*HEADER, "psn_cert_type"]
        )
    )
    assert (again.imported, again.skipped, errors_of(again)) == (0, 1, [])


def test_reimport_with_another_cert_type_is_still_a_conflict(settlement_file):
    settlement_import(path=settlement_file([srow("S1", C1)]))
    again = settlement_import(
        path=settlement_file(
            [{**srow("S1", C1), "psn_cert_type": "02"}], header=[*HEADER, "psn_cert_type"]
        )
    )
    assert [e.row for e in again.errors] == [2]


def test_reversal_sum_checks_use_absolute_values(settlement_file):
    # A reversal with one positive amount: only that amount is wrong; the sum checks on
    # absolute values (|inscp| ≤ |medfee|, |hifp| + |hifmi| ≤ |inscp|) still hold.
    settlement_import(path=settlement_file([srow("S1", C1)]))
    reversal = srow("R1", C1, reversal_of="S1", medfee_sumamt="1000.00")
    result = settlement_import(path=settlement_file([reversal]), dry_run=True)
    assert errors_of(result) == [(2, "medfee_sumamt", "退费结算的金额应小于或等于0")]


def test_high_cost_rows_scanned_counts_rows_even_without_a_policy(import_rows):
    Policy.objects.all().delete()
    import_rows([srow("S1", C1), srow("S2", certno(2))])
    out = StringIO()
    call_command("run_check", "high_cost", "--period", "2023", stdout=out)
    record = json.loads(out.getvalue())
    assert (record["rows_scanned"], record["alerts_created"]) == (2, 0)


def test_high_cost_first_run_after_import_counts_the_rows_read(import_rows):
    import_rows([srow("S1", C1), srow("S2", certno(2)), srow("S3", C1, enddate="2023-07-01")])
    out = StringIO()
    call_command("run_check", "high_cost", "--period", "2023-06", stdout=out)
    assert json.loads(out.getvalue())["rows_scanned"] == 2
