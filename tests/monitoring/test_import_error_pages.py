"""The settlement-import preview shows the errors stored when the file was checked, 100 a
page; the page never re-reads the upload."""

import pytest
from django.urls import reverse

from monitoring import services
from monitoring.models import SettlementImport

pytestmark = pytest.mark.django_db


def test_stored_errors_are_paged_without_reading_the_file(client, caseworker_haibowan, monkeypatch):
    errors = [{"row": n, "field": "maf_pay", "message": "金额不能为负数"} for n in range(2, 252)]
    batch = SettlementImport.objects.create(
        file_name="s.csv",
        status="rejected",
        region=caseworker_haibowan.region,
        errors=errors,
        error_count=250,
    )

    def no_reading(*args, **kwargs):
        raise AssertionError("the preview re-read the file")

    monkeypatch.setattr(services, "settlement_import", no_reading)
    client.force_login(caseworker_haibowan)
    url = reverse("monitoring:import_detail", args=[batch.pk])
    first = client.get(url)
    assert [e["row"] for e in first.context["page"]] == list(range(2, 102))
    last = client.get(url, {"page": 3})
    assert [e["row"] for e in last.context["page"]] == list(range(202, 252))
    assert "第 3 页" in last.content.decode()
