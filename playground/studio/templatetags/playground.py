from datetime import timedelta
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from playground.billing import paying
from playground.generations.models import Generation
from playground.generations.spend import Charge, charge_of

register = template.Library()


@register.filter
def duration_short(value: timedelta | None) -> str:
    """12 s, 3 min 05 s, 2 h 10 min: elapsed time at a glance."""
    if value is None:
        return ""
    seconds = max(int(value.total_seconds()), 0)
    if seconds < 60:
        return _("%(s)d s") % {"s": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(m)d min %(s)02d s") % {"m": minutes, "s": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}


@register.filter
def filesize_mb(value: int) -> str:
    return f"{value / 1_000_000:.1f} MB"


@register.filter
def charge(generation: Generation) -> Charge:
    """What a job counts for, and which kind of figure that is (generations/spend.py)."""
    return charge_of(generation)


@register.filter
def notranslate(value: Any) -> str:
    """People's own words (a name, a team's name) inside a translated sentence, marked
    so that no translator, a browser's or a page check's, takes them for our text. For
    element content only, never inside an attribute."""
    return format_html('<span translate="no">{}</span>', value)


@register.simple_tag
def fallback_key() -> str:
    """The environment's EVOLINK_API_KEY, named as the keys page names it (the
    simulator's demo key in the local demo): for a job it paid for."""
    return paying.fallback_name(even_unset=True)
