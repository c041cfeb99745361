"""Where to send someone back after a plain form POST, without an open redirect."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, fallback: str, *, referer: bool = False) -> str:
    """The page to return to: the form's `next` (after the Referer, when `referer` is
    true) if it is a page of this site, else `fallback`.

    Both come from the client, so anything naming another host or scheme (`https://evil`,
    `//evil`, `/\\evil`), or plain http on an https site, is ignored rather than followed.
    """
    candidates = [request.POST.get("next", "")]
    if referer:
        candidates.insert(0, request.headers.get("Referer", ""))
    for candidate in candidates:
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return fallback
