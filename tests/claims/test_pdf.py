"""The approval form PDF: A4, Chinese fonts embedded, text extractable, one page per form."""

import io
from decimal import Decimal

import pytest
from claims_helpers import approved_application, example_a, example_b
from pypdf import PdfReader

from claims import pdf
from claims.models import Institution

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_pair(
    near_subsistence_person, destitute_person, city_hospital, caseworker_haibowan, supervisor_city
):
    first = approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    clinic = Institution.objects.get(designated=False)
    second = approved_application(
        destitute_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_b(city_hospital, invoice="INV-D"), example_b(clinic, invoice="INV-CLINIC")],
    )
    return first, second


def test_one_form_shows_person_amounts_steps_and_signatures(approved_pair):
    application = approved_pair[0]
    reader = PdfReader(io.BytesIO(pdf.render_forms([application])))
    page = reader.pages[0]
    text = page.extract_text()
    assert application.person.name in text
    assert "150302********" in text
    assert "3,500.00" in text and "叁仟伍佰元整" in text
    assert "起付标准 5,000.00 元" in text  # the assessment steps
    assert "经办人" in text and "审核人" in text and "审批人" in text and "盖章" in text
    assert application.form_number in text
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    fonts = page["/Resources"]["/Font"]
    names = [str(fonts[key].get_object()["/BaseFont"]) for key in fonts]
    assert any("Noto" in name and "CJK" in name for name in names)


def test_a_batch_is_one_document_with_a_page_per_form(approved_pair):
    reader = PdfReader(io.BytesIO(pdf.render_forms(list(approved_pair))))
    assert len(reader.pages) == 2
    second = reader.pages[1].extract_text()
    # destitute: 100% of s = 4,000 at the hospital; the clinic's bill is not covered.
    assert approved_pair[1].total == Decimal("4000.00")
    assert "肆仟元整" in second
    assert "非定点医药机构" in second


def test_a_19_digit_bank_account_stays_on_one_line_inside_its_cell(approved_pair):
    application = approved_pair[0]
    application.bank_name, application.bank_account = "中国农业银行乌海分行", "6228480012345678901"
    application.save(update_fields=["bank_name", "bank_account"])
    page = PdfReader(io.BytesIO(pdf.render_forms([application]))).pages[0]
    found = []

    def visit(text, cm, tm, font_dict, font_size):
        if "6228480012345678901" in text:
            found.append((tm[4] * cm[0] + cm[4], tm[0] * cm[0] * font_size or font_size))

    assert "6228480012345678901" in page.extract_text(visitor_text=visit)
    [(x, size)] = found
    cell_right = float(page.mediabox.width) - (14 + 1.5) / 25.4 * 72  # page margin, padding
    assert x + 19 * 0.55 * size < cell_right  # Noto Sans CJK digits are about 0.55 em wide
