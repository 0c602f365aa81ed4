"""Uploading a settlement extract from the web: validated first (preview), then confirmed."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from monitoring_helpers import certno, srow, write_csv

from monitoring.models import Settlement, SettlementImport

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST and run what the view queued on commit (the task runs eagerly)."""

    def run(url, data=None):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data or {})

    return run


@pytest.fixture
def upload(post, tmp_path):
    def run(rows, name="extract.csv"):
        path = write_csv(tmp_path / name, rows)
        with open(path, "rb") as f:
            data = SimpleUploadedFile(name, f.read(), content_type="text/csv")
        return post(reverse("monitoring:imports"), {"file": data})

    return run


def test_an_upload_is_validated_then_applied_on_confirmation(
    client, post, upload, caseworker_haibowan
):
    client.force_login(caseworker_haibowan)
    response = upload([srow("S1", certno(1)), srow("S2", certno(2))])
    batch = SettlementImport.objects.get()
    assert response.url == reverse("monitoring:import_detail", args=[batch.pk])
    assert (batch.status, batch.rows, batch.imported) == ("validated", 2, 2)
    assert Settlement.objects.count() == 0
    status = client.get(reverse("monitoring:import_status", args=[batch.pk])).json()
    assert status["percent"] == 100 and status["busy"] is False
    post(reverse("monitoring:import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    assert (batch.status, batch.imported) == ("applied", 2)
    assert set(Settlement.objects.values_list("batch_id", flat=True)) == {batch.pk}
    # Confirming again applies nothing twice.
    post(reverse("monitoring:import_confirm", args=[batch.pk]))
    assert Settlement.objects.count() == 2


def test_an_upload_with_row_errors_is_rejected_and_shows_them(client, upload, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    upload([srow("S1", certno(1)), srow("S2", certno(2), maf_pay="-1")])
    batch = SettlementImport.objects.get()
    assert batch.status == "rejected"
    assert batch.errors == [{"row": 3, "field": "maf_pay", "message": "金额不能为负数"}]
    page = client.get(reverse("monitoring:import_detail", args=[batch.pk])).content.decode()
    assert "金额不能为负数" in page and "确认导入" not in page


def test_an_upload_of_another_district_is_a_404(
    client, upload, caseworker_haibowan, caseworker_wuda
):
    client.force_login(caseworker_wuda)
    upload([srow("S1", certno(1))])
    batch = SettlementImport.objects.get()
    client.force_login(caseworker_haibowan)
    assert client.get(reverse("monitoring:import_detail", args=[batch.pk])).status_code == 404


def test_supervisors_cannot_upload(client, upload, supervisor_city):
    client.force_login(supervisor_city)
    assert upload([srow("S1", certno(1))]).status_code == 403
