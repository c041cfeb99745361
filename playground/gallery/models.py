"""What a team keeps of its images: each person's favourites and the team's collections.

Both point at archived images (`ResultImage`), never copy them: deleting a collection
or un-starring an image never deletes an image, and deleting a job takes its images
out of every collection and favourite list (CASCADE from the image).

Who may see an image is still one scope, `ResultImage.objects.visible_to` (the images
of the jobs `Generation.objects.visible_to` lets them see): a collection shows only the
images each viewer may see (a colleague's "Only me" job stays hidden in a shared
collection).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Favourite(models.Model):
    """A star on an image, per person: "Favourites" is a filter of one's own."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    image = models.ForeignKey(
        "playground.ResultImage", on_delete=models.CASCADE, related_name="favourites"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "image"], name="unique_favourite")]

    def __str__(self) -> str:
        return f"{self.user_id} ★ {self.image_id}"


class Collection(models.Model):
    """A named set of the team's images, that any member of the team can open by link."""

    NAME_MAX = 120  # the form says so before the column would refuse it

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=NAME_MAX)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The image shown for the collection in lists; any image of it (SET_NULL: removing
    # that image from the team leaves the collection without a cover, not broken).
    cover = models.ForeignKey(
        "playground.ResultImage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="unique_collection_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} (team {self.team_id})"


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    image = models.ForeignKey(
        "playground.ResultImage", on_delete=models.CASCADE, related_name="collection_items"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "image"], name="unique_collection_item")
        ]

    def __str__(self) -> str:
        return f"{self.collection_id}: {self.image_id}"
