"""Authentication backends: OpenID Connect sign-in (mozilla-django-oidc, completed
where it stops short) and the switch that turns password logins off.

mozilla-django-oidc brings the authorization code flow: state, nonce and PKCE kept in
the session per sign-in, the code exchanged at the token endpoint, the ID token's
signature checked against the provider's published keys. It reads its endpoints from
settings and does not check who issued an ID token or for whom; so this backend takes
the endpoints from discovery (discovery.py) and checks the ID token as OpenID Connect
Core 1.0, 3.1.3.7 asks: signed with an asymmetric key of the provider, issued by the
configured issuer, for our client id (azp too when there are several audiences), not
expired, carrying this sign-in's nonce; and the userinfo answer about the same subject.
"""

from __future__ import annotations

from typing import Any

import jwt
import requests
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from playground.sso import config, discovery, people

LEEWAY_SECONDS = 60  # clocks of the provider and of this server may differ a little
WRONG_ISSUER = _lazy(
    "The sign-in was refused: the provider's answer names another issuer than the one this site "
    "trusts."
)
WRONG_AUDIENCE = _lazy(
    "The sign-in was refused: the provider's answer was meant for another application."
)
UNVERIFIED = _lazy("The sign-in was refused: the provider's answer could not be verified.")


class SignInRefused(Exception):
    """A sign-in through the provider that must not go through; the message says why,
    for the person on the login page. `username` names who it was, when known (the
    audit log's failed sign-ins)."""

    def __init__(self, message: str, username: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.username = username


class PasswordLoginSwitch:
    """PASSWORD_LOGIN=off: every password login is refused, on the login page and the
    admin's alike (raising PermissionDenied stops Django's authenticate() before the
    ModelBackend, and sends user_login_failed). Deliberately no BaseBackend: a backend
    with get_user would be the one Django's test client and others pick for sessions."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if password is not None and not config.password_login_enabled():
            raise PermissionDenied
        return None


class SignInBackend(OIDCAuthenticationBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for every authenticate() call, password logins
        # included: nothing here may ask the provider (the library's own __init__ reads
        # the endpoints). They are set when a sign-in comes back (authenticate).
        self.UserModel = User
        self.OIDC_RP_CLIENT_ID = settings.OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_CLIENT_SECRET

    def get_user(self, user_id: int) -> User | None:
        # Django's, not the library's (which skips it): a switched-off account's
        # sessions end at once.
        return ModelBackend.get_user(self, user_id)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback view passes a nonce; a password login passes none.
        if request is None or "nonce" not in kwargs or not config.enabled():
            return None
        try:
            self.provider = discovery.provider()
        except discovery.DiscoveryError as error:
            raise SignInRefused(str(error)) from error
        self.OIDC_OP_TOKEN_ENDPOINT = self.provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = self.provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = self.provider.jwks_uri
        try:
            user: User | None = super().authenticate(request, **kwargs)
        except requests.RequestException as error:
            raise SignInRefused(
                _(
                    "The sign-in provider did not accept this sign-in (%(reason)s). Please try "
                    "again."
                )
                % {"reason": _provider_error(error)}
            ) from error
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The ID token's claims, once it is shown to be this sign-in's, from our
        provider, for us."""
        try:
            key = self.retrieve_matching_jwk(token)  # the library's: by kid and alg
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.provider.signing_algorithms,
                issuer=self.provider.issuer,
                audience=self.OIDC_RP_CLIENT_ID,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.InvalidIssuerError as error:
            raise SignInRefused(str(WRONG_ISSUER)) from error
        except jwt.InvalidAudienceError as error:
            raise SignInRefused(str(WRONG_AUDIENCE)) from error
        except jwt.ExpiredSignatureError as error:
            raise SignInRefused(
                _("The provider's answer had expired. Please sign in again.")
            ) from error
        except (jwt.PyJWTError, SuspiciousOperation, requests.RequestException) as error:
            raise SignInRefused(str(UNVERIFIED)) from error
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SignInRefused(str(WRONG_AUDIENCE))
        if "nonce" in kwargs and (not kwargs["nonce"] or claims.get("nonce") != kwargs["nonce"]):
            raise SignInRefused(
                _(
                    "The provider's answer belongs to another sign-in (its nonce differs). "
                    "Please sign in again."
                )
            )
        return claims

    def get_userinfo(
        self, access_token: str, id_token: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        if not self.OIDC_OP_USER_ENDPOINT:
            return {}
        userinfo: dict[str, Any] = super().get_userinfo(access_token, id_token, payload)
        # OpenID Connect Core 5.3.4: the userinfo must be about the ID token's subject.
        if str(userinfo.get("sub")) != str(payload["sub"]):
            raise SignInRefused(str(UNVERIFIED))
        return userinfo

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict[str, Any]) -> User:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        # Claims from the ID token and the userinfo (providers put groups in either);
        # who it is and who said so come from the checked ID token only.
        claims = {**payload, **userinfo, "iss": payload["iss"], "sub": payload["sub"]}
        check_domain(claims)
        user = people.signed_in(self.provider.issuer, claims, self.request)
        if not user.is_active:
            raise SignInRefused(
                _("This account is switched off here. Ask an administrator."), user.get_username()
            )
        return user


def check_domain(claims: dict[str, Any]) -> None:
    """OIDC_ALLOWED_DOMAINS: only verified addresses at these domains (exactly; a
    subdomain is another domain)."""
    allowed = config.allowed_domains()
    if not allowed:
        return
    email = claims.get("email")
    domains = ", ".join(sorted(allowed))
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused(
            _(
                "Your account at the provider has no e-mail address; this site admits addresses "
                "at %(domains)s only."
            )
            % {"domains": domains}
        )
    if claims.get("email_verified") in (False, "false"):
        raise SignInRefused(_("Your e-mail address at the provider is not verified."), email)
    if email.rpartition("@")[2].casefold() not in allowed:
        raise SignInRefused(
            _("%(email)s cannot sign in here: this site admits addresses at %(domains)s only.")
            % {"email": email, "domains": domains},
            email,
        )


def _provider_error(error: requests.RequestException) -> str:
    """The provider's OAuth error code (e.g. invalid_grant), or that it did not answer."""
    response = error.response
    if response is None:
        return _("no answer")
    try:
        code = response.json().get("error")
    except ValueError:
        code = None
    return str(code or response.status_code)
