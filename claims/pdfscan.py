"""Active content in uploaded PDFs: JavaScript, automatic actions, launched programs and
embedded files (DOMAIN §8). Such a PDF is served as a download, never shown inline, so the
browser's PDF viewer never runs it.

The document is parsed with pypdf and every object reachable from the trailer is walked
(pypdf also opens compressed object streams and decodes `#xx` escapes in names); a plain
byte scan catches the same names in unreachable objects. A PDF pypdf cannot read counts as
active: the safe answer is a download.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

__all__ = ["ACTIVE_KEYS", "pdf_has_active_content"]

# Keys of a dictionary that make it active content.
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/OpenAction", "/AA", "/Launch", "/EmbeddedFile"})
# Action types (/S) and object types (/Type) that are active.
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/Rendition"})
_RAW = re.compile(rb"/(?:JS|JavaScript|OpenAction|AA|Launch|EmbeddedFiles?)(?=[\s/<>\[\]()%])")
_MAX_OBJECTS = 500_000


def _image_file(spec) -> bool:
    subtype = str(spec.get("/Subtype", ""))
    return subtype.replace("#2F", "/").lower() in ("/image/jpeg", "/image/png")


def _walk(root) -> bool:
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    stack = [root]
    visited = 0
    while stack:
        node = stack.pop()
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            visited += 1
            if visited > _MAX_OBJECTS:
                return True  # too many objects to vouch for it
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for name, value in node.items():
                if name in ACTIVE_KEYS:
                    if name == "/EmbeddedFile" and _image_file(value.get_object()):
                        continue
                    return True
                if name == "/S" and str(value) in ACTIVE_ACTIONS:
                    return True
                if name == "/Type" and str(value) == "/EmbeddedFile" and not _image_file(node):
                    return True
                if name == "/Parent":
                    continue  # reached from the parent anyway
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return False


def pdf_has_active_content(data: bytes) -> bool:
    """True when the PDF holds JavaScript, an automatic or launch action, or a non-image
    embedded file — or cannot be read."""
    if _RAW.search(data):
        return True
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return True  # its objects cannot be inspected
        return _walk(reader.trailer)
    except Exception:  # a damaged or hostile file: pypdf raises many kinds
        log.warning("an uploaded PDF could not be inspected; it is served as a download")
        return True
