"""The review status where images are listed and exported: badges on tiles, the
`?review=` filter of the history and of collections, exports narrowed by it, and the
review columns of the ZIP manifests."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.gallery.models import Collection
from playground.generations.models import Generation
from playground.notifications import events
from playground.reviews import decisions
from playground.reviews.models import ReviewStatus
from tests.test_exports import archived, download, exported, manifest_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    # The bell is not what these tests are about (tests/test_reviews.py is).
    monkeypatch.setattr(events, "notify", lambda *args, **kwargs: None)


@pytest.fixture
def three(alice: User, ada: User) -> dict[str, Generation]:
    """alice's jobs: one approved, one with changes requested, one never reviewed."""
    jobs = {
        "approved": archived(alice, prompt="approved fox"),
        "changes": archived(alice, prompt="changes fox"),
        "plain": archived(alice, prompt="plain fox"),
    }
    decisions.request_review(jobs["approved"].images.get(), alice)
    decisions.decide(jobs["approved"].images.get(), ada, ReviewStatus.APPROVED)
    decisions.decide(jobs["changes"].images.get(), ada, ReviewStatus.CHANGES_REQUESTED)
    return jobs


def test_tiles_show_the_review_status(alice_client: Client, three: dict[str, Generation]) -> None:
    page = alice_client.get("/t/a/").content.decode()
    approved = three["approved"].images.get().pk
    assert f'review-approved tile-review" data-review-badge="{approved}">Approved' in page
    assert "Changes requested</span>" in page
    # The lightbox reads the same status from the tile's link.
    assert 'data-review-status="approved"' in page


def test_the_history_filters_by_review_status(
    bob_client: Client, three: dict[str, Generation]
) -> None:
    page = bob_client.get("/t/a/history/?review=approved").content.decode()
    assert "approved fox" in page and "changes fox" not in page and "plain fox" not in page
    assert "1 job matches" in page
    page = bob_client.get("/t/a/history/?review=none").content.decode()
    assert "plain fox" in page and "approved fox" not in page
    # The filter stays in the links the history makes (the live check, the export).
    assert "review=none" in page
    assert '<input type="hidden" name="review" value="none">' in page


def test_an_unknown_review_status_is_dropped(
    bob_client: Client, three: dict[str, Generation]
) -> None:
    page = bob_client.get("/t/a/history/?review=bogus").content.decode()
    assert "approved fox" in page and "plain fox" in page


def test_a_collection_filters_by_review_status(
    alice: User, alice_client: Client, three: dict[str, Generation]
) -> None:
    collection = Collection.objects.create(team=alice.memberships.get().team, name="Picks")
    for job in three.values():
        collection.items.create(image=job.images.get())
    url = f"/t/a/collections/{collection.pk}/"
    page = alice_client.get(url + "?review=changes_requested").content.decode()
    assert page.count('class="collection-item"') == 1
    assert f'data-image="{three["changes"].images.get().pk}"' in page
    assert '<input type="hidden" name="review" value="changes_requested">' in page
    assert alice_client.get(url).content.decode().count('class="collection-item"') == 3
    page = alice_client.get(url + "?review=needs_review").content.decode()
    assert "No image of this collection has that review status." in page


def test_an_export_of_approved_images_only_with_the_review_in_its_manifest(
    alice: User,
    ada: User,
    alice_client: Client,
    three: dict[str, Generation],
    django_capture_on_commit_callbacks: Any,
) -> None:
    export = exported(
        alice_client,
        django_capture_on_commit_callbacks,
        {"source": "history", "review": "approved"},
    )
    assert export.description == "History: every job of the team, review: Approved"
    as_json, as_csv = manifest_of(download(alice_client, export))
    [entry] = as_json["images"]
    review = three["approved"].images.get().review
    assert entry["job_id"] == str(three["approved"].public_id)
    assert entry["review_status"] == "approved"
    assert entry["reviewer"] == "ada"
    assert entry["review_decided_at"] == review.decided_at.isoformat()
    assert as_csv[0]["review_status"] == "approved" and as_csv[0]["reviewer"] == "ada"


def test_a_manifest_says_none_and_who_a_waiting_review_was_asked_of(
    alice: User,
    ada: User,
    alice_client: Client,
    three: dict[str, Generation],
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting = archived(alice, prompt="waiting fox")
    decisions.request_review(waiting.images.get(), alice, ada)
    export = exported(
        alice_client,
        django_capture_on_commit_callbacks,
        {
            "source": "selection",
            "image": [waiting.images.get().pk, three["plain"].images.get().pk],
        },
    )
    rows = manifest_of(download(alice_client, export))[0]["images"]
    assert [(r["review_status"], r["reviewer"], r["review_decided_at"]) for r in rows] == [
        ("needs_review", "ada", None),
        ("none", "", None),
    ]


def test_a_collection_export_keeps_the_collection_review_filter(
    alice: User,
    alice_client: Client,
    three: dict[str, Generation],
    django_capture_on_commit_callbacks: Any,
) -> None:
    collection = Collection.objects.create(team=alice.memberships.get().team, name="Picks")
    for job in three.values():
        collection.items.create(image=job.images.get())
    export = exported(
        alice_client,
        django_capture_on_commit_callbacks,
        {"source": "collection", "source_id": collection.pk, "review": "none"},
    )
    rows = manifest_of(download(alice_client, export))[0]["images"]
    assert [r["job_id"] for r in rows] == [str(three["plain"].public_id)]
