"""Who may see and do what in a team. Every view goes through these helpers.

- A person outside a team gets 404 for everything of that team's, by any URL: the
  team's existence is not confirmed to strangers.
- A viewer gets 403 for every action that would generate, delete or change.
- What a member may *see* of a team's jobs is one scope,
  `Generation.objects.visible_to(user, team)` (playground/generations/models.py).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from playground.teams.models import Membership, Profile, Team

SESSION_KEY = "playground.team"


def membership(request: HttpRequest, slug: str) -> Membership:
    """The signed-in person's membership of the team at /t/<slug>/, or 404."""
    found = (
        Membership.objects.select_related("team")
        .filter(user_id=request.user.pk, team__slug=slug)
        .first()
    )
    if found is None:
        raise Http404
    return _enter(request, found)


def membership_in(request: HttpRequest, team_id: int) -> Membership:
    """The membership for a team reached through one of its things (a job), or 404."""
    found = (
        Membership.objects.select_related("team")
        .filter(user_id=request.user.pk, team_id=team_id)
        .first()
    )
    if found is None:
        raise Http404
    return _enter(request, found)


def _enter(request: HttpRequest, found: Membership) -> Membership:
    # The header shows the team a page belongs to, and `/` returns to it next time.
    request.membership = found  # type: ignore[attr-defined]
    # The session knows the last team it remembered: a page that polls every 2 s
    # writes nothing; only entering another team updates the person's profile.
    if request.session.get(SESSION_KEY) != found.team_id:
        remember(request.user, found.team)
        request.session[SESSION_KEY] = found.team_id
    return found


def require_generate(found: Membership) -> None:
    """Generating, deleting and changing need the admin or member role."""
    if not found.can_generate:
        raise PermissionDenied


def require_admin(found: Membership) -> None:
    if not found.is_admin:
        raise PermissionDenied


def remember(user: Any, team: Team) -> None:
    """Make `team` the person's current team, the one `/` opens next time."""
    Profile.objects.update_or_create(user_id=user.pk, defaults={"current_team": team})


def current_team(user: Any) -> Team | None:
    """The team the person last worked in, else their first team, else None."""
    teams = Team.objects.of(user)
    profile = Profile.objects.filter(user_id=user.pk).select_related("current_team").first()
    if profile and profile.current_team and teams.filter(pk=profile.current_team_id).exists():
        return profile.current_team
    return teams.order_by("name").first()
