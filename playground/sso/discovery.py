"""The provider's endpoints, from OpenID Connect Discovery
(<issuer>/.well-known/openid-configuration).

The document must name the issuer we were configured with (Discovery 1.0, 4.3): an
address that answers for another issuer is refused, and every ID token must then carry
exactly that issuer. Kept in Django's cache for an hour, so a sign-in costs no extra
round trip; a failed fetch is not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

CACHE_SECONDS = 3600
# ID tokens signed with a provider's published key only: never "none", never a MAC
# keyed with our client secret (mozilla-django-oidc's default, HS256).
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


class DiscoveryError(Exception):
    """The provider could not be asked, or answered something we must not trust."""


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str = ""
    scopes_supported: list[str] = field(default_factory=list)
    signing_algorithms: list[str] = field(default_factory=list)


def same_issuer(configured: str, announced: str) -> bool:
    # An administrator may type the issuer with or without its trailing slash; anything
    # else must be identical.
    return configured.rstrip("/") == announced.rstrip("/")


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _fetch(issuer: str) -> dict[str, object]:
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = httpx.get(url, timeout=settings.OIDC_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as error:
        raise DiscoveryError(
            _("The sign-in provider could not be reached. Try again in a moment.")
        ) from error
    if not isinstance(document, dict):
        raise DiscoveryError(_("The sign-in provider's configuration could not be read."))
    return document


def provider() -> Provider:
    issuer = settings.OIDC_ISSUER
    key = f"sso:discovery:{issuer}"
    document = cache.get(key)
    if document is None:
        document = _fetch(issuer)
    announced = document.get("issuer")
    if not isinstance(announced, str) or not same_issuer(issuer, announced):
        raise DiscoveryError(
            _(
                "The sign-in provider names another issuer than the one this site trusts "
                "(%(issuer)s)."
            )
            % {"issuer": issuer}
        )
    try:
        found = Provider(
            issuer=announced,
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
            userinfo_endpoint=str(document.get("userinfo_endpoint") or ""),
            scopes_supported=_strings(document.get("scopes_supported")),
            signing_algorithms=[
                algorithm
                for algorithm in _strings(document.get("id_token_signing_alg_values_supported"))
                or ["RS256"]
                if algorithm in ASYMMETRIC_ALGORITHMS
            ],
        )
    except KeyError as error:
        raise DiscoveryError(
            _("The sign-in provider's configuration could not be read.")
        ) from error
    cache.set(key, document, CACHE_SECONDS)
    return found
