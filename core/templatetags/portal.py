"""Formatting for templates, in one place: money, masked ID numbers, 人民币大写."""

from decimal import Decimal

from django import template

from core import idnumber
from core.money import format_money, to_chinese_capitals

register = template.Library()


@register.filter
def yuan(value):
    """80000 → "80,000.00"; empty stays empty."""
    if value is None or value == "":
        return ""
    return format_money(Decimal(value))


@register.filter
def capitals(value):
    if value is None or value == "":
        return ""
    return to_chinese_capitals(Decimal(value))


@register.filter
def masked(value):
    """150302199001011234 → 150302********1234 (DOMAIN §8)."""
    return idnumber.mask(value or "")


@register.filter
def percent(value):
    """Decimal("0.75") → "75%"."""
    if value is None or value == "":
        return ""
    pct = (Decimal(value) * 100).normalize()
    return f"{pct:f}%"


@register.simple_tag
def sort_header(listing, key):
    """A list header that sorts by its column (core.listing.Listing.header)."""
    return listing.header(key)


@register.filter
def paren(value):
    """The value in brackets of the page's language: （乌海市） in Chinese, " (Wuhai)" in English.

    Full-width brackets typed into a template showed on English pages too.
    """
    from django.utils.translation import gettext

    return gettext("（%(text)s）") % {"text": value}


@register.filter
def colon(label):
    """A label and its colon in the page's language: "政策：" in Chinese, "Policy: " in English.

    Use it on the translated label ({{ _("政策")|colon }}); a full-width colon typed after a
    translate tag showed on English pages too.
    """
    from django.utils.translation import gettext

    return gettext("%(label)s：") % {"label": label}
