"""Comment threads on jobs and on their images, with @mentions.

A job has one thread of its own (`image` empty) and one per image. A thread is seen by
exactly the people who may see its job (`Generation.objects.visible_to`): the views
reach a comment only through that scope, so a colleague's "Only me" job has no thread
for anyone but its owner. Deleting a job or an image deletes its threads (CASCADE).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CommentQuerySet(models.QuerySet["Comment"]):
    def thread(self, generation_id: int, image_id: int | None) -> CommentQuerySet:
        """One thread, oldest first: the job's own (`image_id` None) or an image's."""
        return (
            self.filter(generation_id=generation_id, image_id=image_id)
            .select_related("author")
            .prefetch_related("mentions__user")
            .order_by("created_at", "id")
        )


class Comment(models.Model):
    # Checked by threads.post(); the column is wider than any comment people write.
    BODY_MAX = 5000

    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, related_name="comments")
    generation = models.ForeignKey(
        "playground.Generation", on_delete=models.CASCADE, related_name="comments"
    )
    # Empty: the comment is on the job as a whole.
    image = models.ForeignKey(
        "playground.ResultImage",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="comments",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # A thread, and the counts on tiles (generation first serves both).
            models.Index(fields=["generation", "image", "created_at"], name="comment_thread_idx"),
        ]

    def __str__(self) -> str:
        return f"comment {self.pk} by {self.author_id} on job {self.generation_id}"


class Mention(models.Model):
    """A team member named with @username in a comment (kept so that "mentions me"
    filters without parsing text, and an edit notifies only the newly named)."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_mentions"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="unique_mention"),
        ]

    def __str__(self) -> str:
        return f"@{self.user_id} in comment {self.comment_id}"
