"""A server-rendered SVG bar chart of monthly income and expense (no JavaScript, no CDN)."""

from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from core.money import format_money

WIDTH, HEIGHT = 760, 260
LEFT, BOTTOM, TOP = 70, 30, 20
INCOME, EXPENSE = "#2f6fb0", "#d9822b"


def _nice_max(value: Decimal) -> Decimal:
    """The next round number above `value` (1, 2, 5 × 10^n) for the axis."""
    if value <= 0:
        return Decimal(1000)
    exponent = len(str(int(value))) - 1
    base = Decimal(10) ** exponent
    for step in (1, 2, 5, 10):
        if value <= step * base:
            return step * base
    return 10 * base


def monthly_bars(series: list[dict]) -> SafeString:
    top = _nice_max(max([max(s["income"], s["expense"]) for s in series] + [Decimal(0)]))
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT - 10) / 12
    bar = slot * 0.36
    parts = []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - float(value / top) * plot_h
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#dee2e6"/>'
                '<text x="{}" y="{}" text-anchor="end" font-size="11" fill="#6c757d">{}</text>',
                LEFT,
                f"{y:.1f}",
                WIDTH - 10,
                f"{y:.1f}",
                LEFT - 6,
                f"{y + 4:.1f}",
                _("%(n)s万") % {"n": f"{value / 10000:,.0f}"}
                if top >= 100000
                else format_money(value),
            )
        )
    for i, s in enumerate(series):
        x = LEFT + i * slot + slot * 0.12
        for j, (key, color) in enumerate((("income", INCOME), ("expense", EXPENSE))):
            h = float(s[key] / top) * plot_h if top else 0
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} {}：{}</title></rect>",
                    f"{x + j * bar:.1f}",
                    f"{TOP + plot_h - h:.1f}",
                    f"{bar:.1f}",
                    f"{h:.1f}",
                    color,
                    _("%(m)d月") % {"m": s["month"]},
                    _("收入") if key == "income" else _("支出"),
                    format_money(s[key]),
                )
            )
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#495057">{}</text>',
                f"{x + bar:.1f}",
                HEIGHT - 10,
                _("%(m)d月") % {"m": s["month"]},
            )
        )
    legend = format_html_join(
        "",
        '<rect x="{}" y="4" width="10" height="10" fill="{}"/>'
        '<text x="{}" y="13" font-size="11" fill="#495057">{}</text>',
        [
            (WIDTH - 150, INCOME, WIDTH - 136, _("收入")),
            (WIDTH - 90, EXPENSE, WIDTH - 76, _("支出")),
        ],
    )
    return format_html(
        '<svg viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg" class="fund-chart">{}{}</svg>',
        WIDTH,
        HEIGHT,
        _("月度收支"),
        SafeString("".join(parts)),
        legend,
    )
