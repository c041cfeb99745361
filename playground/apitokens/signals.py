"""A member removed from a team (by an admin, by leaving, or in /admin/) loses their
tokens of that team at once: revoked, and so recorded, rather than merely refused."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete
from django.dispatch import receiver

from playground.apitokens import revoking
from playground.teams.models import Membership


@receiver(post_delete, sender=Membership, dispatch_uid="apitokens-revoke-on-removal")
def revoke_on_removal(sender: type[Membership], instance: Membership, **kwargs: Any) -> None:
    # A membership deleted along with its team or its person takes the tokens with it
    # (they cascade from both); only a removal from a team that stays revokes them.
    origin = kwargs.get("origin")
    from_removal = isinstance(origin, Membership) or (
        isinstance(origin, QuerySet) and origin.model is Membership
    )
    if from_removal:
        revoking.revoke_member_tokens(instance.team_id, instance.user_id)
