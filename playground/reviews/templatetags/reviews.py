"""{% review_panel img %}: an image's review status and the buttons the person may use
(the job's page, the review queue). The membership is the page's (`membership`, else
the header's `current_membership`)."""

from __future__ import annotations

from typing import Any

from django import template

from playground.generations.models import ResultImage
from playground.reviews import decisions
from playground.teams.models import Membership

register = template.Library()


@register.inclusion_tag("reviews/_panel.html", takes_context=True)
def review_panel(context: template.Context, image: ResultImage) -> dict[str, Any]:
    membership = context.get("membership") or context.get("current_membership")
    found = membership if isinstance(membership, Membership) else None
    return {
        "o": decisions.options(image, found),
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "next": context.get("review_next", ""),
        # The review page says who asked and when beside the image already.
        "hide_state": bool(context.get("review_hide_state")),
    }
