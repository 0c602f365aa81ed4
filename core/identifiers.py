"""Identifiers of exchanged files and forms, compared the same way everywhere (DOMAIN §9).

ID numbers, `setl_id` / `init_setl_id`, invoice numbers and statement references are compared
(and stored) after Unicode NFKC normalization — full-width digits and letters typed by Chinese
input methods (`２０２６…`, `Ｘ`) fold to ASCII — with every whitespace and zero-width
character removed (U+200B–U+200F, U+2060, U+FEFF, U+180E and the other Unicode format
characters, category Cf), so a pasted `2026\u200b001` is the invoice `2026001`.

Pure Python: no Django import.
"""

import re
import unicodedata

__all__ = ["normalize_identifier"]

_WHITESPACE = re.compile(r"\s+")


def normalize_identifier(raw) -> str:
    """`raw` as an identifier is compared and stored: NFKC, without whitespace and zero-width
    (format) characters. None is the empty string. Does not validate."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw))
    text = _WHITESPACE.sub("", text)
    if not text.isascii():
        text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return text
