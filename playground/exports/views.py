"""ZIP exports: ask for one, watch it being built, download it."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from playground.teams import access


@require_POST
def export_create(request: HttpRequest, team: str) -> HttpResponse:
    # SCAFFOLD: replaced by the exports work (issue 12); only the route exists yet.
    access.membership(request, team)
    raise Http404
