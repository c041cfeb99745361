"""Making, listing and revoking a team's share links (the team's side).

Members and admins make links of what they can see (viewers look and download, they
do not hand the team's images out: 403). A link is seen and revoked by the person who
made it and by the team's admins; to everyone else in the team it does not exist (404).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from playground.lib.redirects import safe_next
from playground.sharing import links
from playground.sharing.forms import ShareLinkForm
from playground.sharing.models import ShareLink
from playground.teams import access
from playground.teams.models import Membership

NEW = "sharing/new.html"


@require_POST
def share_link_new(request: access.AuthedRequest, team: str) -> HttpResponse:
    """The options of a link for what the button was pressed on (nothing is made yet)."""
    membership = access.membership(request, team)
    access.require_generate(membership)
    return _options_page(request, membership, ShareLinkForm(), check=False)


@require_POST
def share_link_create(request: access.AuthedRequest, team: str) -> HttpResponse:
    membership = access.membership(request, team)
    access.require_generate(membership)
    return _options_page(request, membership, ShareLinkForm(request.POST), check=True)


def _options_page(
    request: access.AuthedRequest, membership: Membership, form: ShareLinkForm, check: bool
) -> HttpResponse:
    try:
        shareable = links.resolve(request, membership)
    except links.UnknownSource:
        return HttpResponseBadRequest(
            _("Say what to share: a job, a selection, a collection or a run.")
        )
    if not shareable.images:
        messages.warning(request, shareable.empty_message)
        return redirect(
            safe_next(request, reverse("studio", args=[membership.team.slug]), referer=True)
        )
    too_many = len(shareable.images) > links.MAX_IMAGES
    if check and not too_many and form.is_valid():
        link = links.create(
            by=request.user,
            team=membership.team,
            shareable=shareable,
            options=form.options(),
            request=request,
        )
        return redirect("share_link", team=membership.team.slug, link_id=link.pk)
    return render(
        request,
        NEW,
        {
            "team": membership.team,
            "membership": membership,
            "form": form,
            "shareable": shareable,
            "approved": links.approved_count(shareable.images),
            "too_many": too_many,
            "max_images": links.MAX_IMAGES,
        },
    )


def _link(membership: Membership, link_id: int) -> ShareLink:
    return get_object_or_404(
        ShareLink.objects.managed_by(membership).select_related("created_by", "revoked_by"),
        pk=link_id,
    )


@require_GET
def share_link(request: access.AuthedRequest, team: str, link_id: int) -> HttpResponse:
    membership = access.membership(request, team)
    link = _link(membership, link_id)
    address = request.build_absolute_uri(reverse("shared_page", args=[link.token]))
    return render(
        request,
        "sharing/link.html",
        {
            "team": membership.team,
            "membership": membership,
            "link": link,
            "address": address,
            "shown": list(link.shown_items()),
            "total": link.items.count(),
        },
    )


@require_GET
def share_links(request: access.AuthedRequest, team: str) -> HttpResponse:
    membership = access.membership(request, team)
    found = ShareLink.objects.managed_by(membership).select_related("created_by")
    return render(
        request,
        "sharing/list.html",
        {"team": membership.team, "membership": membership, "links": list(found[:500])},
    )


@require_POST
def share_link_revoke(request: access.AuthedRequest, team: str, link_id: int) -> HttpResponse:
    membership = access.membership(request, team)
    link = _link(membership, link_id)
    if links.revoke(link, by=request.user, request=request):
        messages.success(request, _("The link is revoked: its page is gone for everyone."))
    back = reverse("share_link", args=[membership.team.slug, link.pk])
    return redirect(safe_next(request, back))
