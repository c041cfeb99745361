"""The header's "Review" count and the lightbox's reviewer choice, for the page's team.

Both are asked lazily: only a template that shows them runs their query, so the live
checks' fragments (every 2 s) never do.
"""

from __future__ import annotations

import functools
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest

from playground.reviews import decisions, queue
from playground.teams import access
from playground.teams.models import Membership


def _reviewers(membership: Membership) -> list[User]:
    if not membership.can_generate:
        return []
    chosen = decisions.reviewers_of(membership.team).exclude(user_id=membership.user_id)
    return [m.user for m in chosen]


def reviews(request: HttpRequest) -> dict[str, Any]:
    membership = access.entered(request)
    user = getattr(request, "user", None)
    if membership is None or not isinstance(user, User):
        return {}
    return {
        "review_waiting": functools.cache(lambda: queue.awaiting(user, membership).count()),
        "review_reviewers": functools.cache(lambda: _reviewers(membership)),
    }
