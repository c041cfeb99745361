"""Posting, editing and deleting comments, and what tiles and filters read of them.

The public API of the app (other apps call these, never the models directly):

- `post(author, generation, body, image=None, *, told=())`: a new comment, its
  @mentions, and the notifications (a MENTION to each person named, a REPLY to everyone
  who wrote in the thread before; none to `told`, whom the caller tells itself).
- `counts_for(generation_ids)`: comment counts per job for tiles, in one query.

Access is the views' business (`Generation.objects.visible_to`); these functions
check what only the domain knows: the text, whom a mention may name, who may edit or
delete a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from playground.audit.log import record
from playground.audit.models import Action
from playground.comments.models import Comment, Mention
from playground.generations.history import MENTIONS_ME
from playground.generations.models import Generation, HistoryClock, ResultImage
from playground.notifications.events import notify
from playground.notifications.models import Kind
from playground.teams.models import Membership, Team

# `@` then a Django username's characters (letters, digits, . + - _), not preceded by a
# word character, so that "me@example.com" names nobody. A trailing full stop ends a
# sentence rather than a name ("thanks @ana.").
MENTION = re.compile(r"(?<![\w@])@([\w.+-]+)")
# The notification carries the start of the comment (the contract's limit).
EXCERPT_CHARS = 200


def post(
    author: User,
    generation: Generation,
    body: str,
    image: ResultImage | None = None,
    *,
    told: Iterable[User] = (),
) -> Comment:
    """A new comment on the job's thread (`image` None) or on one of its images.

    `told`: people the caller notifies of this text itself (a review's decision carries
    its note), who get no second notification for it; their mentions are still saved.
    Raises ValidationError (with a message for the page) for an empty or too long text.
    """
    text = clean_body(body)
    if image is not None and image.generation_id != generation.pk:
        raise ValueError("the image belongs to another job")
    with transaction.atomic():
        earlier = set(
            Comment.objects.filter(generation=generation, image=image)
            .exclude(author=author)
            .values_list("author_id", flat=True)
        )
        comment = Comment.objects.create(
            team_id=generation.team_id, generation=generation, image=image, author=author, body=text
        )
        named = _save_mentions(comment, mentionable(generation, text, author))
        quiet = {user.pk for user in told}
        _notify(comment, [user for user in named if user.pk not in quiet], Kind.MENTION)
        # A reply needs no second notification for someone the comment also names.
        repliers = list(User.objects.filter(pk__in=earlier - {u.pk for u in named} - quiet))
        _notify(comment, repliers, Kind.REPLY)
        # The tiles' counts and the "has comments" filter are part of the history.
        HistoryClock.tick(team_ids=[generation.team_id])
    return comment


def discussed_jobs(choice: str, user: User) -> QuerySet[Comment, int]:
    """The ids of the jobs the history's comments filter keeps (a lazy subquery): with
    any comment (COMMENTED), or with one that names `user` (MENTIONS_ME)."""
    if choice == MENTIONS_ME:
        mentioning = Comment.objects.filter(mentions__user_id=user.pk)
        return mentioning.order_by().values_list("generation_id", flat=True)
    return Comment.objects.order_by().values_list("generation_id", flat=True)


def counts_for(generation_ids: Iterable[int]) -> dict[int, int]:
    """How many comments each job has (its own thread and its images'), in one query.
    Jobs without comments are absent."""
    ids = list(generation_ids)
    if not ids:
        return {}
    rows = (
        Comment.objects.filter(generation_id__in=ids)
        .order_by()
        .values("generation_id")
        .annotate(n=Count("id"))
        .values_list("generation_id", "n")
    )
    return dict(rows)


def edit(comment: Comment, by: User, body: str) -> Comment:
    """Change one's own comment; people it newly names are notified (once)."""
    if not may_edit(comment, by):
        raise PermissionError("only the author edits a comment")
    text = clean_body(body)
    with transaction.atomic():
        before = set(comment.mentions.values_list("user_id", flat=True))
        comment.body = text
        comment.edited_at = timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        named = mentionable(comment.generation, text, by)
        comment.mentions.exclude(user_id__in=[u.pk for u in named]).delete()
        added = _save_mentions(comment, [u for u in named if u.pk not in before])
        _notify(comment, added, Kind.MENTION)
        HistoryClock.tick(team_ids=[comment.team_id])  # "mentions me" may change
    return comment


def delete(comment: Comment, membership: Membership, *, request: HttpRequest | None = None) -> bool:
    """Delete a comment: its author, or an admin of its team. False if not allowed.

    An admin deleting someone else's comment is moderation: the team's audit log keeps
    who, whose and on which job (never the text), in the same transaction."""
    if not may_delete(comment, membership):
        return False
    with transaction.atomic():
        if comment.author_id != membership.user_id:
            generation = comment.generation
            record(
                Action.COMMENT_DELETED,
                team=membership.team,
                actor=membership.user,
                request=request,
                target=f"#{generation.number or generation.pk}",
                changes={"author": [comment.author.get_username(), None]},
            )
        comment.delete()
        HistoryClock.tick(team_ids=[comment.team_id])
    return True


def may_edit(comment: Comment, user: User) -> bool:
    return comment.author_id == user.pk


def may_delete(comment: Comment, membership: Membership) -> bool:
    if membership.team_id != comment.team_id:
        return False
    return comment.author_id == membership.user_id or membership.is_admin


def clean_body(body: str) -> str:
    """The text as stored (outer blank lines and spaces trimmed), or ValidationError."""
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError(_("Write a comment first."), code="empty")
    if len(text) > Comment.BODY_MAX:
        raise ValidationError(
            ngettext(
                "A comment can be at most %(max)d character long (this one has %(n)d).",
                "A comment can be at most %(max)d characters long (this one has %(n)d).",
                Comment.BODY_MAX,
            )
            % {"max": Comment.BODY_MAX, "n": len(text)},
            code="too_long",
        )
    return text


def names_in(text: str) -> list[str]:
    """The usernames written as @name in `text`, in order, without repeats."""
    found: list[str] = []
    for match in MENTION.finditer(text):
        name = match.group(1).rstrip(".")
        if name and name not in found:
            found.append(name)
    return found


def mentionable(generation: Generation, text: str, author: User) -> list[User]:
    """The people `text` names who may be mentioned: members of the job's team who may
    see the job (only its owner, for an "Only me" job), never the author. Any other
    @word stays plain text, so a mention tells nobody whether a username exists."""
    names = names_in(text)
    if not names:
        return []
    members = members_who_see(generation).exclude(pk=author.pk)
    # Usernames are case-sensitive in Django, but people type "@Ana" for "ana": a
    # case-insensitive match counts when it names exactly one member.
    by_lower: dict[str, list[User]] = {}
    exact: dict[str, User] = {}
    any_of = Q()
    for name in names:
        any_of |= Q(username__iexact=name)
    for member in members.filter(any_of):
        exact[member.username] = member
        by_lower.setdefault(member.username.lower(), []).append(member)
    chosen: list[User] = []
    for name in names:
        same = by_lower.get(name.lower(), [])
        found = exact.get(name) or (same[0] if len(same) == 1 else None)
        if found is not None and found not in chosen:
            chosen.append(found)
    return chosen


def members_who_see_team(team: Team) -> QuerySet[User]:
    return User.objects.filter(memberships__team_id=team.pk)


def members_who_see(generation: Generation) -> QuerySet[User]:
    """The people who may see the job and so read and write in its threads."""
    if generation.private:
        return User.objects.filter(pk=generation.owner_id, memberships__team_id=generation.team_id)
    return User.objects.filter(memberships__team_id=generation.team_id)


def _save_mentions(comment: Comment, users: list[User]) -> list[User]:
    Mention.objects.bulk_create(
        [Mention(comment=comment, user=user) for user in users], ignore_conflicts=True
    )
    return users


def _notify(comment: Comment, recipients: Iterable[User], kind: Kind) -> None:
    # notify() itself leaves out the author and anyone who may not see the job.
    excerpt = Truncator(comment.body).chars(EXCERPT_CHARS)
    for recipient in recipients:
        notify(
            recipient,
            kind,
            team=comment.generation.team,
            actor=comment.author,
            generation=comment.generation,
            image=comment.image,
            excerpt=excerpt,
        )


# --- Reading threads ------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    """One thread as a page shows it. `key` names it in the page (element ids) and in
    the live check; `stamp` changes whenever a comment of it is added, edited or
    deleted."""

    generation: Generation
    image: ResultImage | None
    comments: list[Comment]

    @property
    def key(self) -> str:
        return key_of(self.generation.pk, self.image.pk if self.image else None)

    @property
    def stamp(self) -> str:
        return stamp_of(
            len(self.comments),
            max((c.pk for c in self.comments), default=0),
            max((c.edited_at for c in self.comments if c.edited_at), default=None),
        )


def thread_of(generation: Generation, image: ResultImage | None = None) -> Thread:
    comments = list(Comment.objects.thread(generation.pk, image.pk if image else None))
    for comment in comments:
        # Already known: saves a query per comment when the template links the job.
        comment.generation = generation
    return Thread(generation, image, comments)


def threads_of(
    jobs: Iterable[Generation] = (), images: Iterable[ResultImage] = ()
) -> dict[str, Thread]:
    """The threads of several jobs (their own) and images at once, by key: two queries
    whatever their number (a job's page, a comparison)."""
    jobs, images = list(jobs), list(images)
    found = Comment.objects.filter(
        Q(generation__in=[job.pk for job in jobs], image__isnull=True)
        | Q(image__in=[image.pk for image in images])
    )
    by_key: dict[str, list[Comment]] = {}
    for comment in found.select_related("author").prefetch_related("mentions__user"):
        by_key.setdefault(key_of(comment.generation_id, comment.image_id), []).append(comment)
    shown = {
        key_of(job.pk, None): Thread(job, None, by_key.get(key_of(job.pk, None), []))
        for job in jobs
    }
    for image in images:
        key = key_of(image.generation_id, image.pk)
        shown[key] = Thread(image.generation, image, by_key.get(key, []))
    for thread in shown.values():
        for comment in thread.comments:
            comment.generation = thread.generation
    return shown


def key_of(generation_id: int, image_id: int | None) -> str:
    """ "j12" for job 12's own thread, "i45" for image 45's."""
    return f"i{image_id}" if image_id is not None else f"j{generation_id}"


def stamp_of(count: int, last_id: int, last_edit: datetime | None) -> str:
    edited = int(last_edit.timestamp() * 1000) if last_edit else 0
    return f"{count}-{last_id}-{edited}"


def stamps_for(job_ids: Iterable[int], image_ids: Iterable[int]) -> dict[str, str]:
    """The current stamp of each thread named (a job's own, an image's), in one query;
    a thread without comments has the stamp of an empty one."""
    jobs, images = list(job_ids), list(image_ids)
    stamps = {key_of(pk, None): stamp_of(0, 0, None) for pk in jobs}
    stamps |= {key_of(0, pk): stamp_of(0, 0, None) for pk in images}
    if not stamps:
        return stamps
    rows = (
        Comment.objects.filter(
            Q(generation_id__in=jobs, image__isnull=True) | Q(image_id__in=images)
        )
        .order_by()
        .values("generation_id", "image_id")
        .annotate(n=Count("id"), last=Max("id"), edited=Max("edited_at"))
    )
    for row in rows:
        key = key_of(row["generation_id"], row["image_id"])
        if key in stamps:
            stamps[key] = stamp_of(row["n"], row["last"], row["edited"])
    return stamps
