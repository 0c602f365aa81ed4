"""A roster is read and planned once, at upload: the preview pages (100 rows each) come from
what was stored on the batch, never from re-reading the file."""

import io
from datetime import date

import pytest
from django.urls import reverse

from beneficiaries import roster as roster_module
from beneficiaries.models import RosterBatch, RosterPreviewRow
from core import idnumber

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def _upload(client, rows):
    lines = ["姓名,公民身份号码,救助对象类别,认定日期,终止日期,行政区划代码", *rows]
    data = io.BytesIO("\n".join(lines).encode("utf-8"))
    data.name = "名单.csv"
    response = client.post(
        reverse("beneficiaries:roster_upload"),
        {"file": data, "department": "civil_affairs", "region": "150302", "as_of": "2023-07-01"},
    )
    assert response.status_code == 302
    return RosterBatch.objects.get()


def _people(count):
    return [
        f"人{i},{idnumber.make('150302', date(1960, 1, 1), i)},特困人员,2023-06-01,,150302"
        for i in range(1, count + 1)
    ]


def test_the_preview_is_stored_at_upload_and_paged_without_reading_the_file(
    client, caseworker_haibowan, monkeypatch
):
    _login(client, caseworker_haibowan)
    batch = _upload(client, _people(150))
    assert batch.preview["counts"]["new"] == 150
    assert RosterPreviewRow.objects.filter(batch=batch).count() == 150

    def no_reading(*args, **kwargs):
        raise AssertionError("the preview re-read the file")

    monkeypatch.setattr(roster_module, "read_roster", no_reading)
    url = reverse("beneficiaries:roster_detail", args=[batch.pk])
    first = client.get(url)
    assert first.status_code == 200
    assert first.context["plan"].counts["new"] == 150 and first.context["can_apply"]
    assert len(first.context["preview_page"]) == 100
    assert "人1" in first.content.decode()
    second = client.get(url, {"page": 2})
    assert len(second.context["preview_page"]) == 50
    assert "人150" in second.content.decode()


def test_row_errors_are_stored_and_shown_first(client, caseworker_haibowan):
    _login(client, caseworker_haibowan)
    batch = _upload(client, ["坏行,15030219700101001X,特困人员,2023-06-01,,150302"])
    assert batch.preview["error_count"] == 1
    page = client.get(reverse("beneficiaries:roster_detail", args=[batch.pk]))
    assert page.context["effect"] == "errors"
    assert list(page.context["preview_page"])[0]["row"] == 2
    assert not page.context["can_apply"]


def test_applying_replaces_the_preview_rows_with_the_lines(client, caseworker_haibowan):
    _login(client, caseworker_haibowan)
    batch = _upload(client, _people(3))
    client.post(reverse("beneficiaries:roster_apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == RosterBatch.Status.APPLIED and batch.new == 3
    assert not RosterPreviewRow.objects.filter(batch=batch).exists()
    assert batch.lines.count() == 3


def test_an_unusable_file_is_reported_from_the_stored_preview(client, caseworker_haibowan):
    _login(client, caseworker_haibowan)
    # CSV by content (the upload form takes it), but with the same column twice: unusable.
    data = io.BytesIO("姓名,姓名,公民身份号码\n张三,张三,1\n".encode())
    data.name = "x.csv"
    client.post(
        reverse("beneficiaries:roster_upload"),
        {"file": data, "department": "civil_affairs", "region": "150302", "as_of": "2023-07-01"},
    )
    batch = RosterBatch.objects.get()
    assert batch.preview["file_error"]
    page = client.get(reverse("beneficiaries:roster_detail", args=[batch.pk]))
    assert page.context["file_error"] == batch.preview["file_error"]
