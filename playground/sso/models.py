"""Who a provider's account is here, and which memberships the group mapping gave.

An account is found by the provider's (issuer, subject) pair, never by e-mail: an
address can be reused or changed at the provider, the subject cannot. So a first
sign-in always makes a new account, even beside a password account with the same
address (README, "Single sign-on").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from playground.teams.models import Membership


class Identity(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identities"
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255)
    # As the provider said it at the last sign-in (the account's e-mail follows it).
    email = models.EmailField(_("e-mail"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="one_account_per_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer} → {self.user}"


class MappedMembership(models.Model):
    """A membership the group mapping (OIDC_GROUP_TEAMS) made: its role follows the
    person's groups at every sign-in, and it ends at the first sign-in without them.
    Memberships made by hand (invitations, the Members page) have no such row and the
    mapping never touches them."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="sso_mapping", primary_key=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("membership given by a group")
        verbose_name_plural = _("memberships given by groups")

    def __str__(self) -> str:
        return str(self.membership)
