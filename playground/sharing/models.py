"""Share links: a read-only page of some of a team's images for people outside it.

A link names images (`ShareLinkImage`), never copies them. What its page shows is
decided when it is opened, not when it was made (`ShareLink.shown_items`): an image
deleted from the team is gone (CASCADE), one whose job became "Only me" is left out,
and with "approved images only" so is one whose review status is no longer approved.
A revoked or expired link shows nothing at all (`ShareLink.objects.live`).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import User
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from playground.reviews.models import ReviewStatus
from playground.teams.models import Membership


def new_token() -> str:
    # 256 bits: the address is the only key to the page, so it must not be guessable.
    return secrets.token_urlsafe(32)


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def live(self, now: datetime | None = None) -> ShareLinkQuerySet:
        """Links whose page opens: not revoked, not past their expiry."""
        now = now or timezone.now()
        return self.filter(revoked_at=None).filter(Q(expires_at=None) | Q(expires_at__gt=now))

    def managed_by(self, membership: Membership) -> ShareLinkQuerySet:
        """The links of the membership's team this person sees and may revoke: every
        one for a team admin, their own for anyone else."""
        links = self.filter(team_id=membership.team_id)
        return links if membership.is_admin else links.filter(created_by_id=membership.user_id)


class ShareLink(models.Model):
    TITLE_MAX = 200
    NOTE_MAX = 2000

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="share_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Kept readable (not hashed, unlike an invitation's): the person who made the link
    # and the team's admins copy its address again from the team's list.
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    # What it was made from, for the team's list only ("Job #12", "Collection “Picks”");
    # never shown on the public page.
    source = models.CharField(max_length=20)
    description = models.CharField(max_length=300, blank=True)
    title = models.CharField(max_length=TITLE_MAX, blank=True)
    note = models.TextField(max_length=NOTE_MAX, blank=True)
    show_prompts = models.BooleanField(default=False)
    show_names = models.BooleanField(default=False)
    approved_only = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Django's password hasher; blank: no password.
    password = models.CharField(max_length=128, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    view_count = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"share link {self.pk} (team {self.team_id})"

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    def set_password(self, raw: str) -> None:
        self.password = make_password(raw) if raw else ""

    def check_password(self, raw: str) -> bool:
        return bool(self.password) and check_password(raw, self.password)

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_live(self) -> bool:
        return not self.is_revoked and not self.is_expired

    def shown_items(self) -> models.QuerySet[ShareLinkImage]:
        """The images the page shows now, in their order: still the team's, not in an
        "Only me" job, and approved if the link says so."""
        items = self.items.filter(
            image__generation__team_id=self.team_id, image__generation__private=False
        )
        if self.approved_only:
            items = items.filter(image__review__status=ReviewStatus.APPROVED)
        return items.select_related("image", "image__generation", "image__generation__owner")

    def revoke(self, by: User) -> bool:
        """Revoke it now; False if it already was (a second press changes nothing)."""
        now = timezone.now()
        done = ShareLink.objects.filter(pk=self.pk, revoked_at=None).update(
            revoked_at=now, revoked_by=by
        )
        if done:
            self.revoked_at, self.revoked_by = now, by
        return bool(done)

    def count_view(self) -> None:
        """One more view, counted in the database (two visitors at once both count)."""
        now = timezone.now()
        ShareLink.objects.filter(pk=self.pk).update(
            view_count=F("view_count") + 1, last_viewed_at=now
        )


class ShareLinkImage(models.Model):
    link = models.ForeignKey(ShareLink, on_delete=models.CASCADE, related_name="items")
    # CASCADE: an image deleted from the team leaves every link at once.
    image = models.ForeignKey(
        "playground.ResultImage", on_delete=models.CASCADE, related_name="share_items"
    )
    # The image's place on the page, and its number in the page's addresses
    # (/s/<token>/images/<position>): an id of the team's images is never in them.
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["link", "position"], name="unique_share_position"),
            models.UniqueConstraint(fields=["link", "image"], name="unique_share_image"),
        ]

    def __str__(self) -> str:
        return f"{self.link_id}#{self.position}"
