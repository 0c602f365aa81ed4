"""PDF rendering with WeasyPrint, shared by every printed document (approval forms, reports).

One FontConfiguration for the whole process: building it scans the system fonts, the slow part
of a first render. Documents name the Noto CJK families installed by `fonts-noto-cjk` in their
CSS ("Noto Sans CJK SC"; never an @font-face pointing at the .ttc, which picks the Japanese
face); WeasyPrint embeds the subset used, so the text stays extractable. With Debian's
`libharfbuzz-subset0` installed that subsetting takes ~0.5 s a page instead of ~25 s.
"""

from django.conf import settings
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

FONT_CONFIG = FontConfiguration()


def stylesheet(css: str) -> CSS:
    return CSS(string=css, font_config=FONT_CONFIG)


def render_pdf(html: str, *, stylesheets: list[CSS] = ()) -> bytes:
    """One HTML document (a batch is one document with page breaks) → PDF bytes."""
    document = HTML(string=html, base_url=str(settings.BASE_DIR))
    return document.write_pdf(stylesheets=list(stylesheets), font_config=FONT_CONFIG)
