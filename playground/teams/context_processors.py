import functools
from typing import Any

from django.http import HttpRequest

from playground.teams import access, availability
from playground.teams.models import Invitation, Membership


def teams(request: HttpRequest) -> dict[str, Any]:
    """The header's team switcher, and the team the page belongs to."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = access.entered(request)
    return {
        "my_memberships": Membership.objects.filter(user=user)
        .select_related("team")
        .order_by("team__name"),
        "current_membership": membership,
        # Whether the page's team may use a model that takes a mask: "Edit with mask"
        # on tiles, the lightbox and a job's page. Asked once, and only by a template
        # that shows one of them.
        "mask_editing": functools.cache(
            lambda: (
                membership is not None
                and membership.can_generate
                and availability.mask_model(membership.team) is not None
            )
        ),
        # Invitations addressed to this person, waiting for their answer (the header
        # links them with their count). Counted only when a template shows the header:
        # the live checks' fragments, every 2 s, never ask.
        "pending_invitations": functools.cache(Invitation.objects.pending_for(user).count),
    }
