"""Reviews: the reviewer right, who may ask and decide, what is kept, whom it tells,
and the review queue.

Personas (tests/conftest.py): alice and bob are members of team A, vera a viewer, ada
its admin; charlie belongs to team B only.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.comments import threads
from playground.generations.models import Generation, HistoryClock, ResultImage, State
from playground.notifications import events
from playground.notifications.models import Kind
from playground.reviews import decisions, queue
from playground.reviews.models import ImageReview, ReviewEvent, ReviewStatus
from playground.teams.models import Membership, Team
from tests.conftest import logged_in
from tests.factories import fake_result, make_generation

pytestmark = pytest.mark.django_db


def image_of(owner: User, *, private: bool = False, n: int = 1) -> ResultImage:
    job = make_generation(owner, state=State.COMPLETED, private=private, n=n)
    for index in range(1, n):
        fake_result(job, index)
    return fake_result(job, 0)


def make_reviewer(user: User) -> None:
    Membership.objects.filter(user=user).update(reviewer=True)


@pytest.fixture
def told(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every notification the reviews asked for (the bell is tested with it)."""
    calls: list[dict[str, Any]] = []

    def record(recipient: User, kind: Kind, **rest: Any) -> None:
        calls.append({"to": recipient.username, "kind": kind, **rest})

    monkeypatch.setattr(events, "notify", record)
    return calls


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every comment a decision's note became."""
    calls: list[dict[str, Any]] = []

    def record(
        author: User, generation: Generation, body: str, image: Any = None, told: Any = ()
    ) -> None:
        calls.append(
            {"author": author.username, "job": generation.pk, "body": body, "image": image}
        )

    monkeypatch.setattr(threads, "post", record)
    return calls


# --- The reviewer right --------------------------------------------------------------


