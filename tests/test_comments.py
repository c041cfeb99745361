"""Comment threads: posting, @mentions (team members only), editing, deleting, counts.

The pages and their access are in tests/test_comments_pages.py.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from pytest_django import DjangoAssertNumQueries

from playground.audit.models import Action, AuditEntry
from playground.comments import threads
from playground.comments.models import Comment, Mention
from playground.notifications.models import Kind, Notification
from playground.teams.models import Membership, Team
from tests.factories import fake_result, make_generation

pytestmark = pytest.mark.django_db


def mentioned(comment: Comment) -> set[str]:
    return set(Mention.objects.filter(comment=comment).values_list("user__username", flat=True))


def test_a_comment_is_stored_on_the_job_thread_or_an_image(alice: User, bob: User) -> None:
    job = make_generation(alice)
    image = fake_result(job)
    on_job = threads.post(bob, job, "  nice one\n")
    on_image = threads.post(alice, job, "thanks", image=image)
    assert (on_job.body, on_job.image_id, on_job.team_id) == ("nice one", None, job.team_id)
    assert on_image.image_id == image.pk
    assert list(Comment.objects.thread(job.pk, None)) == [on_job]
    assert list(Comment.objects.thread(job.pk, image.pk)) == [on_image]


def test_an_empty_or_too_long_comment_is_refused_with_a_message(alice: User) -> None:
    job = make_generation(alice)
    with pytest.raises(ValidationError, match="Write a comment first"):
        threads.post(alice, job, " \n ")
    with pytest.raises(ValidationError, match="at most 5000 characters"):
        threads.post(alice, job, "x" * (Comment.BODY_MAX + 1))
    assert not Comment.objects.exists()


def test_an_image_of_another_job_is_refused(alice: User) -> None:
    job, other = make_generation(alice), make_generation(alice)
    with pytest.raises(ValueError):
        threads.post(alice, job, "hi", image=fake_result(other))


def test_mentions_name_only_members_of_the_jobs_team(
    alice: User, bob: User, vera: User, charlie: User
) -> None:
    job = make_generation(alice)
    comment = threads.post(alice, job, "@bob @vera, see this; not @charlie nor @nobody.")
    assert mentioned(comment) == {"bob", "vera"}


def test_a_mention_is_case_insensitive_and_ignores_e_mail_addresses_and_a_full_stop(
    alice: User, bob: User
) -> None:
    job = make_generation(alice)
    assert mentioned(threads.post(alice, job, "thanks @Bob.")) == {"bob"}
    assert mentioned(threads.post(alice, job, "mail bob@example.com")) == set()


def test_the_author_is_not_mentioned_by_naming_themselves(alice: User) -> None:
    job = make_generation(alice)
    assert mentioned(threads.post(alice, job, "note to @alice")) == set()


def test_on_an_only_me_job_nobody_but_its_owner_can_be_mentioned(alice: User, bob: User) -> None:
    job = make_generation(alice, private=True)
    assert mentioned(threads.post(alice, job, "@bob look")) == set()


def test_editing_keeps_mentions_in_step_with_the_text(alice: User, bob: User, ada: User) -> None:
    job = make_generation(alice)
    comment = threads.post(alice, job, "@bob look")
    threads.edit(comment, alice, "@ada look")
    comment.refresh_from_db()
    assert comment.body == "@ada look" and comment.edited_at is not None
    assert mentioned(comment) == {"ada"}


def test_only_the_author_edits(alice: User, bob: User) -> None:
    comment = threads.post(alice, make_generation(alice), "mine")
    with pytest.raises(PermissionError):
        threads.edit(comment, bob, "theirs")
    comment.refresh_from_db()
    assert comment.body == "mine"


def test_the_author_and_team_admins_delete_others_do_not(
    team_a: Team, alice: User, bob: User, vera: User, ada: User
) -> None:
    job = make_generation(alice)
    by_bob = threads.post(bob, job, "one")
    by_vera = threads.post(vera, job, "two")
    assert not threads.delete(by_bob, Membership.objects.get(user=alice, team=team_a))
    assert threads.delete(by_bob, Membership.objects.get(user=bob, team=team_a))
    assert threads.delete(by_vera, Membership.objects.get(user=ada, team=team_a))
    assert not Comment.objects.exists()


def test_counts_for_counts_every_thread_of_each_job_in_one_query(
    alice: User, bob: User, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    first, second, silent = make_generation(alice), make_generation(alice), make_generation(alice)
    threads.post(bob, first, "a")
    threads.post(bob, first, "b", image=fake_result(first))
    threads.post(alice, second, "c")
    with django_assert_num_queries(1):
        counts = threads.counts_for([first.pk, second.pk, silent.pk])
    assert counts == {first.pk: 2, second.pk: 1}
    assert threads.counts_for([]) == {}


def told(user: User) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(recipient=user).order_by("id").values_list("kind", "excerpt")
    )


def test_a_mention_notifies_the_person_named_with_the_start_of_the_text(
    alice: User, bob: User, ada: User
) -> None:
    job = make_generation(alice)
    threads.post(alice, job, "@bob what do you think?\n" + "x" * 300)
    [(kind, excerpt)] = told(bob)
    assert kind == Kind.MENTION and excerpt.startswith("@bob what do you think?")
    assert len(excerpt) <= 200
    assert told(ada) == [] and told(alice) == []


def test_a_reply_notifies_everyone_who_wrote_in_the_thread_before_once(
    alice: User, bob: User, vera: User, ada: User
) -> None:
    job = make_generation(alice)
    image = fake_result(job)
    threads.post(bob, job, "first")
    threads.post(vera, job, "second")
    threads.post(ada, job, "on the image", image=image)  # another thread
    threads.post(alice, job, "thanks @vera")
    # vera's reply, then alice's.
    assert [kind for kind, _ in told(bob)] == [Kind.REPLY, Kind.REPLY]
    # Named and an earlier writer: one notification, the mention.
    assert [kind for kind, _ in told(vera)] == [Kind.MENTION]
    assert told(ada) == []


def test_an_edit_notifies_only_the_newly_named(alice: User, bob: User, ada: User) -> None:
    job = make_generation(alice)
    comment = threads.post(alice, job, "@bob look")
    threads.edit(comment, alice, "@bob and @ada look")
    assert len(told(bob)) == 1 and [kind for kind, _ in told(ada)] == [Kind.MENTION]


def test_nobody_outside_the_job_is_told_anything(alice: User, bob: User, charlie: User) -> None:
    private = make_generation(alice, private=True)
    threads.post(bob, make_generation(alice), "hi @charlie")
    threads.post(alice, private, "@bob @charlie")
    assert told(charlie) == [] and told(bob) == []


def test_an_admin_deleting_someone_elses_comment_is_in_the_audit_log(
    team_a: Team, alice: User, bob: User, ada: User
) -> None:
    job = make_generation(alice)
    own = threads.post(ada, job, "mine")
    threads.delete(own, Membership.objects.get(user=ada, team=team_a))
    assert not AuditEntry.objects.exists()  # one's own: no moderation
    theirs = threads.post(bob, job, "rude words")
    threads.delete(theirs, Membership.objects.get(user=ada, team=team_a))
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.team) == (Action.COMMENT_DELETED, ada, team_a)
    # Which job and whose comment, never its words (the audit log keeps no text).
    assert entry.target == f"#{job.number}"
    assert entry.changes == {"author": ["bob", None]}
