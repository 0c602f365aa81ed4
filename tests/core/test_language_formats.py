"""Dates and brackets follow the page's language (no 2023年7月12日 on an English page)."""

import re
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
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


# Screen templates (not the printed forms, which keep the official Chinese layout).
_PRINTED = ("/pdf/", "_pdf.html", "notice", "/admin/")
# A full-width colon or bracket typed after a translated word stays on the English page:
# "Draft rosters：3". A label takes its colon through |colon, a value its brackets through |paren,
# and a sentence of several values is one blocktranslate.
_TYPED_PUNCTUATION = re.compile(r"%\}[：（），。；]|\}\}[（），。；]|[（）]\{[{%]")


def _screen_templates():
    root = Path(settings.BASE_DIR) / "templates"
    for path in sorted(root.rglob("*.html")):
        if not any(part in path.as_posix() for part in _PRINTED):
            yield path


def test_screen_templates_type_no_full_width_punctuation_around_translations():
    found = []
    for path in _screen_templates():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            # inside a blocktranslate the punctuation is part of the msgid: translated
            line = re.sub(r"\{% blocktranslate.*?\{% endblocktranslate %\}", "", line)
            if _TYPED_PUNCTUATION.search(line):
                found.append(f"{path.name}:{number}")
    assert found == []


@pytest.mark.django_db
def test_a_label_with_its_colon_reads_as_before_in_chinese(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "待确认名单：" in html


def test_colon_follows_the_pages_language():
    template = Template('{% load portal %}{{ _("政策")|colon }}x')
    with translation.override("zh-hans"):
        assert template.render(Context()) == "政策：x"
