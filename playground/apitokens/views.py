"""The API tokens page of a team: every member (viewers too) makes and revokes their own
tokens there; the team's admins also see and revoke everyone's. A token's value is in
one answer only, the one that makes it; afterwards its name and prefix stand for it.
Strangers get 404 for all of it, a member 404 for a colleague's token.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from playground.apitokens import revoking
from playground.apitokens.forms import TokenForm
from playground.apitokens.models import ApiToken
from playground.teams import access
from playground.teams.access import AuthedRequest
from playground.teams.models import Membership

PAGE = "apitokens/tokens.html"


@sensitive_variables("new_value")
def _page(
    request: AuthedRequest,
    membership: Membership,
    *,
    form: TokenForm | None = None,
    new_token: ApiToken | None = None,
    new_value: str = "",
    status: int = 200,
) -> HttpResponse:
    tokens = ApiToken.objects.visible_to(membership).select_related("user", "revoked_by")
    return render(
        request,
        PAGE,
        {
            "team": membership.team,
            "membership": membership,
            "tokens": tokens,
            "form": form or TokenForm(),
            "new_token": new_token,
            "new_value": new_value,
            "api_base": f"{settings.PUBLIC_BASE_URL}/v1",
        },
        status=status,
    )


@require_GET
def tokens(request: AuthedRequest, team: str) -> HttpResponse:
    return _page(request, access.membership(request, team))


@sensitive_variables("value")
@require_POST
def token_create(request: AuthedRequest, team: str) -> HttpResponse:
    """Make a token and show its value, once, in this answer (never a redirect: the
    value would have to be kept somewhere to show it on the next page)."""
    membership = access.membership(request, team)
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, membership, form=form, status=400)
    token, value = revoking.create_token(
        membership,
        name=form.cleaned_data["name"],
        days=form.cleaned_data["days"],
        only_me_default=form.cleaned_data["only_me_default"],
        request=request,
    )
    return _page(request, membership, new_token=token, new_value=value)


@require_POST
def token_revoke(request: AuthedRequest, team: str, token_id: int) -> HttpResponse:
    """The token's member, or a team admin, stops it at once."""
    membership = access.membership(request, team)
    token = get_object_or_404(ApiToken.objects.visible_to(membership), pk=token_id)
    if revoking.revoke_token(token, by=request.user, request=request):
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("api_tokens", team=team)
