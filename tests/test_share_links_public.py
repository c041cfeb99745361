"""Share links, the public side: /s/<token>/ and its images and ZIP, for anyone with
the address and nobody else. What a link shows is decided when it is opened."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from playground.generations.models import Generation
from playground.reviews.models import ImageReview, ReviewStatus
from playground.sharing.models import ShareLink
from tests.share_links import job_with_images, share_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(alice: User) -> Generation:
    return job_with_images(alice, 2, prompt="a secret campaign prompt")


@pytest.fixture
def link(alice_client: Client, job: Generation) -> ShareLink:
    return share_job(alice_client, job, title="Spring", note="Line one\nline two")


def test_anyone_with_the_address_sees_the_images_and_nothing_else(
    link: ShareLink, job: Generation
) -> None:
    response = Client().get(f"/s/{link.token}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Spring" in page and "Line one<br>line two" in page
    assert f'src="/s/{link.token}/images/1"' in page and f'src="/s/{link.token}/images/2"' in page
    assert f'href="/s/{link.token}/images/1/download"' in page
    assert f'href="/s/{link.token}/images.zip"' in page
    for secret in ("a secret campaign prompt", "alice", "Team A", str(job.public_id)):
        assert secret not in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]


def test_prompts_and_names_only_when_ticked(alice_client: Client, job: Generation) -> None:
    link = share_job(alice_client, job, show_prompts="on", show_names="on")
    page = Client().get(f"/s/{link.token}/").content.decode()
    assert page.count("a secret campaign prompt") == 2
    assert "by alice" in page


def test_each_image_and_its_download_are_the_archived_bytes(
    link: ShareLink, job: Generation
) -> None:
    client = Client()
    second = job.images.get(index=1)
    with second.file.open("rb") as stored:
        original = stored.read()
    shown = client.get(f"/s/{link.token}/images/2")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert b"".join(shown.streaming_content) == original
    assert shown["X-Robots-Tag"] == "noindex, nofollow"
    assert shown["Cache-Control"] == "private, max-age=600"
    download = client.get(f"/s/{link.token}/images/2/download")
    assert download["Content-Disposition"] == 'attachment; filename="spring-2.png"'
    assert download["Cache-Control"] == "private, no-store"
    assert b"".join(download.streaming_content) == original


def test_the_zip_holds_every_image_shown(link: ShareLink, job: Generation) -> None:
    response = Client().get(f"/s/{link.token}/images.zip")
    assert response["Content-Disposition"] == 'attachment; filename="spring.zip"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["spring-1.png", "spring-2.png"]
    with job.images.get(index=0).file.open("rb") as stored:
        assert archive.read("spring-1.png") == stored.read()


def test_no_other_image_by_changing_a_number_or_the_token(
    alice_client: Client, alice: User, link: ShareLink
) -> None:
    other = share_job(alice_client, job_with_images(alice, 3))
    client = Client()
    assert client.get(f"/s/{link.token}/images/3").status_code == 404
    assert client.get(f"/s/{other.token}/images/3").status_code == 200
    assert client.get(f"/s/{link.token}/images/99999999999999999999").status_code == 404
    assert client.get(f"/s/{link.token[:-1]}x/").status_code == 404
    assert client.get("/s/not-a-token/images/1").status_code == 404


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_revoked_or_expired_link_is_the_plain_404(link: ShareLink, ada: User, how: str) -> None:
    if how == "revoked":
        link.revoke(ada)
    else:
        ShareLink.objects.filter(pk=link.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
    client = Client()
    for suffix in ("", "images/1", "images/1/download", "images.zip"):
        response = client.get(f"/s/{link.token}/{suffix}")
        assert response.status_code == 404, suffix
    page = client.get(f"/s/{link.token}/").content.decode()
    assert 'data-testid="error-404"' in page
    assert "Spring" not in page and "Team A" not in page
    # The client of a share link has no account: no way into the studio.
    assert "Back to the studio" not in page


def test_a_signed_in_person_keeps_the_way_back_to_the_studio_on_a_404(
    charlie_client: Client,
) -> None:
    page = charlie_client.get("/s/no-such-token/").content.decode()
    assert 'data-testid="error-404"' in page and "Back to the studio" in page


def test_a_link_works_through_its_last_day(alice_client: Client, job: Generation) -> None:
    link = share_job(alice_client, job, expires_on=timezone.localdate().isoformat())
    assert Client().get(f"/s/{link.token}/").status_code == 200
    assert link.expires_at is not None and link.expires_at > timezone.now()


def test_a_password_guards_the_page_and_every_image(alice_client: Client, job: Generation) -> None:
    link = share_job(alice_client, job, password="open sesame")
    client = Client()
    page = client.get(f"/s/{link.token}/")
    assert page.status_code == 200 and 'name="password"' in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert 'src="/s/' not in page.content.decode()
    for suffix in ("images/1", "images/1/download", "images.zip"):
        assert client.get(f"/s/{link.token}/{suffix}").status_code == 404
    wrong = client.post(f"/s/{link.token}/", {"password": "open says me"})
    assert "That is not the password of this page." in wrong.content.decode()
    right = client.post(f"/s/{link.token}/", {"password": "open sesame"})
    assert right.status_code == 302 and right["Location"] == f"/s/{link.token}/"
    assert f'src="/s/{link.token}/images/1"' in client.get(f"/s/{link.token}/").content.decode()
    assert client.get(f"/s/{link.token}/images/1").status_code == 200
    # Another browser has not typed it.
    assert Client().get(f"/s/{link.token}/images/1").status_code == 404


@override_settings(SHARE_LINK_PASSWORD_TRIES=3)
def test_passwords_tried_are_limited_per_address(alice_client: Client, job: Generation) -> None:
    link = share_job(alice_client, job, password="open sesame")
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert client.post(f"/s/{link.token}/", {"password": "guess-guess"}).status_code == 200
    # The fourth try is refused, the right password too.
    refused = client.post(f"/s/{link.token}/", {"password": "open sesame"})
    assert refused.status_code == 429
    assert (
        Client(REMOTE_ADDR="203.0.113.8")
        .post(f"/s/{link.token}/", {"password": "open sesame"})
        .status_code
        == 302
    )


@override_settings(SHARE_LINK_REQUESTS_PER_MINUTE=3)
def test_requests_are_limited_per_address(link: ShareLink) -> None:
    client = Client(REMOTE_ADDR="203.0.113.7")
    assert client.get(f"/s/{link.token}/").status_code == 200
    assert client.get(f"/s/{link.token}/images/1").status_code == 200
    # A wrong token counts as well: walking tokens is what the limit stops.
    assert client.get("/s/guess/").status_code == 404
    limited = client.get(f"/s/{link.token}/")
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert "Too many requests" in limited.content.decode()
    assert "Spring" not in limited.content.decode()
    # A header the client writes itself does not make it another address.
    spoofed = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert spoofed.get(f"/s/{link.token}/").status_code == 429
    assert Client(REMOTE_ADDR="203.0.113.8").get(f"/s/{link.token}/").status_code == 200


def test_page_views_are_counted_not_image_fetches(alice_client: Client, link: ShareLink) -> None:
    client = Client()
    client.get(f"/s/{link.token}/")
    client.get(f"/s/{link.token}/")
    client.get(f"/s/{link.token}/images/1")
    client.get(f"/s/{link.token}/images.zip")
    link.refresh_from_db()
    assert link.view_count == 2 and link.last_viewed_at is not None
    page = alice_client.get(f"/t/a/share-links/{link.pk}/").content.decode()
    assert 'data-testid="share-views">2' in page


def test_an_image_hidden_or_deleted_leaves_every_link_at_once(
    alice_client: Client, alice: User, link: ShareLink, job: Generation
) -> None:
    other = job_with_images(alice, 1)
    second = share_job(alice_client, other)
    client = Client()
    job.set_private(True)
    page = client.get(f"/s/{link.token}/").content.decode()
    assert 'data-testid="shared-empty"' in page
    assert client.get(f"/s/{link.token}/images/1").status_code == 404
    assert client.get(f"/s/{link.token}/images.zip").status_code == 404
    job.set_private(False)
    assert client.get(f"/s/{link.token}/images/1").status_code == 200
    assert other.delete_with_files()
    assert client.get(f"/s/{second.token}/images/1").status_code == 404
    assert second.items.count() == 0


def test_approved_only_shows_what_is_approved_when_opened(
    alice_client: Client, job: Generation
) -> None:
    link = share_job(alice_client, job, approved_only="on")
    first, second = job.images.order_by("index")
    ImageReview.objects.create(image=first, status=ReviewStatus.APPROVED)
    ImageReview.objects.create(image=second, status=ReviewStatus.CHANGES_REQUESTED)
    client = Client()
    page = client.get(f"/s/{link.token}/").content.decode()
    assert f"/s/{link.token}/images/1" in page and f"/s/{link.token}/images/2" not in page
    assert client.get(f"/s/{link.token}/images/2").status_code == 404
    ImageReview.objects.filter(image=first).update(status=ReviewStatus.NEEDS_REVIEW)
    assert client.get(f"/s/{link.token}/images/1").status_code == 404


def test_a_signed_in_stranger_sees_the_same_page(charlie_client: Client, link: ShareLink) -> None:
    assert charlie_client.get(f"/s/{link.token}/").status_code == 200
    assert charlie_client.get(f"/s/{link.token}/images/1").status_code == 200
