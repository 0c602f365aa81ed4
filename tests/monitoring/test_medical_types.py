"""The medical-type dictionary (医疗类别字典, DOMAIN §9.2): med_type → visit type, per area.

The seeded national codes, a code the dictionary lacks (general outpatient, listed on the
import page), admins adding or re-mapping a code (the imported rows are re-filed), per-area
rows overriding the region-wide ones, and the COPY path agreeing with the row checker.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from monitoring_helpers import certno, srow

from core.models import Region
from monitoring import services
from monitoring.medical_types import medical_type_lookup
from monitoring.models import MedicalType, Settlement, SettlementImport
from monitoring.settlements import copypath, settlement_import

pytestmark = pytest.mark.django_db

C1, C2 = certno(1), certno(2)
BAOTOU = "150200"  # 包头市 itself: a settlement of the coordination area Baotou


def visit_types():
    return dict(Settlement.objects.values_list("setl_id", "visit_type"))


@pytest.fixture
def superuser(admin_city):
    admin_city.is_superuser = True
    admin_city.save()
    return admin_city


@pytest.mark.parametrize(
    ("med_type", "expected"),
    [
        ("21", "inpatient"),
        ("2801", "inpatient"),  # a sub-code of 28 日间手术: the 2* rule
        ("52", "inpatient"),  # 生育住院
        ("14", "chronic_outpatient"),
        ("140101", "chronic_outpatient"),  # 1401xx 门诊慢病
        ("140201", "chronic_outpatient"),  # 1402xx 门诊特病
        ("11", "general_outpatient"),
        ("41", "general_outpatient"),
        ("9901", "general_outpatient"),  # unknown
    ],
)
def test_the_seeded_dictionary_files_national_codes(import_rows, med_type, expected):
    import_rows([srow("S1", C1, med_type=med_type)])
    assert visit_types() == {"S1": expected}
    assert medical_type_lookup().visit_type(med_type, "150302") == expected


def test_only_codes_no_rule_matches_are_unknown():
    lookup = medical_type_lookup()
    assert not lookup.is_known("9901", "150302")
    assert not lookup.is_known("1403", "150302")  # 14 is exact; only 1401*/1402* are prefixes
    for code in ("11", "2801", "52", "140101", "14"):
        assert lookup.is_known(code, "150302"), code


def test_a_command_import_stores_the_unknown_codes_and_their_counts_on_its_batch(import_rows):
    result = import_rows(
        [
            srow("S1", C1, med_type="9901"),
            srow("S2", C2, med_type="9901"),
            srow("S3", C1, med_type="3101", enddate="2023-04-01"),
            srow("S4", C2, med_type="11", enddate="2023-04-01"),
        ]
    )
    expected = [{"code": "9901", "rows": 2}, {"code": "3101", "rows": 1}]
    assert result.unknown_med_types == expected
    assert SettlementImport.objects.get(pk=result.batch_id).unknown_med_types == expected
    # The §9.2 output is exactly as before.
    assert result.as_dict() == {
        "rows": 4,
        "imported": 4,
        "skipped": 0,
        "errors": [],
        "applied": True,
    }


def test_a_provincial_code_added_in_admin_refiles_the_imported_rows(client, import_rows, superuser):
    import_rows([srow("S1", C1, med_type="9901"), srow("S2", C2, med_type="11")])
    assert visit_types() == {"S1": "general_outpatient", "S2": "general_outpatient"}
    client.force_login(superuser)
    response = client.post(
        reverse("admin:monitoring_medicaltype_add"),
        {"code": "9901", "name": "自治区特殊住院", "visit_type": "inpatient", "area": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert visit_types() == {"S1": "inpatient", "S2": "general_outpatient"}
    row = MedicalType.objects.get(code="9901")
    assert row.history.get().history_user == superuser
    # The next import files the code by the dictionary too, and no longer lists it.
    result = import_rows([srow("S3", C1, med_type="9901", enddate="2023-04-01")])
    assert visit_types()["S3"] == "inpatient"
    assert result.unknown_med_types == []


def test_remapping_a_prefix_rule_refiles_its_sub_codes_only(import_rows, superuser):
    import_rows(
        [
            srow("S1", C1, med_type="140101"),
            srow("S2", C2, med_type="140201"),
            srow("S3", C1, med_type="14", enddate="2023-04-01"),
        ]
    )
    rule = MedicalType.objects.get(code="1401*", area=None)
    rule.visit_type = "general_outpatient"
    assert services.medical_type_save(medical_type=rule, by=superuser) == 1
    assert visit_types() == {
        "S1": "general_outpatient",
        "S2": "chronic_outpatient",
        "S3": "chronic_outpatient",
    }


def test_deleting_a_rule_refiles_its_rows_by_what_is_left(import_rows, superuser):
    import_rows([srow("S1", C1, med_type="21"), srow("S2", C2, med_type="52")])
    services.medical_type_delete(medical_type=MedicalType.objects.get(code="52"), by=superuser)
    # 21 still has its row; 52 now matches nothing (not 2*): general outpatient.
    assert visit_types() == {"S1": "inpatient", "S2": "general_outpatient"}


def test_a_per_area_row_overrides_the_region_wide_one_for_that_area_only(
    import_rows, admin_city, wuhai
):
    assert Region.objects.filter(code=BAOTOU).exists()
    import_rows(
        [
            srow("S1", C1, med_type="3101"),
            srow("S2", C2, med_type="3101", insu_admdvs=BAOTOU),
            srow("S3", C1, med_type="21", enddate="2023-04-01"),
            srow("S4", C2, med_type="21", enddate="2023-04-01", insu_admdvs=BAOTOU),
        ]
    )
    for code, visit in (("3101", "chronic_outpatient"), ("21", "general_outpatient")):
        row = MedicalType(code=code, name="乌海地方代码", visit_type=visit, area=wuhai)
        services.medical_type_save(medical_type=row, by=admin_city)
    assert visit_types() == {
        "S1": "chronic_outpatient",
        "S2": "general_outpatient",  # Baotou: still unknown
        "S3": "general_outpatient",  # Wuhai's 21 overrides the region-wide 21
        "S4": "inpatient",
    }
    # New imports follow the same lookup, and only Baotou's 3101 is unknown.
    result = import_rows(
        [
            srow("S5", C1, med_type="3101", enddate="2023-05-01"),
            srow("S6", C2, med_type="3101", enddate="2023-05-01", insu_admdvs=BAOTOU),
            srow("S7", C1, med_type="21", enddate="2023-05-01"),
        ]
    )
    assert {k: v for k, v in visit_types().items() if k in ("S5", "S6", "S7")} == {
        "S5": "chronic_outpatient",
        "S6": "general_outpatient",
        "S7": "general_outpatient",
    }
    assert result.unknown_med_types == [{"code": "3101", "rows": 1}]


def test_an_area_admin_changes_neither_region_wide_rows_nor_another_areas(admin_city):
    regionwide = MedicalType.objects.get(code="21", area=None)
    regionwide.visit_type = "general_outpatient"
    with pytest.raises(PermissionDenied):
        services.medical_type_save(medical_type=regionwide, by=admin_city)
    baotou = Region.objects.get(code="150200")
    with pytest.raises(PermissionDenied):
        services.medical_type_save(
            medical_type=MedicalType(code="3101", name="x", visit_type="inpatient", area=baotou),
            by=admin_city,
        )
    assert MedicalType.objects.get(code="21", area=None).visit_type == "inpatient"
    assert not MedicalType.objects.filter(code="3101").exists()


def test_the_admin_offers_an_area_admin_only_their_own_areas_rows(admin_city, wuhai):
    from django.contrib import admin

    model_admin = admin.site._registry[MedicalType]
    request = RequestFactory().get("/admin/")
    request.user = admin_city
    assert model_admin.has_change_permission(request, MedicalType.objects.get(code="21")) is False
    own = MedicalType.objects.create(code="3101", name="x", visit_type="inpatient", area=wuhai)
    assert model_admin.has_change_permission(request, own) is True
    assert "delete_selected" not in model_admin.get_actions(request)
    field = model_admin.formfield_for_foreignkey(MedicalType._meta.get_field("area"), request)
    assert list(field.queryset) == [wuhai] and field.required


def test_caseworkers_cannot_edit_the_dictionary(caseworker_haibowan, wuhai):
    with pytest.raises(PermissionDenied):
        services.medical_type_save(
            medical_type=MedicalType(code="3101", name="x", visit_type="inpatient", area=wuhai),
            by=caseworker_haibowan,
        )


def test_a_code_must_be_letters_or_digits_with_an_optional_trailing_star(superuser):
    from django.core.exceptions import ValidationError

    for bad in ("21'", "2**", "*", "12 3"):
        with pytest.raises(ValidationError):
            services.medical_type_save(
                medical_type=MedicalType(code=bad, name="x", visit_type="inpatient"),
                by=superuser,
            )
    # An area is a coordination area (盟市), not a district.
    with pytest.raises(ValidationError):
        services.medical_type_save(
            medical_type=MedicalType(
                code="3101",
                name="x",
                visit_type="inpatient",
                area=Region.objects.get(code="150302"),
            ),
            by=superuser,
        )
    # The same code twice region-wide.
    with pytest.raises(ValidationError):
        services.medical_type_save(
            medical_type=MedicalType(code="21", name="x", visit_type="inpatient"), by=superuser
        )
    assert not MedicalType.objects.filter(code="3101").exists()


def test_the_import_page_lists_the_unknown_codes_with_their_row_counts(
    client, caseworker_haibowan, django_capture_on_commit_callbacks, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from monitoring_helpers import write_csv

    path = write_csv(
        tmp_path / "extract.csv",
        [
            srow("S1", C1, med_type="9901"),
            srow("S2", C2, med_type="9901"),
            srow("S3", C1, med_type="3101", enddate="2023-04-01"),
            srow("S4", C2, med_type="21", enddate="2023-04-01"),
        ],
    )
    client.force_login(caseworker_haibowan)
    with open(path, "rb") as f, django_capture_on_commit_callbacks(execute=True):
        upload = SimpleUploadedFile("extract.csv", f.read(), content_type="text/csv")
        client.post(reverse("monitoring:imports"), {"file": upload})
    batch = SettlementImport.objects.get()
    assert batch.status == "validated"
    assert batch.unknown_med_types == [{"code": "9901", "rows": 2}, {"code": "3101", "rows": 1}]
    page = client.get(reverse("monitoring:import_detail", args=[batch.pk])).content.decode()
    section = page[page.index('id="unknown-med-types"') :]
    assert '<code>9901</code></td><td class="text-end">2</td>' in section
    assert '<code>3101</code></td><td class="text-end">1</td>' in section
    assert "<code>21</code>" not in section


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY path is PostgreSQL only")
def test_the_copy_path_and_the_row_checker_file_every_code_alike(
    settlement_file, monkeypatch, admin_city, wuhai
):
    services.medical_type_save(
        medical_type=MedicalType(code="21", name="x", visit_type="general_outpatient", area=wuhai),
        by=admin_city,
    )
    services.medical_type_save(
        medical_type=MedicalType(code="99*", name="x", visit_type="inpatient", area=wuhai),
        by=admin_city,
    )
    codes = ["21", "2801", "52", "14", "140101", "140201", "1403", "11", "41", "9901", "3101"]
    rows = []
    for i, code in enumerate(codes):
        for j, admdvs in enumerate(("150302", BAOTOU)):
            rows.append(srow(f"S{i}-{j}", C1 if j else C2, med_type=code, insu_admdvs=admdvs))
    path = settlement_file(rows)
    taken = []
    real = copypath.load_csv

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        taken.append(result is not None)
        return result

    def outcome():
        result = settlement_import(path=path)
        stored = visit_types()
        Settlement.objects.all().delete()
        return result.unknown_med_types, stored

    monkeypatch.setattr(copypath, "load_csv", spy)
    copied = outcome()
    monkeypatch.setattr(copypath, "load_csv", lambda *a, **k: None)
    streamed = outcome()
    assert taken == [True]
    assert copied == streamed
    assert copied[1]["S0-0"] == "general_outpatient" and copied[1]["S0-1"] == "inpatient"
    assert copied[1]["S9-0"] == "inpatient" and copied[1]["S9-1"] == "general_outpatient"
    assert copied[1]["S6-0"] == "general_outpatient"
    assert {u["code"] for u in copied[0]} == {"1403", "9901", "3101"}


def test_a_code_mapped_while_an_import_is_checked_files_that_imports_rows_too(settlement_file):
    """The admin's re-filing ran before this import's rows existed (it waits for the import
    lock on PostgreSQL): the import re-reads the dictionary under its lock and re-files them."""

    def progress(phase, done, total):
        if phase == "checking" and not MedicalType.objects.filter(code="9901").exists():
            MedicalType.objects.create(code="9901", name="x", visit_type="inpatient")

    result = settlement_import(
        path=settlement_file([srow("S1", C1, med_type="9901"), srow("S2", C2, med_type="11")]),
        progress=progress,
    )
    assert result.applied
    assert visit_types() == {"S1": "inpatient", "S2": "general_outpatient"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_a_code_mapped_while_a_large_file_is_written_files_its_rows_too(
    settlement_file, monkeypatch
):
    """The overlapped path (a large CSV) re-reads the dictionary under its lock as well."""
    real_write = copypath._write
    taken = []

    def write(*args, **kwargs):
        written = real_write(*args, **kwargs)
        taken.append(written)
        MedicalType.objects.create(code="9901", name="x", visit_type="inpatient")
        return written

    monkeypatch.setattr(copypath, "OVERLAP_MIN_BYTES", 0)
    monkeypatch.setattr(copypath, "_write", write)
    result = settlement_import(
        path=settlement_file([srow("S1", C1, med_type="9901"), srow("S2", C2, med_type="11")])
    )
    assert taken == [2] and result.applied
    assert visit_types() == {"S1": "inpatient", "S2": "general_outpatient"}
