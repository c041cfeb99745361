"""The language a person reads the playground in.

In order: their saved preference (`Profile.language`), else what their browser asks
for (`Accept-Language`, or the language cookie the menu sets), else English. Django's
LocaleMiddleware settles the last two; `saved_language` (teams/middleware.py) puts the
saved preference on top once the person is known. The preference is read through the
session, as the history layout is, so a page or a live check costs no extra query.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest

from playground.teams.models import Profile

CODES = frozenset(code for code, _name in settings.LANGUAGES)
SESSION_KEY = "language"


def saved(request: HttpRequest, user: User) -> str:
    """The signed-in person's saved language, or "" when they left it automatic."""
    if SESSION_KEY not in request.session:
        stored = Profile.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
        request.session[SESSION_KEY] = stored or ""
    code = request.session[SESSION_KEY]
    return code if code in CODES else ""


def remember(request: HttpRequest, user: User, code: str) -> None:
    """Save a signed-in person's choice in their profile (it follows them to any device)
    and in this session."""
    if code not in CODES:
        return
    Profile.objects.update_or_create(user_id=user.pk, defaults={"language": code})
    request.session[SESSION_KEY] = code
