from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from playground.lib import refreshing

register = template.Library()


@register.simple_tag
def refresh_trigger(name: str, also: str = "") -> SafeString:
    """`hx-trigger="every 2s"` for the self-refreshing fragment `name` (lib/refreshing.py),
    written on the element whose id is `name`. An unknown name is an error, not a
    polling element the idle-login rule would not know."""
    if name not in refreshing.FRAGMENTS:
        raise template.TemplateSyntaxError(f"{name!r} is not in lib/refreshing.FRAGMENTS")
    return format_html('hx-trigger="{}"', refreshing.trigger(name, also))
