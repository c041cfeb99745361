"""A share link's public page, its images and its ZIP: /s/<token>/…, no login.

The token is the only key. Every answer here:
- is 404, the site's plain one, for a token that is unknown, revoked or expired, and
  for an image number the link does not hold (an id of the team's images is never in
  these addresses, so none can be changed into another job's);
- is 429 past the per-address limit (throttle.py), before anything is looked up;
- tells search engines to keep out (X-Robots-Tag, and the page's meta tag), browsers
  and proxies to keep no copy of the page, its downloads or its ZIP (a revoked link
  must be gone at once; an image shown may stay in that browser's cache), and other sites
  nothing of the address (Referrer-Policy same-origin: "no-referrer" would make the
  browser send `Origin: null` with the password form, which CSRF refuses).
A link with a password opens its images only in a session that typed it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from playground.sharing import throttle
from playground.sharing.forms import PasswordForm
from playground.sharing.models import ShareLink, ShareLinkImage

P = ParamSpec("P")
UNLOCKED = "share-links-unlocked"
PAGE = "sharing/public.html"
IMAGE_MAX_AGE = 600


def public(
    view: Callable[Concatenate[HttpRequest, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """No login; the per-address limit first; the headers every answer here carries."""

    @login_not_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not throttle.request_allowed(request):
            response: HttpResponseBase = _too_many(request)
        else:
            response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "same-origin"
        if "Cache-Control" not in response:
            response["Cache-Control"] = "private, no-store"
        return response

    return wrapped


def _too_many(request: HttpRequest) -> HttpResponse:
    response = render(request, "sharing/too_many.html", status=429)
    response["Retry-After"] = str(throttle.REQUESTS_WINDOW)
    return response


def _live(token: str) -> ShareLink:
    return get_object_or_404(ShareLink.objects.live(), token=token)


def _unlocked(request: HttpRequest, link: ShareLink) -> bool:
    return not link.has_password or link.pk in request.session.get(UNLOCKED, [])


def _open(request: HttpRequest, token: str) -> ShareLink:
    """A live link whose password (if any) this session typed, else 404."""
    link = _live(token)
    if not _unlocked(request, link):
        raise Http404
    return link


@public
@require_http_methods(["GET", "POST"])
def shared_page(request: HttpRequest, token: str) -> HttpResponseBase:
    link = _live(token)
    if not _unlocked(request, link):
        return _password_page(request, link)
    items = list(link.shown_items())
    link.count_view()
    return render(request, PAGE, {"link": link, "items": items})


def _password_page(request: HttpRequest, link: ShareLink) -> HttpResponseBase:
    form = PasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not throttle.password_allowed(request, link.pk):
            return _too_many(request)
        if form.is_valid():
            if link.check_password(form.cleaned_data["password"]):
                # A new session key: whoever planted a session id learns nothing.
                request.session.cycle_key()
                request.session[UNLOCKED] = [*request.session.get(UNLOCKED, []), link.pk]
                return redirect("shared_page", token=link.token)
            form.add_error("password", _("That is not the password of this page."))
    return render(request, "sharing/password.html", {"form": form}, status=200)


def _item(link: ShareLink, position: int) -> ShareLinkImage:
    return get_object_or_404(link.shown_items(), position=position)


@public
@require_GET
def shared_image(request: HttpRequest, token: str, position: int) -> HttpResponseBase:
    image = _item(_open(request, token), position).image
    response = FileResponse(image.file.open("rb"), content_type=image.content_type)
    # The one answer a browser may keep a while (never a shared cache): a reload of a
    # page of many images would otherwise spend the address's limit on images it
    # already has. Revoking still takes the page, its downloads and its ZIP at once.
    response["Cache-Control"] = f"private, max-age={IMAGE_MAX_AGE}"
    return response


@public
@require_GET
def shared_download(request: HttpRequest, token: str, position: int) -> HttpResponseBase:
    link = _open(request, token)
    image = _item(link, position).image
    return FileResponse(
        image.file.open("rb"),
        as_attachment=True,
        filename=f"{_stem(link)}-{position}.{image.extension}",
        content_type=image.content_type,
    )


@public
@require_GET
def shared_zip(request: HttpRequest, token: str) -> HttpResponseBase:
    """Every image the page shows, in one ZIP, stored as they are (as a job's "Download
    all"), through a temporary file that spills to disk past 16 MB."""
    link = _open(request, token)
    items = list(link.shown_items())
    if not items:
        raise Http404
    stem = _stem(link)
    spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - FileResponse closes it
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
        for item in items:
            name = f"{stem}-{item.position}.{item.image.extension}"
            with (
                item.image.file.open("rb") as source,
                archive.open(name, "w", force_zip64=True) as target,
            ):
                shutil.copyfileobj(source, target, 1024 * 1024)
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=f"{stem}.zip", content_type="application/zip"
    )


def _stem(link: ShareLink) -> str:
    """The files' names: the title in plain letters, else "shared-images" (never the
    team's or a job's name, which the page does not show)."""
    words = re.sub(r"[^\w-]+", "-", link.title, flags=re.ASCII).strip("-").lower()
    return words[:60] or "shared-images"
