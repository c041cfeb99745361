"""Start-up checks of the single sign-on settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from playground.sso import config

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@register()
def sso_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    try:
        config.group_rules()
    except config.BadGroupMapping as error:
        problems.append(Error(f"OIDC_GROUP_TEAMS: {error}", id="sso.E001"))
    if config.enabled() and not (settings.OIDC_CLIENT_ID and settings.OIDC_CLIENT_SECRET):
        problems.append(
            Error(
                "OIDC_ISSUER is set but OIDC_CLIENT_ID or OIDC_CLIENT_SECRET is not.", id="sso.E002"
            )
        )
    issuer = urlsplit(settings.OIDC_ISSUER)
    if issuer.scheme == "http" and issuer.hostname not in LOOPBACK:
        problems.append(
            Warning(
                "OIDC_ISSUER is plain http: the provider's keys and tokens would travel "
                "unencrypted. Use its https address.",
                id="sso.W002",
            )
        )
    if not settings.PASSWORD_LOGIN and not config.enabled():
        problems.append(
            Warning(
                "PASSWORD_LOGIN is off but OIDC_ISSUER is not set: the password form stays "
                "on, as there would be no other way to sign in.",
                id="sso.W001",
            )
        )
    return problems
