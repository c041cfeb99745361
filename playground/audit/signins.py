"""Sign-ins and failed sign-ins, from django's auth signals.

Every way in sends them (the password form, the admin's login, single sign-on through
django.contrib.auth.login), so none of those views knows about the audit log. A
sign-in is written once per team the person belongs to, so each team's admins see
their members come and go; a failed sign-in of a known username likewise, and one of
an unknown name goes to the superusers' log only (no team), with the name as typed.
The password is never stored: django's signal already replaces it in `credentials`,
and only the username is read from them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.http import HttpRequest

from playground.audit.log import record
from playground.audit.models import SIGNED_IN_BY_FORM, SIGNED_IN_BY_SSO, Action
from playground.teams.models import Team


def _teams(user: Any) -> list[Team]:
    return list(Team.objects.filter(memberships__user=user).order_by("pk"))


# How a sign-in came, by the backend django.contrib.auth.login() stored in the session.
# Named, not imported: playground.sso sits above the audit log.
HOW = {
    "django.contrib.auth.backends.ModelBackend": SIGNED_IN_BY_FORM,
    "playground.sso.backends.SignInBackend": SIGNED_IN_BY_SSO,
}


def _how(request: HttpRequest | None) -> str:
    if request is None or not hasattr(request, "session"):
        return ""
    return HOW.get(str(request.session.get(BACKEND_SESSION_KEY, "")), "")


def on_signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    how = _how(request)
    with transaction.atomic():
        teams: list[Team | None] = [*_teams(user)] or [None]
        for team in teams:
            record(Action.SIGNED_IN, team=team, actor=user, request=request, target=how)


def on_sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    name = str(credentials.get("username") or "")[:150]
    user = get_user_model().objects.filter(username=name).first() if name else None
    with transaction.atomic():
        teams: list[Team | None] = [*(_teams(user) if user is not None else [])] or [None]
        for team in teams:
            record(
                Action.SIGN_IN_FAILED,
                team=team,
                actor=user,
                actor_name=name,
                request=request,
            )


def connect() -> None:
    user_logged_in.connect(on_signed_in, dispatch_uid="audit_signed_in")
    user_login_failed.connect(on_sign_in_failed, dispatch_uid="audit_sign_in_failed")
