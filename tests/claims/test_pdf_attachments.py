"""An uploaded PDF with active content (JavaScript, automatic or launch actions, a non-image
embedded file) is served as a download, never inline; clean PDFs and images stay inline.
Every scan is served with X-Content-Type-Options: nosniff."""

import io

import pytest
from claims_helpers import new_application
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from claims import bills
from claims.models import Attachment
from claims.pdfscan import pdf_has_active_content

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _pdf(change=None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if change:
        change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _open_action(writer):
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")}
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def _launch(writer):
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")}
    )
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})


def _hex_escaped_javascript() -> bytes:
    """`/J#61vaScript` (a legal spelling of /JavaScript): no plain name in the raw bytes."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Names << /J#61vaScript 3 0 R >> >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>",
        b"<< /Names [(a) 4 0 R] >>",
        b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>",
    ]
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Root 1 0 R /Size %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


ACTIVE = {
    "javascript": lambda: _pdf(lambda w: w.add_js("app.alert('x');")),
    "open_action": lambda: _pdf(_open_action),
    "launch_on_open": lambda: _pdf(_launch),
    "embedded_exe": lambda: _pdf(lambda w: w.add_attachment("setup.exe", b"MZ\x90\x00")),
    "escaped_names": _hex_escaped_javascript,
}


@pytest.mark.parametrize("kind", list(ACTIVE))
def test_active_pdfs_are_detected(kind):
    assert pdf_has_active_content(ACTIVE[kind]())


def test_a_clean_pdf_is_not_active():
    assert not pdf_has_active_content(_pdf())


def test_an_unreadable_pdf_counts_as_active():
    assert pdf_has_active_content(b"%PDF-1.7\n garbage")


@pytest.fixture
def draft(near_subsistence_person, caseworker_haibowan, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return new_application(near_subsistence_person, caseworker_haibowan)


def _serve(client, user, draft, name, data, content_type):
    attachment = bills.attachment_add(
        application=draft, upload=SimpleUploadedFile(name, data, content_type), by=user
    )
    client.force_login(user)
    response = client.get(reverse("claims:attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    return attachment, response


@pytest.mark.parametrize("kind", ["javascript", "embedded_exe", "open_action"])
def test_a_pdf_with_active_content_is_only_downloaded(client, caseworker_haibowan, draft, kind):
    attachment, response = _serve(
        client, caseworker_haibowan, draft, "scan.pdf", ACTIVE[kind](), "application/pdf"
    )
    assert attachment.active_content is True
    assert response["Content-Disposition"].startswith("attachment")


def test_a_clean_pdf_and_an_image_stay_inline(client, caseworker_haibowan, draft):
    attachment, response = _serve(
        client, caseworker_haibowan, draft, "scan.pdf", _pdf(), "application/pdf"
    )
    assert attachment.active_content is False
    assert response["Content-Disposition"].startswith("inline")
    _attachment, response = _serve(client, caseworker_haibowan, draft, "scan.png", PNG, "image/png")
    assert response["Content-Disposition"].startswith("inline")


def test_a_pdf_stored_before_inspection_is_inspected_when_served(
    client, caseworker_haibowan, draft
):
    attachment, _response = _serve(
        client, caseworker_haibowan, draft, "scan.pdf", ACTIVE["javascript"](), "application/pdf"
    )
    Attachment.objects.filter(pk=attachment.pk).update(active_content=None)
    response = client.get(reverse("claims:attachment_download", args=[attachment.pk]))
    assert response["Content-Disposition"].startswith("attachment")
    attachment.refresh_from_db()
    assert attachment.active_content is True
