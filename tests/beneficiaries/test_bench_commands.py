"""`generate_persons` and `bench_persons` (the 1M-person benchmark runs them on PostgreSQL)."""

import io

import pytest
from django.core.management import call_command

from beneficiaries.models import Identity, Person
from core import idnumber

pytestmark = pytest.mark.django_db


def test_generate_persons_creates_valid_unique_persons_and_is_rerunnable():
    call_command("generate_persons", "--count", "200", stdout=io.StringIO())
    assert Person.objects.count() == 200
    for number, sex, born in Person.objects.values_list("id_number", "sex", "birth_date"):
        assert idnumber.validate(number) == number
        assert (idnumber.sex(number), idnumber.birth_date(number)) == (sex, born)
    assert Identity.objects.exists()
    call_command("generate_persons", "--count", "250", stdout=io.StringIO())
    assert Person.objects.count() == 250


def test_bench_persons_prints_p95_figures_and_the_verdict():
    call_command("generate_persons", "--count", "300", stdout=io.StringIO())
    out = io.StringIO()
    call_command("bench_persons", "--requests", "5", stdout=out)
    text = out.getvalue()
    assert "person list" in text and "search by ID number" in text
    assert "baseline SELECT 1" in text and "target p95 < 150 ms" in text
