"""The English catalogue: every msgid translated, nothing fuzzy, the compiled .mo in step with
the .po, and the exchanged-file errors of core.tabular translated (Chinese by default)."""

import ast
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, ngettext

from core.tabular import TableError, read_table, sniff_format

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def entries():
    """(flags, msgid, msgid_plural, [msgstr…]) of each live entry of the .po."""
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        flags, fields, key = [], {}, None
        for line in lines:
            if line.startswith("#,"):
                flags += [flag.strip() for flag in line[2:].split(",")]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[key] += ast.literal_eval(line)
            else:
                key, _, value = line.partition(" ")
                fields[key] = ast.literal_eval(value)
        if fields.get("msgid"):
            strs = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
            yield flags, fields["msgid"], fields.get("msgid_plural"), strs


def test_every_msgid_is_translated_and_none_is_fuzzy():
    found = list(entries())
    assert len(found) > 1000
    untranslated = [msgid for _f, msgid, _p, strs in found if not all(strs)]
    fuzzy = [msgid for flags, msgid, _p, _s in found if "fuzzy" in flags]
    assert untranslated == []
    assert fuzzy == []


def test_the_compiled_catalogue_matches_the_po():
    stale = []
    with translation.override("en"):
        for _flags, msgid, plural, strs in entries():
            if plural is None:
                got = [gettext(msgid)]
            else:
                got = [ngettext(msgid, plural, 1), ngettext(msgid, plural, 2)]
            if got != strs:
                stale.append(msgid)
    assert stale == [], "run manage.py compilemessages"


@pytest.mark.parametrize(
    "data, chinese, english",
    [
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 .csv",
            "Old Excel (.xls) files are not supported; please save as .xlsx or .csv",
        ),
        (
            b"\x01\x02binary",
            "文件不是 .xlsx 或 .csv 格式",
            "The file is not in .xlsx or .csv format",
        ),
    ],
)
def test_sniffing_errors_are_translated(data, chinese, english):
    with pytest.raises(TableError) as exc:
        sniff_format(data)
    assert str(exc.value) == chinese  # the default language: what the command contracts print
    with translation.override("en"), pytest.raises(TableError) as exc:
        sniff_format(data)
    assert str(exc.value) == english


@pytest.mark.parametrize(
    "data, chinese, english",
    [
        (b"", "文件为空，缺少表头行", "The file is empty; the header row is missing"),
        (b",,\n1,2,3\n", "第1行应为表头", "Row 1 must be the header"),
        (
            "姓名,姓名\n".encode(),
            "列“姓名”在表头中出现了两次",
            'The column "姓名" appears twice in the header',
        ),
        (
            b"\xff\xfe\xfa\xfb",
            "文件编码无法识别（应为 UTF-8 或 GB18030）",
            "Cannot detect the file encoding (must be UTF-8 or GB18030)",
        ),
    ],
)
def test_table_errors_are_translated(data, chinese, english):
    with pytest.raises(TableError) as exc:
        read_table(io.BytesIO(data), "x.csv")
    assert str(exc.value) == chinese
    with translation.override("en"), pytest.raises(TableError) as exc:
        read_table(io.BytesIO(data), "x.csv")
    assert str(exc.value) == english
