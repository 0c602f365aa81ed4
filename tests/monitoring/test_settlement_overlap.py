"""A large CSV on PostgreSQL is checked on a second connection while this one writes it.

The write is optimistic and uncommitted; it is committed only when the checks find the file
pristine (every row new, in plain form, without an error). Every other file ends as the
one-connection path ends it: each case imports the same file both ways, from the same state,
and compares the §9.2 result, the stored rows and the batch record.
"""

import threading

import pytest
from django.db import connection
from monitoring_helpers import certno, srow

from monitoring.models import Settlement, SettlementImport
from monitoring.settlements import copypath, settlement_import, staging

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only"),
]

C1, C2, C3 = certno(1), certno(2), certno(3)
STORED = [
    f.attname for f in Settlement._meta.concrete_fields if f.attname not in ("id", "batch_id")
]
REAL_APPLY = staging.apply_file
REAL_OVERLAPPED = copypath.import_overlapped


@pytest.fixture
def paths(monkeypatch):
    """Switches between the two paths and records which one wrote."""
    seen = {"overlapped": [], "applied": 0}

    def overlapped(*args, **kwargs):
        result = REAL_OVERLAPPED(*args, **kwargs)
        seen["overlapped"].append(result is not None)
        return result

    def apply(*args, **kwargs):
        seen["applied"] += 1
        return REAL_APPLY(*args, **kwargs)

    monkeypatch.setattr(copypath, "import_overlapped", overlapped)
    monkeypatch.setattr(staging, "apply_file", apply)

    def use(overlap: bool):
        monkeypatch.setattr(copypath, "OVERLAP_MIN_BYTES", 0 if overlap else 1 << 62)
        seen["overlapped"].clear()
        seen["applied"] = 0

    seen["use"] = use
    return seen


def state():
    rows = sorted(Settlement.objects.values_list(*STORED))
    batches = sorted(SettlementImport.objects.values_list("rows", "imported", "skipped"))
    return rows, batches


def both_ways(path, paths, before=()):
    """(overlapped outcome, one-connection outcome), each from the state `before` sets up."""
    outcomes = []
    for overlap in (True, False):
        Settlement.objects.all().delete()
        SettlementImport.objects.all().delete()
        for earlier in before:
            paths["use"](False)
            assert not settlement_import(path=earlier).errors
        paths["use"](overlap)
        result = settlement_import(path=path)
        outcomes.append((result.as_dict(), state()))
    return outcomes


def test_a_pristine_file_is_committed_as_written_while_it_was_checked(settlement_file, paths):
    rows = [
        srow("S1", C1, "1234.56"),
        srow("S2", C2, enddate="2024-01-02", med_type="14"),
        srow("S3", C3, hosp_part_amt="12.00", psn_part_amt="388.00"),
        srow("R1", C1, "1234.56", reversal_of="S1"),
    ]
    overlapped, serial = both_ways(settlement_file(rows), paths)
    assert overlapped == serial
    assert overlapped[0]["imported"] == 4
    assert overlapped[1][1] == [(4, 4, 0)]  # the shell's batch record, with its counts
    paths["use"](True)
    Settlement.objects.all().delete()
    result = settlement_import(path=settlement_file(rows))
    assert result.applied and paths["overlapped"] == [True]
    assert paths["applied"] == 0  # the optimistic write was the one committed
    assert Settlement.objects.filter(batch_id=result.batch_id).count() == 4


@pytest.mark.parametrize(
    "change",
    [
        {"begndate": "20230310", "enddate": "2023/03/10"},
        {"setl_id": "  S9  "},
        {"vali_flag": "0", "certno": "garbage"},
        # §9: a time part is " HH:MM" or " HH:MM:SS" (2023-03-10T10:00:00+08:00 is refused)
        {"setl_time": "2023/3/10 10:00"},
        {"medfee_sumamt": "1,000.00"},
        {"setl_id": "S\u200b9"},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()),
)
def test_a_file_with_rows_in_another_form_is_written_by_the_checks(settlement_file, paths, change):
    rows = [srow("S1", C1), srow("S9", C2, **change), srow("S3", C3)]
    overlapped, serial = both_ways(settlement_file(rows), paths)
    assert overlapped == serial
    assert overlapped[0]["applied"]
    paths["use"](True)
    Settlement.objects.all().delete()
    settlement_import(path=settlement_file(rows))
    assert paths["overlapped"] == [True] and paths["applied"] == 1


