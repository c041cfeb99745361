"""A review's note is a comment, and its notification travels with the decision: the
image's author hears of it once (the decision, with the note), not again as a mention
or a reply; everyone else the note names is told as for any comment."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from playground.comments.models import Mention
from playground.comments.threads import post
from playground.generations.jobs import save_result
from playground.generations.models import State
from playground.notifications.models import Kind, Notification
from playground.reviews.decisions import decide
from playground.reviews.models import ReviewStatus
from tests.factories import make_generation, png_bytes

pytestmark = pytest.mark.django_db


def kinds(user: User) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


def test_the_author_named_in_a_note_is_told_once_a_colleague_as_a_mention(
    alice: User, bob: User, ada: User
) -> None:
    job = make_generation(alice, state=State.COMPLETED)
    image = save_result(job, 0, png_bytes())
    post(alice, job, "the sky, maybe?", image=image)  # alice wrote in the thread before

    decide(image, ada, ReviewStatus.CHANGES_REQUESTED, note="@alice warmer; @bob, the sky")

    assert kinds(alice) == [Kind.REVIEW_DECIDED]
    assert Notification.objects.get(recipient=alice).excerpt == "@alice warmer; @bob, the sky"
    assert kinds(bob) == [Kind.MENTION]
    # The note still names both: "mentions me" finds it for alice too.
    assert set(Mention.objects.values_list("user__username", flat=True)) == {"alice", "bob"}


def test_without_told_a_comment_mentions_and_replies_as_before(
    alice: User, bob: User, ada: User
) -> None:
    job = make_generation(alice, state=State.COMPLETED)
    post(bob, job, "first")
    post(ada, job, "@alice look")
    assert kinds(alice) == [Kind.MENTION]
    assert kinds(bob) == [Kind.REPLY]
