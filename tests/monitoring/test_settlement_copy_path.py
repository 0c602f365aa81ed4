"""The PostgreSQL COPY path of the settlement import decides every row as the streaming path does.

Each case imports the same file twice, in two fresh states: once through `COPY` (the default on
PostgreSQL for a CSV file) and once with the COPY path switched off, and compares the whole
outcome: the §9.2 result, the errors word for word, and every stored column.
"""

from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from monitoring_helpers import HEADER, certno, srow

from monitoring.models import Settlement
from monitoring.settlements import copypath, settlement_import, staging

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY path is PostgreSQL only"),
]

C1, C2, C3 = certno(1), certno(2), certno(3)
STORED = [
    f.attname for f in Settlement._meta.concrete_fields if f.attname not in ("id", "batch_id")
]


REAL_LOAD_CSV = copypath.load_csv


def outcome(path):
    result = settlement_import(path=path)
    stored = sorted(Settlement.objects.values_list(*STORED))
    Settlement.objects.all().delete()
    return result.as_dict(), stored


def both_paths(path, monkeypatch):
    """(outcome through COPY, outcome through the streaming path, whether COPY took it)."""
    taken = []
    real = REAL_LOAD_CSV

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(copypath, "load_csv", spy)
    copied = outcome(path)
    monkeypatch.setattr(copypath, "load_csv", lambda *a, **k: None)
    streamed = outcome(path)
    return copied, streamed, taken == [True]


# Rows in other accepted forms, or breaking one rule each, beside plain ones.
IRREGULAR = [
    {"setl_id": "  S9  "},
    {"setl_id": "S9\u3000"},
    {"psn_name": "\u00a0测试人"},
    {"fixmedins_name": "医院\t"},
    {"certno": C3.lower() if C3.endswith("X") else C3[:-1] + "x"},
    {"begndate": "20230310", "enddate": "2023/03/10"},
    {"setl_time": "2023-03-10T10:00:00+08:00"},
    {"setl_time": "20230310100000"},
    {"setl_time": "2023-03-10 10:00:00.5"},
    {"setl_time": "2023-03-10 24:00:00"},
    {"medfee_sumamt": "1000.000"},
    {"medfee_sumamt": "1e3"},
    {"medfee_sumamt": "1000.001", "psn_part_amt": "400.001"},
    {"maf_pay": "NaN"},
    {"maf_pay": "-1.00"},
    {"hosp_part_amt": ""},
    {"hifp_pay": "600.00"},
    {"psn_part_amt": "400.01"},
    {"certno": "150302197001011011"},
    {"certno": "15030218000101101X"},
    {"certno": "150302299901011012"},
    {"enddate": "2023-02-30"},
    {"begndate": "2023-03-11"},
    {"insutype": " 390"},
    {"insu_admdvs": "990000"},
    {"refd_setl_flag": "2"},
    {"vali_flag": "0", "certno": "garbage"},
    {"vali_flag": " 1"},
    {"setl_id": "S" * 41},
    {"med_type": "14"},
    {"med_type": "2101"},
    {"psn_name": "O'Brien \\ 测试"},
    # DOMAIN §9 values: accepted in another form, or refused, never a server error.
    {"medfee_sumamt": "1,000.00"},
    {"medfee_sumamt": "abc"},
    {"medfee_sumamt": "１０００.00"},
    {"medfee_sumamt": "¥1000.00"},
    {"medfee_sumamt": "1 000.00"},
    {"medfee_sumamt": "+1000.00"},
    {"medfee_sumamt": "0x3E8"},
    {"medfee_sumamt": "1_000"},
    {"setl_id": "S\u200b9"},
    {"setl_id": "Ｓ9"},
    {"begndate": "2023/3/10", "enddate": "2023-03-10 08:30:00"},
    {"begndate": "2023.03.10"},
    {"begndate": "2023-W10-5"},
    {"enddate": "23-03-10"},
    {"setl_time": "2023-03-10"},
    {"setl_time": "2023-03-10 10:00"},
]


@pytest.mark.parametrize(
    "change", IRREGULAR, ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items())
)
def test_an_irregular_row_is_decided_as_by_the_streaming_path(settlement_file, monkeypatch, change):
    rows = [srow("S1", C1), srow("S9", C2, **change), srow("S3", C1, enddate="2023-04-01")]
    copied, streamed, taken = both_paths(settlement_file(rows), monkeypatch)
    assert taken
    assert copied == streamed


def test_plain_rows_reversals_and_repeats_come_out_the_same(settlement_file, monkeypatch):
    rows = [
        srow("S1", C1, "1234.56"),
        srow("S2", C2, enddate="2024-01-02", med_type="14"),
        srow("R1", C1, "1234.56", reversal_of="S1"),
        srow("R2", C2, reversal_of="NOPE"),
        srow("S2", C2),
    ]
    copied, streamed, taken = both_paths(settlement_file(rows), monkeypatch)
    assert taken
    assert copied == streamed
    assert [e["row"] for e in copied[0]["errors"]] == [5, 6]


def test_a_clean_file_is_stored_through_copy_with_china_time(settlement_file, monkeypatch):
    rows = [srow("S1", C1, "0.10"), srow("S2", C2, hosp_part_amt="", enddate="2023-12-31")]
    header = [h for h in HEADER if h != "vali_flag"]
    copied, streamed, taken = both_paths(settlement_file(rows, header=header), monkeypatch)
    assert taken
    assert copied == streamed
    assert copied[0]["imported"] == 2
    settlement_import(path=settlement_file(rows, header=header))
    s1 = Settlement.objects.get(setl_id="S1")
    assert s1.psn_part_amt == Decimal("0.10")
    assert s1.setl_time.isoformat() == "2023-03-10T02:00:00+00:00"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda text: text + "S8,short\n", id="a row with fewer cells"),
        pytest.param(lambda text: text.replace("\n", "\n\n", 1), id="a blank line"),
        pytest.param(lambda text: text + "\\.\n", id="an end-of-data marker line"),
    ],
)
def test_a_file_the_server_cannot_take_falls_back_to_the_streaming_path(
    settlement_file, monkeypatch, damage
):
    path = settlement_file([srow("S1", C1), srow("S2", C2)])
    with open(path, encoding="utf-8") as f:
        text = damage(f.read())
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    copied, streamed, taken = both_paths(path, monkeypatch)
    assert not taken
    assert copied == streamed


def test_the_staging_tables_are_gone_after_an_import(settlement_file):
    settlement_import(path=settlement_file([srow("S1", C1, maf_pay="-1")]))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE %s AND relpersistence = 't'",
            [staging.STAGE + "%"],
        )
        assert cursor.fetchall() == []


# Values each field may take in the property below: plain ones and every odd form above.
POOL: dict[str, list[str]] = {}
for change in IRREGULAR:
    for key, value in change.items():
        POOL.setdefault(key, []).append(value)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.dictionaries(st.sampled_from(sorted(POOL)), st.none(), max_size=3),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_any_mix_of_odd_values_is_decided_as_by_the_streaming_path(
    settlement_file, monkeypatch, shapes, data
):
    rows = []
    for n, shape in enumerate(shapes):
        change = {key: data.draw(st.sampled_from(POOL[key])) for key in shape}
        rows.append(srow(f"S{n % 3}", (C1, C2, C3)[n % 3], **change))
    copied, streamed, taken = both_paths(settlement_file(rows), monkeypatch)
    assert taken
    assert copied == streamed