def test_a_file_with_an_error_writes_nothing_and_reports_as_the_one_connection_path(
    settlement_file, paths
):
    rows = [
        srow("S1", C1),
        srow("S2", C2, maf_pay="-1.00"),
        srow("S1", C3),
        srow("R", C1, reversal_of="X"),
    ]
    overlapped, serial = both_ways(settlement_file(rows), paths)
    assert overlapped == serial
    assert [e["row"] for e in overlapped[0]["errors"]] == [3, 4, 5]
    assert overlapped[1] == ([], [])  # no rows, and the writer's batch record rolled back


def test_a_file_already_imported_is_skipped_as_by_the_one_connection_path(settlement_file, paths):
    rows = [srow("S1", C1), srow("S2", C2), srow("S3", C3)]
    first = settlement_file(rows)
    overlapped, serial = both_ways(settlement_file(rows + [srow("S4", C1)]), paths, before=[first])
    assert overlapped == serial
    assert (overlapped[0]["imported"], overlapped[0]["skipped"]) == (1, 3)
    conflicting = settlement_file([srow("S1", C1, "401.00")])
    overlapped, serial = both_ways(conflicting, paths, before=[first])
    assert overlapped == serial
    assert overlapped[0]["errors"][0]["row"] == 2


def test_a_file_the_server_refuses_goes_the_streaming_way(settlement_file, paths):
    path = settlement_file([srow("S1", C1), srow("S2", C2)])
    with open(path, "a", encoding="utf-8") as f:
        f.write("S8,short\n")
    overlapped, serial = both_ways(path, paths)
    assert overlapped == serial
    assert paths["overlapped"] == [] or paths["overlapped"] == [False]


def test_a_failure_of_the_checks_writes_nothing_and_is_raised(settlement_file, paths, monkeypatch):
    def broken(cursor, result, *, recheck, lock=True, by=None):
        raise RuntimeError("checks failed")

    paths["use"](True)
    monkeypatch.setattr(staging, "check_file", broken)
    with pytest.raises(RuntimeError, match="checks failed"):
        settlement_import(path=settlement_file([srow("S1", C1)]))
    assert state() == ([], [])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE %s AND relpersistence = 't'",
            [staging.STAGE + "%"],
        )
        assert cursor.fetchall() == []


def test_progress_is_reported_from_the_checking_connection(settlement_file, paths):
    paths["use"](True)
    batch = SettlementImport.objects.create(file_name="s.csv", status="applying")
    phases = []

    def progress(phase, done, total):
        phases.append((phase, threading.current_thread().name))
        # Written where the upload page reads it, while the import is still running.
        SettlementImport.objects.filter(pk=batch.pk).update(phase=phase)

    result = settlement_import(
        path=settlement_file([srow("S1", C1)]), batch_id=batch.pk, progress=progress
    )
    assert result.applied and paths["overlapped"] == [True]
    assert [p for p, _t in phases] == ["reading", "checking"]
    assert {t for _p, t in phases} == {"settlement-import-checks"}
    assert Settlement.objects.get().batch_id == batch.pk


def test_a_users_rows_of_another_district_are_refused_on_the_overlapped_path(
    settlement_file, paths, caseworker_haibowan
):
    """The scope check (DOMAIN §8) runs on the checking connection too: nothing is written."""
    paths["use"](True)
    path = settlement_file([srow("S1", C1), srow("S2", C2, insu_admdvs="150304")])
    result = settlement_import(path=path, by=caseworker_haibowan)
    assert [e.as_dict() for e in result.errors] == [
        {"row": 3, "field": "insu_admdvs", "message": "医保区划不在您的辖区内，不能导入。"}
    ]
    assert paths["overlapped"] == [True]
    assert Settlement.objects.count() == 0
