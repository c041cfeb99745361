from collections.abc import Callable

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from playground.teams import languages


def saved_language(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """A signed-in person's saved language wins over their browser's (LocaleMiddleware,
    earlier, chose from the language cookie and Accept-Language). Every page and htmx
    fragment of theirs goes through here, so they all speak the same language."""

    def middleware(request: HttpRequest) -> HttpResponse:
        # A signed-in person is a User (AuthenticationMiddleware ran before this one).
        user = getattr(request, "user", None)
        if isinstance(user, User):
            code = languages.saved(request, user)
            if code:
                translation.activate(code)
                request.LANGUAGE_CODE = code
        return get_response(request)

    return middleware
