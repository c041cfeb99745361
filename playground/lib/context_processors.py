"""Context processors for every template: only what is cheap (no query) or lazy."""

import functools
import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language


@functools.cache
def _catalogue_version() -> str:
    """Changes when the scripts' compiled catalogues change (a deploy with new
    translations), so browsers fetch the new one."""
    digest = hashlib.sha256()
    for mo in sorted(Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/djangojs.mo")):
        digest.update(mo.read_bytes())
    return digest.hexdigest()[:12]


def javascript_catalogue(request: HttpRequest) -> dict[str, Any]:
    """The address of the scripts' messages: one per language and catalogue version, so
    the browser may keep it (a language switch or new translations change the address)."""
    query = urlencode({"l": get_language(), "v": _catalogue_version()})
    return {"javascript_catalogue_url": f"{reverse('javascript_catalog')}?{query}"}
