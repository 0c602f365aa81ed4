"""A user's settlement import carries only rows of their writable subtree (DOMAIN §8).

The region of a row is its person's registered region (certno → person), else the row's
`insu_admdvs`. The command (no user: the system) imports every row of Inner Mongolia.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from monitoring_helpers import certno, srow, write_csv

from monitoring import services
from monitoring.models import Settlement, SettlementImport
from monitoring.settlements import settlement_import
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _upload(path, by, capture):
    with open(path, "rb") as f:
        data = SimpleUploadedFile("extract.csv", f.read(), content_type="text/csv")
    with capture(execute=True):
        batch = services.settlement_upload(uploaded_file=data, by=by)
    batch.refresh_from_db()
    return batch


def test_a_caseworker_cannot_import_rows_of_another_districts_person(
    settlement_file, caseworker_haibowan, wuda
):
    # Registered in 乌达区, but the platform's row says 海勃湾区: the person decides.
    person = PersonFactory(region=wuda, id_number=certno(7, "150304"))
    rows = [srow("S1", certno(1)), srow("S2", person.id_number, insu_admdvs="150302")]
    result = settlement_import(path=settlement_file(rows), by=caseworker_haibowan)
    assert [e.as_dict() for e in result.errors] == [
        {"row": 3, "field": "certno", "message": "该人员不属于您的辖区，不能导入。"}
    ]
    assert not result.applied
    assert Settlement.objects.count() == 0


def test_an_unregistered_persons_row_is_placed_by_its_insu_admdvs(
    settlement_file, caseworker_haibowan
):
    rows = [srow("S1", certno(1)), srow("S2", certno(2), insu_admdvs="150304")]
    result = settlement_import(path=settlement_file(rows), by=caseworker_haibowan, dry_run=True)
    assert [e.as_dict() for e in result.errors] == [
        {"row": 3, "field": "insu_admdvs", "message": "医保区划不在您的辖区内，不能导入。"}
    ]


def test_a_city_user_imports_every_district_of_the_city(settlement_file, supervisor_city, wuda):
    PersonFactory(region=wuda, id_number=certno(7, "150304"))
    rows = [srow("S1", certno(1)), srow("S2", certno(7, "150304"), insu_admdvs="150304")]
    result = settlement_import(path=settlement_file(rows), by=supervisor_city)
    assert not result.errors and result.imported == 2


def test_the_system_import_keeps_rows_of_every_region(settlement_file):
    rows = [srow("S1", certno(1)), srow("S2", certno(2, "150202"), insu_admdvs="150200")]
    result = settlement_import(path=settlement_file(rows))
    assert result.as_dict() == {
        "rows": 2,
        "imported": 2,
        "skipped": 0,
        "errors": [],
        "applied": True,
    }


def test_a_web_upload_of_another_districts_rows_is_rejected_and_writes_nothing(
    tmp_path, caseworker_haibowan, django_capture_on_commit_callbacks
):
    path = write_csv(tmp_path / "x.csv", [srow("S1", certno(1), insu_admdvs="150304")])
    batch = _upload(path, caseworker_haibowan, django_capture_on_commit_callbacks)
    assert batch.status == SettlementImport.Status.REJECTED
    assert batch.errors[0]["field"] == "insu_admdvs"
    assert Settlement.objects.count() == 0


def test_a_regional_viewer_cannot_upload_or_confirm_an_import(
    tmp_path, caseworker_haibowan, regional_viewer, django_capture_on_commit_callbacks
):
    path = write_csv(tmp_path / "x.csv", [srow("S1", certno(1))])
    batch = _upload(path, caseworker_haibowan, django_capture_on_commit_callbacks)
    assert batch.status == SettlementImport.Status.VALIDATED
    with open(path, "rb") as f:
        data = SimpleUploadedFile("extract.csv", f.read(), content_type="text/csv")
    with pytest.raises(PermissionDenied):
        services.settlement_upload(uploaded_file=data, by=regional_viewer)
    with pytest.raises(PermissionDenied):
        services.settlement_import_confirm(batch=batch, by=regional_viewer)
    batch.refresh_from_db()
    assert batch.status == SettlementImport.Status.VALIDATED


def test_another_districts_caseworker_cannot_confirm_an_import(
    tmp_path, caseworker_haibowan, caseworker_wuda, django_capture_on_commit_callbacks
):
    path = write_csv(tmp_path / "x.csv", [srow("S1", certno(1))])
    batch = _upload(path, caseworker_haibowan, django_capture_on_commit_callbacks)
    with pytest.raises(PermissionDenied):
        services.settlement_import_confirm(batch=batch, by=caseworker_wuda)
