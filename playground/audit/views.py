"""The audit log's pages: a team's, for its admins (and superusers), and every team's,
for superusers. Read only: the log has no edit or delete path in the application."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from playground import csvsafe
from playground.audit import filters
from playground.audit.models import AuditEntry, AuditEntryQuerySet
from playground.teams import access
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership, Team

PAGE = "audit/log.html"
PAGE_SIZE = 50


def _team_log(request: AuthedRequest, slug: str) -> Team:
    """The team whose log this is: its admins, and superusers (every team); the other
    members get 403, strangers 404, as everywhere."""
    if request.user.is_superuser:
        team = get_object_or_404(Team, slug=slug)
        if Membership.objects.filter(user_id=request.user.pk, team=team).exists():
            access.membership(request, slug)  # the header shows the team
        return team
    membership = access.membership(request, slug)
    access.require_admin(membership)
    return membership.team


def _superuser(request: AuthedRequest) -> None:
    if not request.user.is_superuser:
        raise PermissionDenied


def _render(
    request: AuthedRequest, base: AuditEntryQuerySet, team: Team | None, teams: list[Team] | None
) -> HttpResponse:
    form, entries = filters.filter_form(request.GET, base, teams=teams)
    page = Paginator(entries.select_related("team"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context: dict[str, Any] = {
        "team": team,
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "all_teams": teams is not None,
        "retention_days": settings.AUDIT_RETENTION_DAYS,
    }
    return render(request, PAGE, context, status=400 if form.errors else 200)


def _csv(entries: AuditEntryQuerySet, name: str) -> StreamingHttpResponse:
    writer = csvsafe.writer(_Echo())  # no cell a spreadsheet would run
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in filters.csv_rows(entries)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="{name}-audit-{stamp}.csv"'
    return response


@require_GET
def team_audit(request: AuthedRequest, team: str) -> HttpResponse:
    team_obj = _team_log(request, team)
    return _render(request, AuditEntry.objects.of_team(team_obj), team_obj, None)


@require_GET
def team_audit_csv(request: AuthedRequest, team: str) -> StreamingHttpResponse:
    team_obj = _team_log(request, team)
    _form, entries = filters.filter_form(
        request.GET, AuditEntry.objects.of_team(team_obj), teams=None
    )
    return _csv(entries, team_obj.slug)


@require_GET
def site_audit(request: AuthedRequest) -> HttpResponse:
    """Every team's log, and the entries of no team (a failed sign-in of an unknown
    name, a model switched for the whole site)."""
    _superuser(request)
    return _render(request, AuditEntry.objects.all(), None, list(Team.objects.order_by("name")))


@require_GET
def site_audit_csv(request: AuthedRequest) -> StreamingHttpResponse:
    _superuser(request)
    _form, entries = filters.filter_form(
        request.GET, AuditEntry.objects.all(), teams=list(Team.objects.order_by("name"))
    )
    return _csv(entries, "all-teams")


class _Echo:
    def write(self, value: str) -> str:
        return value
