"""Share links, the team's side: making one from a job, a selection, a collection or a
matrix run (members and admins; viewers 403; strangers 404), its options, the team's
list, and Revoke (the maker and the team's admins)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from playground.audit.models import Action, AuditEntry
from playground.gallery.models import Collection
from playground.generations.models import Generation
from playground.matrix.models import MatrixCell, MatrixRun
from playground.reviews.models import ImageReview, ReviewStatus
from playground.sharing.models import ShareLink
from tests.share_links import job_with_images, share, share_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(alice: User) -> Generation:
    return job_with_images(alice, 2)


def test_share_link_asks_for_the_options_first_and_makes_nothing(
    alice_client: Client, job: Generation
) -> None:
    response = alice_client.post(
        "/t/a/share-links/new/", {"source": "job", "source_id": str(job.public_id)}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-testid="share-source">Job #{job.number}</p>' in page
    assert "A read-only page of these 2 images" in page
    assert 'name="password"' in page and 'name="expires_on"' in page
    assert page.count(">Share link</button>") == 1
    assert not ShareLink.objects.exists()


def test_the_options_say_how_many_images_approved_only_would_show(
    alice_client: Client, job: Generation
) -> None:
    first, second = job.images.order_by("index")
    ImageReview.objects.create(image=first, status=ReviewStatus.APPROVED)
    ImageReview.objects.create(image=second, status=ReviewStatus.CHANGES_REQUESTED)
    page = alice_client.post(
        "/t/a/share-links/new/", {"source": "job", "source_id": str(job.public_id)}
    ).content.decode()
    hint = re.search(r'data-testid="share-approved-count">([^<]*)<', page)
    assert hint and hint.group(1).startswith("1 of 2 images are approved now.")


def test_a_member_shares_a_job_and_gets_its_address_to_copy(
    alice_client: Client, alice: User, job: Generation
) -> None:
    link = share_job(alice_client, job, title="For the client")
    assert link.team == job.team and link.created_by == alice
    assert len(link.token) >= 43
    assert [item.image.index for item in link.items.all()] == [0, 1]
    assert [item.position for item in link.items.all()] == [1, 2]
    page = alice_client.get(f"/t/a/share-links/{link.pk}/").content.decode()
    field = re.search(r'<input id="share-address" type="text" readonly value="([^"]+)"', page)
    assert field is not None
    assert field.group(1) == f"http://testserver/s/{link.token}/"
    assert ">Revoke</button>" in page


def test_the_options_are_kept_and_the_password_only_as_a_hash(
    alice_client: Client, job: Generation
) -> None:
    day = timezone.localdate() + timedelta(days=3)
    link = share_job(
        alice_client,
        job,
        title="Spring campaign",
        note="Two options\nfor Monday",
        show_prompts="on",
        show_names="on",
        approved_only="on",
        expires_on=day.isoformat(),
        password="open sesame",
    )
    assert (link.title, link.note) == ("Spring campaign", "Two options\nfor Monday")
    assert link.show_prompts and link.show_names and link.approved_only
    assert link.expires_at is not None
    assert timezone.localtime(link.expires_at).date() == day + timedelta(days=1)
    assert "open sesame" not in link.password
    assert link.check_password("open sesame") and not link.check_password("open")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expires_on", "2001-01-01", "Choose today or a later day: this one is past."),
        ("expires_on", "someday", "Enter a date such as 2026-12-31."),
        ("password", "abc", "A password has at least 6 characters."),
        ("title", "x" * 201, "Ensure this value has at most 200 characters"),
    ],
)
def test_bad_options_are_said_and_nothing_typed_is_lost(
    alice_client: Client, job: Generation, field: str, value: str, message: str
) -> None:
    fields = {
        "source": "job",
        "source_id": str(job.public_id),
        "title": "Kept title",
        "note": "Kept note",
        "password": "kept-password",
        "expires_on": "",
        field: value,
    }
    response = alice_client.post("/t/a/share-links/create/", fields)
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    for name in ("title", "password"):
        if name != field:
            assert f'value="{fields[name]}"' in page
    if field != "note":
        assert "Kept note" in page
    assert f'name="source_id" value="{job.public_id}"' in page
    assert not ShareLink.objects.exists()


def test_a_viewer_may_not_share(vera_client: Client, job: Generation) -> None:
    fields = {"source": "job", "source_id": str(job.public_id)}
    assert vera_client.post("/t/a/share-links/new/", fields).status_code == 403
    assert vera_client.post("/t/a/share-links/create/", fields).status_code == 403
    assert ">Share link<" not in vera_client.get(f"/generations/{job.public_id}/").content.decode()


def test_a_job_of_another_team_is_not_found(charlie_client: Client, job: Generation) -> None:
    fields = {"source": "job", "source_id": str(job.public_id)}
    assert charlie_client.post("/t/b/share-links/create/", fields).status_code == 404
    assert charlie_client.post("/t/a/share-links/create/", fields).status_code == 404
    assert not ShareLink.objects.exists()


def test_a_crafted_source_is_a_bad_request(alice_client: Client) -> None:
    response = alice_client.post("/t/a/share-links/new/", {"source": "history"})
    assert response.status_code == 400


def test_a_colleagues_only_me_job_is_not_found(bob_client: Client, alice: User) -> None:
    private = job_with_images(alice, 1, private=True)
    fields = {"source": "job", "source_id": str(private.public_id)}
    assert bob_client.post("/t/a/share-links/new/", fields).status_code == 404


def test_only_me_images_stay_out_even_for_their_maker(
    alice_client: Client, alice: User, job: Generation
) -> None:
    private = job_with_images(alice, 1, private=True)
    chosen = [private.images.get().pk, job.images.get(index=1).pk]
    response = alice_client.post("/t/a/share-links/new/", {"source": "selection", "image": chosen})
    assert "1 “Only me” image stays out" in response.content.decode()
    link = share(alice_client, "a", source="selection", image=chosen)
    assert [item.image_id for item in link.items.all()] == [chosen[1]]


def test_nothing_to_share_goes_back_with_a_message(alice_client: Client, alice: User) -> None:
    private = job_with_images(alice, 1, private=True)
    response = alice_client.post(
        "/t/a/share-links/create/",
        {"source": "job", "source_id": str(private.public_id)},
        follow=True,
    )
    assert "“Only me” images are not shared" in response.content.decode()
    assert not ShareLink.objects.exists()


def test_an_empty_selection_asks_for_a_tick(alice_client: Client, job: Generation) -> None:
    response = alice_client.post(
        "/t/a/share-links/new/",
        {"source": "selection", "next": f"/generations/{job.public_id}/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"/generations/{job.public_id}/"
    assert "Tick at least one image to share it." in response.content.decode()


def test_a_selection_is_shared_in_its_order(
    bob_client: Client, alice: User, job: Generation
) -> None:
    other = job_with_images(alice, 1)
    chosen = [other.images.get().pk, job.images.get(index=1).pk, job.images.get(index=0).pk]
    link = share(bob_client, "a", source="selection", image=chosen)
    assert [item.image_id for item in link.items.all()] == chosen
    assert link.description == "Selection of 3 images"


def test_a_selection_naming_another_teams_image_is_404(
    alice_client: Client, charlie: User, job: Generation
) -> None:
    theirs = job_with_images(charlie, 1)
    response = alice_client.post(
        "/t/a/share-links/create/",
        {"source": "selection", "image": [job.images.first().pk, theirs.images.get().pk]},
    )
    assert response.status_code == 404
    assert not ShareLink.objects.exists()


def test_a_collection_is_shared(alice_client: Client, alice: User, job: Generation) -> None:
    collection = Collection.objects.create(team=job.team, name="Picks", created_by=alice)
    for image in job.images.all():
        collection.items.create(image=image)
    page = alice_client.get(f"/t/a/collections/{collection.pk}/").content.decode()
    assert 'name="source" value="collection"' in page and ">Share link</button>" in page
    link = share(alice_client, "a", source="collection", source_id=str(collection.pk))
    assert link.items.count() == 2
    assert link.description == "Collection “Picks”"


def test_a_matrix_run_is_shared(alice_client: Client, alice: User, job: Generation) -> None:
    run = MatrixRun.objects.create(
        team=job.team, created_by=alice, client_token=uuid.uuid4(), text="fox"
    )
    MatrixCell.objects.create(
        run=run, generation=job, row=0, column=0, row_label="a", column_label="b"
    )
    page = alice_client.get(f"/t/a/runs/{run.public_id}/").content.decode()
    assert 'name="source" value="run"' in page and ">Share link</button>" in page
    link = share(alice_client, "a", source="run", source_id=str(run.pk))
    assert link.items.count() == 2


def test_the_job_page_and_the_selection_bar_offer_share_link(
    alice_client: Client, job: Generation
) -> None:
    page = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert 'name="source" value="job"' in page and ">Share link</button>" in page
    studio = alice_client.get("/t/a/").content.decode()
    assert 'data-testid="selection-share"' in studio


def test_admins_see_every_link_of_the_team_others_their_own(
    alice_client: Client, bob_client: Client, ada_client: Client, job: Generation
) -> None:
    alices = share_job(alice_client, job, title="Alice's")
    bobs = share_job(bob_client, job, title="Bob's")
    listed = ada_client.get("/t/a/share-links/").content.decode()
    assert "Alice&#x27;s" in listed and "Bob&#x27;s" in listed
    mine = alice_client.get("/t/a/share-links/").content.decode()
    assert "Alice&#x27;s" in mine and "Bob&#x27;s" not in mine
    assert alice_client.get(f"/t/a/share-links/{bobs.pk}/").status_code == 404
    assert ada_client.get(f"/t/a/share-links/{alices.pk}/").status_code == 200
    members = ada_client.get("/t/a/members/").content.decode()
    assert 'href="/t/a/share-links/"' in members


def test_the_maker_and_admins_revoke_and_nobody_else(
    alice_client: Client,
    bob_client: Client,
    ada_client: Client,
    alice: User,
    ada: User,
    job: Generation,
) -> None:
    link = share_job(alice_client, job)
    assert bob_client.post(f"/t/a/share-links/{link.pk}/revoke/").status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None
    response = ada_client.post(f"/t/a/share-links/{link.pk}/revoke/", follow=True)
    assert "The link is revoked" in response.content.decode()
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == ada
    revoked_at = link.revoked_at
    # Pressed again (another tab): nothing changes.
    assert alice_client.post(f"/t/a/share-links/{link.pk}/revoke/").status_code == 302
    link.refresh_from_db()
    assert link.revoked_at == revoked_at and link.revoked_by == ada
    page = alice_client.get(f"/t/a/share-links/{link.pk}/").content.decode()
    assert "share-address" not in page and ">Revoked<" in page


def test_revoke_from_the_list_returns_to_the_list(ada_client: Client, job: Generation) -> None:
    link = share_job(ada_client, job)
    response = ada_client.post(f"/t/a/share-links/{link.pk}/revoke/", {"next": "/t/a/share-links/"})
    assert response["Location"] == "/t/a/share-links/"
    assert ShareLink.objects.get().revoked_at is not None


def test_an_expired_link_says_so_to_the_team(alice_client: Client, job: Generation) -> None:
    link = share_job(alice_client, job)
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = alice_client.get(f"/t/a/share-links/{link.pk}/").content.decode()
    assert ">Expired<" in page and "share-address" not in page


def test_making_and_revoking_a_link_are_in_the_audit_log(
    alice_client: Client, ada_client: Client, alice: User, ada: User, job: Generation
) -> None:
    link = share_job(alice_client, job, title="For Sam", password="open sesame")
    made = AuditEntry.objects.get(action=Action.SHARE_LINK_CREATED)
    assert (made.team, made.actor, made.target) == (
        job.team,
        alice,
        f"For Sam (share link {link.pk})",
    )
    assert made.changes["images"] == [None, 2]
    assert made.changes["password"] == [None, "[hidden]"]
    assert link.token not in str(made.changes) and link.token not in made.target
    ada_client.post(f"/t/a/share-links/{link.pk}/revoke/")
    ada_client.post(f"/t/a/share-links/{link.pk}/revoke/")
    revoked = AuditEntry.objects.get(action=Action.SHARE_LINK_REVOKED)
    assert (revoked.team, revoked.actor) == (job.team, ada)
