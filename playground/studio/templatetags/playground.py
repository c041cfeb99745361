from datetime import timedelta

from django import template
from django.utils.translation import gettext as _

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
def charge(generation):  # type: ignore[no-untyped-def]
    """What a job counts for, and which kind of figure that is (billing/spend.py)."""
    from playground.billing.spend import charge_of

    return charge_of(generation)
