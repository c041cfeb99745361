"""Making and revoking tokens, each recorded in the team's audit log in the change's
own transaction. The value of a token is never passed to the log (nor anywhere else):
an entry names the token by its name and prefix."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest

from playground.apitokens.models import DEFAULT_DAYS, ApiToken
from playground.audit.log import record
from playground.audit.models import Action
from playground.teams.models import Membership


def _target(token: ApiToken) -> str:
    return f"{token.name} ({token.shown}) of {token.user.get_username()}"


def create_token(
    membership: Membership,
    *,
    name: str,
    days: int = DEFAULT_DAYS,
    only_me_default: bool = False,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """A new token of `membership`'s member and its value (to hand over once)."""
    with transaction.atomic():
        token, value = ApiToken.issue(
            membership, name=name, days=days, only_me_default=only_me_default
        )
        record(
            Action.TOKEN_CREATED,
            team=membership.team,
            actor=membership.user,
            request=request,
            target=_target(token),
            changes={"expires_at": [None, token.expires_at.isoformat()]},
        )
    return token, value


def revoke_token(token: ApiToken, *, by: User | None, request: HttpRequest | None = None) -> bool:
    """Revoke one token; False if it was revoked already (nothing recorded then)."""
    with transaction.atomic():
        if not token.revoke(by=by):
            return False
        record(
            Action.TOKEN_REVOKED,
            team=token.team,
            actor=by,
            request=request,
            target=_target(token),
        )
    return True


def revoke_member_tokens(team_id: int, user_id: int) -> int:
    """Revoke a removed member's tokens of that team (the system acts: whoever removed
    them is recorded by the removal itself). How many were revoked."""
    tokens = ApiToken.objects.select_related("team", "user").filter(
        team_id=team_id, user_id=user_id, revoked_at=None
    )
    revoked = 0
    for token in tokens:
        with transaction.atomic():
            if token.revoke(by=None):
                record(
                    Action.TOKEN_REVOKED,
                    team=token.team,
                    actor=None,
                    actor_name="system",
                    target=_target(token),
                    changes={"reason": [None, "member removed from the team"]},
                )
                revoked += 1
    return revoked