def test_an_admin_gives_and_takes_the_reviewer_right_on_the_team_page(
    ada_client: Client, vera: User
) -> None:
    membership = Membership.objects.get(user=vera)
    url = f"/t/a/members/{membership.pk}/role/"
    response = ada_client.post(url, {"role": "viewer", "reviewer": "on"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.reviewer and membership.role == "viewer"
    page = ada_client.get("/t/a/members/").content.decode()
    assert 'data-testid="reviewer-vera" checked' in page
    # The row's form without the box ticked takes the right away.
    ada_client.post(url, {"role": "viewer"})
    membership.refresh_from_db()
    assert not membership.reviewer


def test_only_an_admin_gives_the_reviewer_right(bob_client: Client, bob: User) -> None:
    membership = Membership.objects.get(user=bob)
    response = bob_client.post(
        f"/t/a/members/{membership.pk}/role/", {"role": "member", "reviewer": "on"}
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert not membership.reviewer


def test_who_may_decide_admins_and_reviewers_of_any_role(
    alice: User, bob: User, vera: User, ada: User, charlie: User
) -> None:
    image = image_of(alice)
    membership = {u.username: Membership.objects.filter(user=u).first() for u in (bob, vera, ada)}
    assert decisions.may_decide(membership["ada"], image)
    assert not decisions.may_decide(membership["bob"], image)
    assert not decisions.may_decide(membership["vera"], image)
    make_reviewer(vera)
    assert decisions.may_decide(Membership.objects.get(user=vera), image)
    # Another team's reviewer decides nothing here.
    make_reviewer(charlie)
    assert not decisions.may_decide(Membership.objects.get(user=charlie), image)


# --- Requesting ----------------------------------------------------------------------


def test_the_maker_requests_a_review_from_a_named_reviewer_who_is_told(
    alice: User, alice_client: Client, vera: User, ada: User, told: list[dict[str, Any]]
) -> None:
    make_reviewer(vera)
    image = image_of(alice)
    clock = HistoryClock.read(image.generation.team_id)
    response = alice_client.post(
        f"/images/{image.pk}/review/request/", {"reviewer": vera.pk, "next": "/t/a/"}
    )
    assert response.status_code == 302 and response["Location"] == "/t/a/"
    review = ImageReview.objects.get(image=image)
    assert review.status == ReviewStatus.NEEDS_REVIEW
    assert (review.requested_by, review.reviewer, review.decided_at) == (alice, vera, None)
    assert [(c["to"], c["kind"]) for c in told] == [("vera", Kind.REVIEW_REQUESTED)]
    assert told[0]["image"] == image and told[0]["actor"] == alice
    # Open histories redraw the tile's badge at their next live check.
    assert HistoryClock.read(image.generation.team_id) > clock


def test_a_request_naming_nobody_tells_every_reviewer_but_the_asker(
    ada: User, bob: User, vera: User, told: list[dict[str, Any]]
) -> None:
    make_reviewer(vera)
    make_reviewer(bob)
    image = image_of(bob)
    decisions.request_review(image, bob)
    assert sorted(c["to"] for c in told) == ["ada", "vera"]


def test_only_the_maker_who_may_generate_requests_a_review(
    alice: User, bob_client: Client, vera_client: Client, charlie_client: Client
) -> None:
    image = image_of(alice)
    url = f"/images/{image.pk}/review/request/"
    assert bob_client.post(url).status_code == 403
    assert vera_client.post(url).status_code == 403
    assert charlie_client.post(url).status_code == 404
    assert not ImageReview.objects.exists()


def test_a_reviewer_who_is_not_one_is_refused_and_the_choice_kept(
    alice: User, alice_client: Client, bob: User, told: list[dict[str, Any]]
) -> None:
    image = image_of(alice)
    response = alice_client.post(f"/images/{image.pk}/review/request/", {"reviewer": bob.pk})
    assert response.status_code == 400
    assert "Choose one of the team&#x27;s reviewers" in response.content.decode()
    assert not ImageReview.objects.exists() and not told


def test_an_only_me_image_cannot_be_put_up_for_review(alice: User) -> None:
    image = image_of(alice, private=True)
    with pytest.raises(decisions.ReviewRefused, match="Only me"):
        decisions.request_review(image, alice)


# --- Deciding ------------------------------------------------------------------------


def test_a_reviewer_approves_and_the_maker_is_told(
    alice: User, vera: User, told: list[dict[str, Any]], posted: list[dict[str, Any]]
) -> None:
    make_reviewer(vera)
    image = image_of(alice)
    decisions.request_review(image, alice, vera)
    told.clear()
    vera_client = logged_in(vera)
    response = vera_client.post(f"/images/{image.pk}/review/decide/", {"status": "approved"})
    assert response.status_code == 302
    review = ImageReview.objects.get(image=image)
    assert (review.status, review.decided_by) == (ReviewStatus.APPROVED, vera)
    assert review.decided_at is not None and review.requested_by == alice
    assert [(c["to"], c["kind"], c["detail"]) for c in told] == [
        ("alice", Kind.REVIEW_DECIDED, "approved")
    ]
    assert posted == []  # no note, no comment


def test_a_note_with_requested_changes_becomes_a_comment_on_the_image(
    alice: User, ada: User, told: list[dict[str, Any]], posted: list[dict[str, Any]]
) -> None:
    image = image_of(alice)
    decisions.decide(image, ada, ReviewStatus.CHANGES_REQUESTED, "  Warmer light, @alice  ")
    assert posted == [
        {
            "author": "ada",
            "job": image.generation_id,
            "body": "Warmer light, @alice",
            "image": image,
        }
    ]
    assert told[0]["excerpt"] == "Warmer light, @alice"
    assert told[0]["detail"] == "changes_requested"


def test_members_without_the_right_cannot_decide(
    alice: User, bob_client: Client, vera_client: Client, charlie_client: Client
) -> None:
    image = image_of(alice)
    url = f"/images/{image.pk}/review/decide/"
    assert bob_client.post(url, {"status": "approved"}).status_code == 403
    assert vera_client.post(url, {"status": "approved"}).status_code == 403
    assert charlie_client.post(url, {"status": "approved"}).status_code == 404
    assert not ImageReview.objects.exists()


def test_a_note_too_long_is_refused_where_it_was_typed_and_kept(
    alice: User, ada_client: Client, told: list[dict[str, Any]]
) -> None:
    image = image_of(alice)
    note = "x" * (decisions.NOTE_MAX + 1)
    response = ada_client.post(
        f"/images/{image.pk}/review/decide/", {"status": "approved", "note": note}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "The note is too long" in page and note in page
    # With htmx: the panel again (200, so htmx swaps it), the note still in it.
    response = ada_client.post(
        f"/images/{image.pk}/review/decide/",
        {"status": "approved", "note": note},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200 and note in response.content.decode()
    assert "HX-Trigger" not in response
    assert not ImageReview.objects.exists() and not told


def test_a_decision_by_htmx_answers_the_panel_and_tells_the_page(
    alice: User, ada_client: Client, told: list[dict[str, Any]]
) -> None:
    image = image_of(alice)
    response = ada_client.post(
        f"/images/{image.pk}/review/decide/",
        {"status": "changes_requested"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f'id="review-{image.pk}"' in response.content.decode()
    assert '"review-changed"' in response["HX-Trigger"]
    assert '"changes_requested"' in response["HX-Trigger"]


def test_every_change_is_kept_in_order(alice: User, ada: User, told: list[dict[str, Any]]) -> None:
    image = image_of(alice)
    decisions.request_review(image, alice)
    decisions.decide(image, ada, ReviewStatus.CHANGES_REQUESTED)
    decisions.request_review(image, alice)
    decisions.decide(image, ada, ReviewStatus.APPROVED)
    assert list(
        ReviewEvent.objects.filter(image=image).values_list("status", "actor__username")
    ) == [
        ("needs_review", "alice"),
        ("changes_requested", "ada"),
        ("needs_review", "alice"),
        ("approved", "ada"),
    ]
    # Asking again after a decision clears it.
    decisions.request_review(image, alice)
    review = ImageReview.objects.get(image=image)
    assert (review.status, review.decided_by, review.decided_at) == ("needs_review", None, None)


def test_a_status_that_is_no_decision_is_refused(alice: User, ada: User) -> None:
    image = image_of(alice)
    for status in ("needs_review", "none", "bogus"):
        with pytest.raises(decisions.ReviewRefused):
            decisions.decide(image, ada, status)


# --- The queue -----------------------------------------------------------------------


def test_the_queue_lists_what_awaits_me_oldest_first(
    alice: User, bob: User, vera: User, ada: User, told: list[dict[str, Any]]
) -> None:
    make_reviewer(vera)
    first, second, for_ada, decided = (image_of(alice) for _ in range(4))
    decisions.request_review(second, alice)
    decisions.request_review(first, alice, vera)
    ImageReview.objects.filter(image=first).update(
        requested_at=timezone.now() - timezone.timedelta(hours=1)
    )
    decisions.request_review(for_ada, alice, ada)
    decisions.request_review(decided, alice)
    decisions.decide(decided, ada, ReviewStatus.APPROVED)
    membership = Membership.objects.get(user=vera)
    assert list(queue.awaiting(vera, membership)) == [first, second]
    page = logged_in(vera).get("/t/a/review/").content.decode()
    assert page.index(f'id="review-item-{first.pk}"') < page.index(f'id="review-item-{second.pk}"')
    assert f'id="review-item-{for_ada.pk}"' not in page
    # A member without the right has no queue, but sees what they asked for.
    page = logged_in(alice).get("/t/a/review/").content.decode()
    assert 'data-testid="review-queue"' not in page
    assert 'data-testid="review-asked"' in page


def test_a_request_of_someone_who_lost_the_right_goes_to_every_reviewer(
    alice: User, vera: User, ada: User, told: list[dict[str, Any]]
) -> None:
    make_reviewer(vera)
    image = image_of(alice)
    decisions.request_review(image, alice, vera)
    assert list(queue.awaiting(ada, Membership.objects.get(user=ada))) == []
    Membership.objects.filter(user=vera).update(reviewer=False)
    assert list(queue.awaiting(ada, Membership.objects.get(user=ada))) == [image]


def test_my_own_request_to_anyone_is_not_in_my_queue(
    ada: User, vera: User, told: list[dict[str, Any]]
) -> None:
    image = image_of(ada)
    decisions.request_review(image, ada)
    assert list(queue.awaiting(ada, Membership.objects.get(user=ada))) == []


def test_a_job_made_only_me_after_the_request_leaves_the_queue(
    alice: User, ada: User, told: list[dict[str, Any]]
) -> None:
    image = image_of(alice)
    decisions.request_review(image, alice)
    Generation.objects.filter(pk=image.generation_id).update(private=True)
    assert list(queue.awaiting(ada, Membership.objects.get(user=ada))) == []


def test_the_header_counts_what_awaits_a_reviewer(
    alice: User, ada_client: Client, told: list[dict[str, Any]]
) -> None:
    decisions.request_review(image_of(alice), alice)
    page = ada_client.get("/t/a/members/").content.decode()
    assert 'data-testid="review-link"' in page and "(1 waiting)" in page


def test_the_queue_is_404_for_a_stranger(charlie_client: Client, team_a: Team) -> None:
    assert charlie_client.get("/t/a/review/").status_code == 404


# --- With the real bell and threads ---------------------------------------------------


def test_the_bell_and_the_thread_get_the_review_for_real(alice: User, vera: User) -> None:
    from playground.comments.models import Comment, Mention
    from playground.notifications.models import Notification

    make_reviewer(vera)
    image = image_of(alice)
    decisions.request_review(image, alice, vera)
    decisions.decide(image, vera, ReviewStatus.CHANGES_REQUESTED, "Warmer light, @alice")
    # (The mention in the note is the comments' own notification, tested there.)
    reviews = Notification.objects.filter(
        kind__in=[Kind.REVIEW_REQUESTED, Kind.REVIEW_DECIDED]
    ).order_by("id")
    assert list(reviews.values_list("recipient__username", "kind", "detail", "image")) == [
        ("vera", Kind.REVIEW_REQUESTED, "", image.pk),
        ("alice", Kind.REVIEW_DECIDED, "changes_requested", image.pk),
    ]
    comment = Comment.objects.get()
    assert (comment.author, comment.image, comment.body) == (vera, image, "Warmer light, @alice")
    assert Mention.objects.filter(comment=comment, user=alice).exists()


def test_the_lightbox_offers_each_person_only_what_they_may_do(
    alice: User, alice_client: Client, bob_client: Client, ada_client: Client
) -> None:
    image = image_of(alice)
    request_url = f'data-review-request="/images/{image.pk}/review/request/"'
    decide_url = f'data-review-decide="/images/{image.pk}/review/decide/"'
    mine = alice_client.get("/t/a/").content.decode()
    assert request_url in mine and decide_url not in mine
    theirs = bob_client.get("/t/a/").content.decode()
    assert request_url not in theirs and decide_url not in theirs
    admin = ada_client.get("/t/a/").content.decode()
    assert request_url not in admin and decide_url in admin


def test_a_viewer_sees_no_review_panel_on_an_image_never_reviewed(
    alice: User, vera_client: Client, ada: User, told: list[dict[str, Any]]
) -> None:
    image = image_of(alice)
    url = f"/generations/{image.generation.public_id}/"
    assert 'data-testid="review-panel"' not in vera_client.get(url).content.decode()
    decisions.decide(image, ada, ReviewStatus.APPROVED)
    page = vera_client.get(url).content.decode()
    assert 'data-testid="review-panel"' in page and "Approved" in page
    assert "Request changes" not in page.split('data-testid="review-panel"')[1].split("</div>")[0]
