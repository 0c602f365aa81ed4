"""Dates and brackets follow the page's language (no 2023年7月12日 on an English page)."""

from datetime import date

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation


def test_paren_marks_its_brackets_for_translation():
    with translation.override("zh-hans"):
        html = Template("{% load portal %}{{ v|paren }}").render(Context({"v": "150300"}))
    assert html == "（150300）"


@pytest.mark.django_db
@time_machine.travel(date(2023, 7, 12), tick=False)
@pytest.mark.parametrize(
    ("language", "shown"), [("zh-hans", "2023年7月12日"), ("en", "July 12, 2023")]
)
def test_dashboard_date_is_in_the_pages_language(client, caseworker_haibowan, language, shown):
    client.force_login(caseworker_haibowan)
    client.cookies["django_language"] = language
    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert shown in html
    if language == "en":
        assert "2023年7月12日" not in html
