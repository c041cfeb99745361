"""Who may see and do what in a team. Every view goes through these helpers.

- A person outside a team gets 404 for everything of that team's, by any URL: the
  team's existence is not confirmed to strangers.
- A viewer gets 403 for every action that would generate, delete or change.
- What a member may *see* of a team's jobs is one scope,
  `Generation.objects.visible_to(user, team)` (playground/generations/models.py).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from playground.lib.htmx import HtmxHttpRequest
from playground.teams.models import Membership, Profile, Team

SESSION_KEY = "playground.team"


class AuthedRequest(HtmxHttpRequest):
    """The request as a view behind LoginRequiredMiddleware sees it: a signed-in person
    (and `request.htmx`, from the one htmx request type it builds on).

    Only for the type checker (django-htmx's pattern for `request.htmx`): at run time
    the request is Django's own. Every view that is not `login_not_required` takes it.
    """

    user: User
    # The team the page belongs to, once the view entered it through `membership()` or
    # `membership_in()`; the header reads it through `entered()`.
    membership: Membership


def membership(request: AuthedRequest, slug: str) -> Membership:
    """The signed-in person's membership of the team at /t/<slug>/, or 404."""
    found = (
        Membership.objects.select_related("team")
        .filter(user_id=request.user.pk, team__slug=slug)
        .first()
    )
    if found is None:
        raise Http404
    return _enter(request, found)


def membership_in(request: AuthedRequest, team_id: int) -> Membership:
    """The membership for a team reached through one of its things (a job), or 404."""
    found = (
        Membership.objects.select_related("team")
        .filter(user_id=request.user.pk, team_id=team_id)
        .first()
    )
    if found is None:
        raise Http404
    return _enter(request, found)


def _enter(request: AuthedRequest, found: Membership) -> Membership:
    # The header shows the team a page belongs to, and `/` returns to it next time.
    request.membership = found
    # The session knows the last team it remembered: a page that polls every 2 s
    # writes nothing; only entering another team updates the person's profile.
    if request.session.get(SESSION_KEY) != found.team_id:
        remember(request.user, found.team)
        request.session[SESSION_KEY] = found.team_id
    return found


def entered(request: HttpRequest) -> Membership | None:
    """The membership this request's view entered, or None (a page of no team, such as
    the invitations list, or a request no view has reached yet)."""
    found = getattr(request, "membership", None)
    return found if isinstance(found, Membership) else None


def require_generate(found: Membership) -> None:
    """Generating, deleting and changing need the admin or member role."""
    if not found.can_generate:
        raise PermissionDenied


def require_admin(found: Membership) -> None:
    if not found.is_admin:
        raise PermissionDenied


def remember(user: User, team: Team) -> None:
    """Make `team` the person's current team, the one `/` opens next time."""
    Profile.objects.update_or_create(user_id=user.pk, defaults={"current_team": team})


def current_team(user: User) -> Team | None:
    """The team the person last worked in, else their first team, else None."""
    teams = Team.objects.of(user)
    profile = Profile.objects.filter(user_id=user.pk).select_related("current_team").first()
    if profile and profile.current_team and teams.filter(pk=profile.current_team.pk).exists():
        return profile.current_team
    return teams.order_by("name").first()
