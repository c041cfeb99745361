"""Who is calling the API: `authenticate(request)` returns the request's valid token or
raises `AuthFailure`, which says, as OpenAI's API would, why (status, message, code).

Two throttles, both counted in Django's cache (Redis when REDIS_URL is set, so every
process shares them; each process's memory otherwise), as password resets are:

- failed authentications per client address (a missing, unknown, revoked or expired
  token): past API_AUTH_FAILURES_PER_ADDRESS in API_AUTH_WINDOW_SECONDS, that address
  is refused before its token is even looked at, as a login is after django-axes'
  limit (a guesser learns nothing more, whatever it sends);
- requests per token: past API_REQUESTS_PER_MINUTE in a minute, 429 with Retry-After.

The token's value is never logged, stored or echoed back in a message: the errors name
at most the prefix the database already shows.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from playground.apitokens.models import ApiToken, digest, parse
from playground.teams.models import Membership

MINUTE = 60


@dataclass
class AuthFailure(Exception):
    """Why a request is refused, in the shape of OpenAI's error body."""

    status: int
    message: str
    code: str
    type: str = "invalid_request_error"
    retry_after: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Caller:
    """The token of a request and the membership it acts with (its current role)."""

    token: ApiToken
    membership: Membership


def _counted(key: str, window: int) -> int:
    """This request counted under `key` for `window` seconds; the count so far."""
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts a new window
        cache.set(key, 1, timeout=window)
        return 1


def _address_key(request: HttpRequest) -> str:
    return f"api-auth-failures:{get_client_ip_address(request) or 'unknown'}"


def _failed(request: HttpRequest, failure: AuthFailure) -> AuthFailure:
    _counted(_address_key(request), settings.API_AUTH_WINDOW_SECONDS)
    return failure


def bearer(request: HttpRequest) -> str:
    """The token the request carries (`Authorization: Bearer …`), or ""."""
    scheme, _sep, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@sensitive_variables("value")
def authenticate(request: HttpRequest) -> Caller:
    """The valid token of this request and the membership it acts with, or AuthFailure.

    Valid: known, not revoked, not expired, its member still in the team and active,
    and within its request rate.
    """
    window = settings.API_AUTH_WINDOW_SECONDS
    if cache.get(_address_key(request), 0) >= settings.API_AUTH_FAILURES_PER_ADDRESS:
        raise AuthFailure(
            429,
            _(
                "Too many failed authentications from your address. "
                "Try again in %(minutes)s minutes."
            )
            % {"minutes": max(1, window // MINUTE)},
            "too_many_failed_authentications",
            type="rate_limit_error",
            retry_after=window,
        )
    value = bearer(request)
    if not value:
        raise _failed(
            request,
            AuthFailure(
                401,
                _(
                    "No API token: send one in the Authorization header "
                    "(Authorization: Bearer pgk_…). Members make them on the API tokens page."
                ),
                "missing_api_key",
            ),
        )
    parsed = parse(value)
    token = (
        ApiToken.objects.select_related("team", "user").filter(prefix=parsed[0]).first()
        if parsed
        else None
    )
    if token is None or not hmac.compare_digest(token.digest, digest(value)):
        raise _failed(
            request, AuthFailure(401, _("This API token is not valid."), "invalid_api_key")
        )
    membership = token.membership()
    if token.is_revoked or membership is None or not token.user.is_active:
        raise _failed(
            request,
            AuthFailure(
                401,
                _("The API token %(token)s was revoked.") % {"token": token.shown},
                "revoked_api_key",
            ),
        )
    if token.is_expired:
        raise _failed(
            request,
            AuthFailure(
                401,
                _("The API token %(token)s expired on %(day)s.")
                % {
                    "token": token.shown,
                    "day": formats.date_format(token.expires_at, "Y-m-d"),
                },
                "expired_api_key",
            ),
        )
    if _counted(f"api-token-requests:{token.pk}", MINUTE) > settings.API_REQUESTS_PER_MINUTE:
        raise AuthFailure(
            429,
            _("Rate limit reached: at most %(n)s requests a minute per API token.")
            % {"n": settings.API_REQUESTS_PER_MINUTE},
            "rate_limit_exceeded",
            type="rate_limit_error",
            retry_after=MINUTE,
        )
    token.mark_used()
    return Caller(token=token, membership=membership)
