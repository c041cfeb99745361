"""Single sign-on's settings, read at call time (tests change them) and parsed in one
place: which provider, which e-mail domains, which groups give which team and role,
and whether the password form is on.

No OIDC_ISSUER: single sign-on is off and the playground behaves as it always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from playground.teams.models import Role

# Highest first: a person in two groups that map to one team gets the higher role.
ROLE_RANK = {Role.ADMIN: 3, Role.MEMBER: 2, Role.VIEWER: 1}


class BadGroupMapping(ValueError):
    pass


@dataclass(frozen=True)
class GroupRule:
    group: str
    team: str  # the team's slug
    role: Role


def enabled() -> bool:
    return bool(settings.OIDC_ISSUER)


def password_login_enabled() -> bool:
    """PASSWORD_LOGIN=off only counts when there is another way in: without a provider
    switching passwords off would lock everyone out (a system check says so too)."""
    return settings.PASSWORD_LOGIN or not enabled()


def provider_name() -> str:
    """What the button says: "Sign in with <this>"; the issuer's host by default."""
    return settings.OIDC_PROVIDER_NAME or urlsplit(settings.OIDC_ISSUER).hostname or ""


def allowed_domains() -> set[str]:
    """E-mail domains whose people may sign in; empty: anyone the provider signs in."""
    return {domain.strip().lstrip("@").casefold() for domain in settings.OIDC_ALLOWED_DOMAINS}


def group_rules() -> list[GroupRule]:
    """OIDC_GROUP_TEAMS, "group=team-slug:role;…" (the role defaults to member). The
    group is everything before the last "=", so LDAP-style names (CN=…,OU=…) work."""
    rules = []
    for entry in settings.OIDC_GROUP_TEAMS.split(";"):
        if not entry.strip():
            continue
        group, equals, target = entry.strip().rpartition("=")
        team, _colon, role = target.partition(":")
        role = role.strip() or Role.MEMBER
        if not equals or not group.strip() or not team.strip():
            raise BadGroupMapping(f"{entry!r} is not group=team-slug:role")
        if role not in Role.values:
            raise BadGroupMapping(f"{entry!r}: the role must be one of {', '.join(Role.values)}")
        rules.append(GroupRule(group.strip(), team.strip(), Role(role)))
    return rules


def roles_for(groups: list[str]) -> dict[str, Role]:
    """Team slug → the role the mapping gives a person in these groups."""
    wanted: dict[str, Role] = {}
    for rule in group_rules():
        if rule.group in groups:
            current = wanted.get(rule.team)
            if current is None or ROLE_RANK[rule.role] > ROLE_RANK[current]:
                wanted[rule.team] = rule.role
    return wanted
