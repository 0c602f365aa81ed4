"""DOMAIN §9: identifiers are compared after NFKC with whitespace and zero-width removed."""

from datetime import date

import pytest

from core import idnumber
from core.identifiers import normalize_identifier

NUMBER = idnumber.make("150302", date(1970, 1, 1), 11)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("２０２６００１", "2026001"),
        ("2026\u200b001", "2026001"),
        ("2026\u200c\u200d001", "2026001"),
        ("\ufeff2026\u2060001", "2026001"),
        ("2026\u180e001", "2026001"),  # Mongolian vowel separator
        (" 2026 001\u3000", "2026001"),
        ("ＣＺ－００１", "CZ-001"),
        (None, ""),
    ],
)
def test_identifiers_fold_full_width_and_drop_invisible_characters(raw, expected):
    assert normalize_identifier(raw) == expected


def test_an_id_number_with_zero_width_characters_is_the_same_number():
    typed = NUMBER[:6] + "\u200b" + NUMBER[6:-1] + "\ufeff" + NUMBER[-1].lower()
    assert idnumber.validate(typed) == NUMBER.upper()


def test_person_search_finds_a_number_typed_with_invisible_characters(
    client, caseworker_haibowan, haibowan
):
    from django.urls import reverse

    from tests.factories import PersonFactory

    person = PersonFactory(region=haibowan, id_number=NUMBER)
    client.force_login(caseworker_haibowan)
    typed = "\u200b".join(NUMBER)
    response = client.get(reverse("beneficiaries:person_list"), {"q": typed})
    assert person in [
        row.person if hasattr(row, "person") else row for row in response.context["page"]
    ]
