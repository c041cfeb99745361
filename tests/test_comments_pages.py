"""The comment threads' pages: posting (htmx and plain forms), what a comment shows,
editing and deleting, the @-autocomplete, the live check, tiles and history filters.
Who may reach each URL: tests/test_access_comments.py."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import User
from django.http.response import HttpResponseBase
from django.test import Client

from playground.comments import threads
from playground.comments.models import Comment
from playground.exports.sources import history_description
from playground.generations.history import HistoryFilter
from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from tests.conftest import member
from tests.factories import fake_result, make_generation, png_bytes

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def finished_job(owner: User, **fields: object) -> Generation:
    job = make_generation(owner, state=State.COMPLETED, **fields)
    save_result(job, 0, png_bytes())
    return job


def text(response: HttpResponseBase) -> str:
    return response.content.decode()


def test_a_plain_form_posts_and_returns_to_the_thread_on_the_jobs_page(
    alice: User, vera_client: Client
) -> None:
    job = finished_job(alice)
    page = f"/generations/{job.public_id}/"
    response = vera_client.post(f"{page}comments/", {"body": "Lovely", "next": page})
    assert response.status_code == 302
    assert response["Location"] == f"{page}#thread-j{job.pk}"
    assert Comment.objects.get().body == "Lovely"
    assert "Lovely" in text(vera_client.get(page))


def test_with_htmx_the_thread_answers_with_itself_and_an_empty_box(
    alice: User, bob_client: Client
) -> None:
    job = finished_job(alice)
    image = job.images.get()
    response = bob_client.post(f"/images/{image.pk}/comments/", {"body": "crop it"}, **HTMX)
    html = text(response)
    assert response.status_code == 200
    assert f'id="thread-i{image.pk}"' in html and "crop it" in html
    assert re.search(r"<textarea[^>]*>\s*</textarea>", html)
    assert "Posted." in html


def test_an_empty_comment_says_why_and_a_too_long_one_keeps_its_text(
    alice: User, alice_client: Client
) -> None:
    job = finished_job(alice)
    url = f"/generations/{job.public_id}/comments/"
    empty = alice_client.post(url, {"body": "   "})
    assert empty.status_code == 400 and "Write a comment first." in text(empty)
    long_text = "y" * (Comment.BODY_MAX + 10)
    too_long = alice_client.post(url, {"body": long_text}, **HTMX)
    assert "at most 5000 characters" in text(too_long)
    assert long_text in text(too_long)  # nothing the person wrote is lost
    assert 'aria-invalid="true"' in text(too_long)
    assert not Comment.objects.exists()


def test_a_comment_is_plain_text_with_links_mentions_and_line_breaks(
    alice: User, bob: User, alice_client: Client
) -> None:
    job = finished_job(alice)
    threads.post(
        alice,
        job,
        '<script>alert(1)</script> @bob see https://example.com/a?b=1&c=2\n"next" line',
    )
    html = text(alice_client.get(f"/generations/{job.public_id}/"))
    body = html[html.index('class="comment-body"') :]
    body = body[: body.index("</div>")]
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert '<span class="mention" translate="no">@bob</span>' in body
    assert '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow">' in body
    assert "<br>&quot;next&quot; line" in body


def test_the_author_edits_in_place_and_a_bad_edit_keeps_the_text(
    alice: User, alice_client: Client
) -> None:
    comment = threads.post(alice, finished_job(alice), "frist")
    form = alice_client.get(f"/comments/{comment.pk}/edit/", **HTMX)
    assert "data-comment-editing" in text(form) and "frist" in text(form)
    refused = alice_client.post(f"/comments/{comment.pk}/edit/", {"body": ""}, **HTMX)
    assert "Write a comment first." in text(refused)
    saved = alice_client.post(f"/comments/{comment.pk}/edit/", {"body": "first"}, **HTMX)
    assert "first" in text(saved) and "edited" in text(saved)
    assert "data-comment-editing" not in text(saved)
    comment.refresh_from_db()
    assert comment.body == "first"


def test_a_team_admin_deletes_a_colleagues_comment(
    alice: User, bob: User, ada_client: Client, alice_client: Client
) -> None:
    job = finished_job(alice)
    comment = threads.post(bob, job, "off topic")
    page = text(ada_client.get(f"/generations/{job.public_id}/"))
    assert f'action="/comments/{comment.pk}/delete/"' in page
    assert f"/comments/{comment.pk}/edit/" not in page  # only its author edits
    assert f'action="/comments/{comment.pk}/delete/"' not in text(
        alice_client.get(f"/generations/{job.public_id}/")
    )
    response = ada_client.post(f"/comments/{comment.pk}/delete/", **HTMX)
    assert response.status_code == 200 and response.content == b""
    assert not Comment.objects.exists()


def people(client: Client, query: str) -> list[str]:
    response = client.get(f"/t/a/comments/people/{query}")
    assert response.status_code == 200
    return [p["username"] for p in json.loads(response.content)["people"]]


def test_the_autocomplete_offers_only_the_teams_members(
    alice: User, bob: User, vera: User, ada: User, charlie: User, alice_client: Client
) -> None:
    member("bobby", charlie.memberships.get().team)  # another team's
    assert people(alice_client, "?q=b") == ["bob"]
    assert people(alice_client, "?q=") == ["ada", "bob", "vera"]  # never oneself
    assert people(alice_client, "?q=char") == []
    assert people(alice_client, "?q=@V") == ["vera"]


def test_on_an_only_me_job_the_autocomplete_offers_nobody_else(
    alice: User, bob: User, alice_client: Client
) -> None:
    private = finished_job(alice, private=True)
    assert people(alice_client, f"?job={private.public_id}&q=") == []
    assert people(alice_client, f"?job={finished_job(alice).public_id}&q=") == ["bob"]


def test_the_live_check_is_empty_until_a_thread_changes(
    alice: User, bob: User, alice_client: Client, bob_client: Client
) -> None:
    job = finished_job(alice)
    image = job.images.get()
    stamps = threads.stamps_for([job.pk], [image.pk])
    query = f"?t=j{job.pk}:{stamps[f'j{job.pk}']}&t=lightbox-~i{image.pk}:{stamps[f'i{image.pk}']}"
    assert alice_client.get(f"/comments/live/{query}").status_code == 204
    threads.post(bob, job, "new idea", image=image)
    response = alice_client.get(f"/comments/live/{query}")
    html = text(response)
    assert response.status_code == 200
    assert f'id="lightbox-comments-i{image.pk}"' in html and "new idea" in html
    assert f'id="comments-j{job.pk}"' not in html  # unchanged: not sent


def test_the_live_check_never_names_a_thread_the_person_may_not_see(
    alice: User, bob: User, bob_client: Client
) -> None:
    private = finished_job(alice, private=True)
    threads.post(alice, private, "secret plan")
    assert bob_client.get(f"/comments/live/?t=j{private.pk}:0-0-0").status_code == 204


def test_history_tiles_show_the_jobs_comment_count(
    alice: User, bob: User, alice_client: Client
) -> None:
    job = finished_job(alice)
    finished_job(alice)  # no comments: no count
    threads.post(bob, job, "one")
    threads.post(bob, job, "two", image=job.images.get())
    html = text(alice_client.get("/t/a/history/", **HTMX))
    assert html.count('data-testid="comment-count"') == 1
    assert "2 comments on this job" in html


def test_the_history_filters_jobs_with_comments_and_those_mentioning_me(
    alice: User, bob: User, bob_client: Client
) -> None:
    make_generation(alice, prompt="silent fox")
    talked = make_generation(alice, prompt="talked fox")
    named = make_generation(alice, prompt="named fox")
    threads.post(alice, talked, "nice")
    threads.post(alice, named, "@bob nice")

    def shown(query: str) -> set[str]:
        html = text(bob_client.get(f"/t/a/history/{query}", **HTMX))
        return {p for p in ("silent fox", "talked fox", "named fox") if p in html}

    assert shown("") == {"silent fox", "talked fox", "named fox"}
    assert shown("?comments=any") == {"talked fox", "named fox"}
    assert shown("?comments=me") == {"named fox"}
    assert shown("?comments=nonsense") == {"silent fox", "talked fox", "named fox"}


def test_compare_shows_each_images_thread(alice: User, bob: User, bob_client: Client) -> None:
    first, second = finished_job(alice), finished_job(bob)
    threads.post(alice, first, "the left one", image=first.images.get())
    html = text(
        bob_client.get(f"/compare/?images={first.images.get().pk},{second.images.get().pk}")
    )
    assert "the left one" in html and html.count("data-comment-thread=") == 2


def test_a_job_page_shows_the_job_thread_and_one_per_image(
    alice: User, alice_client: Client
) -> None:
    job = finished_job(alice)
    fake_result(job, 1)
    html = text(alice_client.get(f"/generations/{job.public_id}/"))
    assert html.count("data-comment-thread=") == 3
    assert html.count(">Post comment</button>") == 3


def test_a_history_export_says_which_comments_filter_it_followed() -> None:
    assert "mentioning me" in history_description(HistoryFilter(comments="me"))
    assert "with comments" in history_description(HistoryFilter(comments="any"))


def test_a_filtered_history_without_the_comments_ids_is_a_mistake_not_a_silent_no_op(
    alice: User,
) -> None:
    with pytest.raises(ValueError):
        HistoryFilter(comments="any").apply(Generation.objects.all(), alice, [])
