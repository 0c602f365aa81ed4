"""A server-rendered SVG chart comparing the areas' assistance paid (no script, no style
attribute: CSP), in the pattern of funds/charts.py."""

from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from core.money import format_money

WIDTH, ROW, LEFT, RIGHT, TOP = 760, 24, 110, 120, 28
MANUAL, ONESTOP = "#2f6fb0", "#d9822b"


def _nice_max(value: Decimal) -> Decimal:
    if value <= 0:
        return Decimal(1000)
    exponent = len(str(int(value))) - 1
    base = Decimal(10) ** exponent
    for step in (1, 2, 5, 10):
        if value <= step * base:
            return step * base
    return 10 * base


def _bar(x: float, y: float, width: float, color: str, title: str) -> SafeString:
    return format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
        f"{x:.1f}",
        f"{y:.1f}",
        f"{width:.1f}",
        ROW - 8,
        color,
        title,
    )


def assistance_bars(figures) -> SafeString:
    """One row per area: manual reimbursement and one-stop assistance paid, stacked."""
    top = _nice_max(max([f.assistance_paid for f in figures] + [Decimal(0)]))
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + ROW * len(figures) + 10
    parts = []
    for i, f in enumerate(figures):
        y = TOP + i * ROW
        manual = float(f.manual_paid / top) * plot_w if f.manual_paid > 0 else 0.0
        onestop = float(f.onestop_paid / top) * plot_w if f.onestop_paid > 0 else 0.0
        name = f.area.name
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#495057">{}</text>',
                LEFT - 8,
                f"{y + ROW / 2 + 1:.1f}",
                name,
            )
        )
        parts.append(
            _bar(LEFT, y, manual, MANUAL, f"{name} {_('手工报销')}：{format_money(f.manual_paid)}")
        )
        parts.append(
            _bar(
                LEFT + manual,
                y,
                onestop,
                ONESTOP,
                f"{name} {_('一站式结算')}：{format_money(f.onestop_paid)}",
            )
        )
        parts.append(
            format_html(
                '<text x="{}" y="{}" font-size="11" fill="#495057">{}</text>',
                f"{LEFT + manual + onestop + 6:.1f}",
                f"{y + ROW / 2 + 1:.1f}",
                format_money(f.assistance_paid),
            )
        )
    legend = format_html_join(
        "",
        '<rect x="{}" y="6" width="10" height="10" fill="{}"/>'
        '<text x="{}" y="15" font-size="11" fill="#495057">{}</text>',
        [
            (LEFT, MANUAL, LEFT + 14, _("手工报销")),
            (LEFT + 220, ONESTOP, LEFT + 234, _("一站式结算")),
        ],
    )
    return format_html(
        '<svg viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg" class="region-chart">{}{}</svg>',
        WIDTH,
        height,
        _("各盟市救助支出"),
        legend,
        SafeString("".join(parts)),
    )
