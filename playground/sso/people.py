"""The account behind a provider's sign-in: found by (issuer, subject), made at the
first sign-in, its e-mail and name following the provider's at every sign-in; and the
group mapping applied to its memberships."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from playground.audit.log import record
from playground.audit.models import Action
from playground.sso import config
from playground.sso.models import Identity, MappedMembership
from playground.teams.accounts import username_problem
from playground.teams.models import Membership, Team

logger = logging.getLogger(__name__)

# Django's username characters; anything else in a provider's name becomes "-".
_NOT_USERNAME = re.compile(r"[^\w.@+-]+")


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    return value.strip() if isinstance(value, str) else ""


def groups_of(claims: dict[str, Any]) -> list[str]:
    """The groups claim (OIDC_GROUPS_CLAIM) as a list: providers send a list, some a
    single string."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def new_username(claims: dict[str, Any]) -> str:
    """A free username that reads like the person's name at the provider and cannot
    pass for anyone else's (teams/accounts.py): "alice", else "alice-2", …"""
    # The address's local part, not the whole address: usernames show on every page.
    wanted = (
        _text(claims, "preferred_username") or _text(claims, "email").partition("@")[0] or "user"
    )
    base = _NOT_USERNAME.sub("-", unicodedata.normalize("NFKC", wanted)).strip("-")[:140] or "user"
    candidate, number = base, 1
    while username_problem(candidate):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def account_for(issuer: str, claims: dict[str, Any]) -> User:
    """The account of this provider identity, made at its first sign-in. Call inside a
    transaction."""
    subject = str(claims["sub"])
    email = _text(claims, "email")
    identity = (
        Identity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if identity is None:
        user = User(username=new_username(claims))
        user.set_unusable_password()  # signs in through the provider only
        user.save()
        identity = Identity.objects.create(user=user, issuer=issuer, subject=subject)
    user = identity.user
    user.email = email or user.email
    user.first_name = _text(claims, "given_name")[:150] or user.first_name
    user.last_name = _text(claims, "family_name")[:150] or user.last_name
    user.save(update_fields=["email", "first_name", "last_name"])
    identity.email = email
    identity.last_sign_in_at = timezone.now()
    identity.save(update_fields=["email", "last_sign_in_at"])
    return user


# Who the audit log names for the mapping's changes: no person made them.
MAPPING_ACTOR = "single sign-on (group mapping)"


def apply_group_mapping(user: User, groups: list[str], request: HttpRequest | None = None) -> None:
    """Make the memberships the mapping manages match the person's groups: join the
    teams their groups give, with the highest role given; change a role that differs;
    leave the teams no group gives any more. Hand-made memberships are left alone, and
    a team never loses its last admin this way (Membership.set_role and leave refuse).
    Each change is in the team's audit log. Call inside a transaction."""
    wanted = config.roles_for(groups)
    name = user.get_username()

    def audit(action: Action, team: Team, before: str | None, after: str | None) -> None:
        record(
            action,
            team=team,
            actor=None,
            actor_name=MAPPING_ACTOR,
            request=request,
            target=name,
            changes={"role": [before, after]},
        )

    managed = {
        mapped.membership.team.slug: mapped.membership
        for mapped in MappedMembership.objects.select_related("membership__team").filter(
            membership__user=user
        )
    }
    for slug, role in wanted.items():
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            logger.warning("OIDC_GROUP_TEAMS names a team that does not exist: %s", slug)
            continue
        membership = managed.get(slug)
        if membership is None:
            if Membership.objects.filter(user=user, team=team).exists():
                continue  # made by hand: not the mapping's to change
            membership = Membership.objects.create(user=user, team=team, role=role)
            MappedMembership.objects.create(membership=membership)
            audit(Action.MEMBER_ADDED, team, None, role)
        elif membership.role != role:
            before = membership.role
            if membership.set_role(role):
                audit(Action.ROLE_CHANGED, team, before, role)
            else:
                logger.warning("%s stays the last admin of %s", user, team)
    for slug, membership in managed.items():
        if slug in wanted:
            continue
        if membership.leave():
            audit(Action.MEMBER_REMOVED, membership.team, membership.role, None)
        else:
            logger.warning("%s stays in %s as its last admin", user, membership.team)


def signed_in(issuer: str, claims: dict[str, Any], request: HttpRequest | None = None) -> User:
    """The account for these (already verified) claims, its teams brought up to date."""
    with transaction.atomic():
        user = account_for(issuer, claims)
        apply_group_mapping(user, groups_of(claims), request)
    return user
