"""Working together in a team: a shared history, "Only me", building on each other's
jobs (lineage), and deleting."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from PIL import Image

from playground.generations.jobs import save_result
from playground.generations.models import Derivation, Generation, GenerationReference, State
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def png(colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def finished(owner: User, prompt: str = "a fox", **fields) -> Generation:  # type: ignore[no-untyped-def]
    job = make_generation(owner, prompt=prompt, state=State.COMPLETED, **fields)
    save_result(job, 0, png())
    return job


def form(**data: str) -> dict[str, str]:
    return {
        "model": "gpt-image-1",
        "prompt": "from the studio",
        "size": "1024x1024",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
        **data,
    }


def items(html: str) -> int:
    return html.count('class="history-item state-')


# --- The shared history ---------------------------------------------------------------


def test_the_team_view_shows_everyone_and_says_who_made_each_job(
    alice: User, bob: User, charlie: User, alice_client: Client
) -> None:
    make_generation(alice, prompt="alice paints")
    make_generation(bob, prompt="bob paints")
    make_generation(charlie, prompt="charlie paints")  # team B
    html = alice_client.get("/t/a/history/").content.decode()
    assert "alice paints" in html and "bob paints" in html and "charlie" not in html
    assert '>by <span translate="no">alice</span><' in html
    assert '>by <span translate="no">bob</span><' in html
    mine = alice_client.get("/t/a/history/?view=mine").content.decode()
    assert "alice paints" in mine and "bob paints" not in mine


def test_filters_combine_and_live_in_the_url(alice: User, bob: User, alice_client: Client) -> None:
    done = State.COMPLETED
    make_generation(bob, prompt="a fox, watercolor style", model="gpt-image-1", state=done)
    make_generation(bob, prompt="a fox in oil", model="gpt-image-1", state=done)
    make_generation(bob, prompt="watercolor fox", model="gpt-image-2", state=State.FAILED)
    make_generation(bob, prompt="watercolor fox, queued", model="gpt-image-1")
    make_generation(alice, prompt="a fox, watercolor", model="gpt-image-1", state=done)
    old = make_generation(
        bob, prompt="fox watercolor of last year", model="gpt-image-1", state=done
    )
    Generation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))

    url = "/t/a/history/?member=bob&model_filter=gpt-image-1&status=completed&q=watercolor+fox"
    today = timezone.localdate().isoformat()
    html = alice_client.get(f"{url}&from={today}&to={today}").content.decode()
    assert items(html) == 1 and "a fox, watercolor style" in html
    assert "1 job matches" in html
    # Words in any order; the old one only without the dates.
    assert items(alice_client.get(url).content.decode()) == 2
    # The page itself opens with the same filters (a link a colleague can follow).
    page = alice_client.get(url.replace("/history/", "/")).content.decode()
    assert items(page) == 2 and 'value="bob" selected' in page
    assert 'value="watercolor fox"' in page
    # Unknown values are ignored rather than refused.
    assert (
        alice_client.get("/t/a/history/?status=nope&model_filter=dall-e&from=x").status_code == 200
    )


def test_a_filter_change_pushes_its_url_and_the_tabs_follow(
    alice: User, alice_client: Client
) -> None:
    response = alice_client.get(
        "/t/a/history/?view=mine&q=fox", HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER="history-filters"
    )
    assert response["HX-Push-Url"] == "/t/a/?view=mine&q=fox"
    html = response.content.decode()
    assert 'id="history-view" class="history-view" hx-swap-oob="true"' in html
    assert 'value="mine" class="tab active" aria-pressed="true"' in html
    # The live check never pushes a URL or swaps the tabs.
    live = alice_client.get("/t/a/history/?view=mine&q=fox", HTTP_HX_REQUEST="true")
    assert "HX-Push-Url" not in live and "hx-swap-oob" not in live.content.decode()


# --- "Only me" ------------------------------------------------------------------------


def test_only_me_jobs_are_invisible_to_colleagues_everywhere(
    alice: User, alice_client: Client, bob_client: Client, ada_client: Client
) -> None:
    secret = finished(alice, prompt="a private sketch", private=True)
    for client in (bob_client, ada_client):
        assert "private sketch" not in client.get("/t/a/history/").content.decode()
        assert "private sketch" not in client.get("/t/a/?member=alice").content.decode()
        for suffix in ("", "images/0", "images/0/thumbnail", "delete/"):
            assert client.get(f"/generations/{secret.public_id}/{suffix}").status_code == 404
        assert client.get(f"/t/a/?edit={secret.public_id}&image=0").status_code == 404
    html = alice_client.get("/t/a/history/").content.decode()
    assert "private sketch" in html and "Only me" in html


def test_only_me_is_chosen_in_the_form_and_changed_later_by_its_maker(
    alice: User, alice_client: Client, bob_client: Client
) -> None:
    alice_client.post("/t/a/", form(private="on"))
    job = Generation.objects.get()
    assert job.private
    assert bob_client.get(f"/generations/{job.public_id}/").status_code == 404

    alice_client.post(f"/generations/{job.public_id}/visibility/")  # no "private": show
    assert bob_client.get(f"/generations/{job.public_id}/").status_code == 200
    # Colleagues cannot change it, not even to hide it.
    assert (
        bob_client.post(f"/generations/{job.public_id}/visibility/", {"private": "on"}).status_code
        == 403
    )
    assert not Generation.objects.get().private


# --- Building on each other's work ----------------------------------------------------


def test_edit_this_on_a_colleagues_job_makes_a_new_job_in_my_name_with_lineage(
    alice: User, bob: User, bob_client: Client
) -> None:
    original = finished(alice, prompt="alice's lighthouse")
    page = bob_client.get(f"/t/a/?edit={original.public_id}&image=0").content.decode()
    assert f'name="parent" value="{original.public_id}"' in page
    token = page.split('name="reference" value="', 1)[1].split('"', 1)[0]
    bob_client.post(
        "/t/a/",
        form(
            prompt="bob's variation",
            parent=str(original.public_id),
            parent_relation="edit",
            reference=token,
        ),
    )
    new = Generation.objects.exclude(pk=original.pk).get()
    assert (new.owner, new.team_id, new.parent, new.parent_relation) == (
        bob,
        original.team_id,
        original,
        Derivation.EDIT,
    )
    assert GenerationReference.objects.get(generation=new).source == original
    original.refresh_from_db()
    assert original.prompt == "alice's lighthouse" and original.owner == alice  # untouched


def test_use_as_reference_and_rerun_record_where_they_came_from(
    alice: User, bob: User, bob_client: Client
) -> None:
    original = finished(alice)
    chip = bob_client.post(f"/generations/{original.public_id}/images/0/use-as-reference")
    token = chip.content.decode().split('name="reference" value="', 1)[1].split('"', 1)[0]
    bob_client.post("/t/a/", form(reference=token))
    used = Generation.objects.get(owner=bob)
    assert (used.parent, used.parent_relation) == (original, Derivation.REFERENCE)

    bob_client.post(f"/generations/{original.public_id}/resubmit/")
    rerun = Generation.objects.filter(owner=bob).latest("id")
    assert (rerun.parent, rerun.parent_relation) == (original, Derivation.RERUN)


def test_a_claimed_parent_the_person_cannot_see_is_not_recorded(
    alice: User, charlie: User, bob_client: Client
) -> None:
    hidden = finished(alice, private=True)
    elsewhere = finished(charlie)  # team B
    for parent in (hidden, elsewhere):
        bob_client.post("/t/a/", form(parent=str(parent.public_id), parent_relation="edit"))
        assert Generation.objects.latest("id").parent is None


def test_the_detail_page_shows_the_chain_across_colleagues(
    alice: User, bob: User, vera: User, alice_client: Client, vera_client: Client
) -> None:
    carol = User.objects.create_user("carol")
    alice.memberships.get().team.memberships.create(user=carol, role="member")
    first = finished(carol, prompt="the first")
    second = finished(bob, prompt="reused", parent=first, parent_relation=Derivation.REUSE)
    third = finished(alice, prompt="edited", parent=second, parent_relation=Derivation.EDIT)
    html = vera_client.get(f"/generations/{third.public_id}/").content.decode()
    lineage = html.split('data-testid="lineage">', 1)[1].split("</p>", 1)[0]
    assert "Edited from" in lineage and f'href="/generations/{second.public_id}/"' in lineage
    assert (
        'by <span translate="no">bob</span>' in lineage
        and "which reused the settings of" in lineage
    )
    assert (
        f'href="/generations/{first.public_id}/"' in lineage
        and 'by <span translate="no">carol</span>' in lineage
    )

    # A link the viewer may not see is named, not shown; a deleted one says so.
    Generation.objects.filter(pk=first.pk).update(private=True)
    html = vera_client.get(f"/generations/{third.public_id}/").content.decode()
    assert "a job you cannot see" in html and "the first" not in html
    second.delete_with_files()
    html = alice_client.get(f"/generations/{third.public_id}/").content.decode()
    assert "Edited from a deleted job" in " ".join(html.split())


# --- Deleting -------------------------------------------------------------------------


def test_the_maker_deletes_a_job_with_its_files_after_confirming(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks
) -> None:
    job = finished(alice)
    image = job.images.get()
    names = [image.file.name, image.thumbnail.name]
    assert all(default_storage.exists(n) for n in names)
    confirm = alice_client.get(f"/generations/{job.public_id}/delete/").content.decode()
    assert "Delete job" in confirm and "cannot be undone" in confirm
    assert Generation.objects.filter(pk=job.pk).exists()  # a GET deletes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/generations/{job.public_id}/delete/")
    assert response.status_code == 302 and response["Location"] == "/t/a/"
    assert not Generation.objects.filter(pk=job.pk).exists()
    assert not any(default_storage.exists(n) for n in names)


def test_a_team_admin_may_delete_a_colleagues_job_a_teammate_may_not(
    alice: User, bob_client: Client, ada_client: Client
) -> None:
    job = finished(alice)
    assert bob_client.post(f"/generations/{job.public_id}/delete/").status_code == 403
    assert ada_client.post(f"/generations/{job.public_id}/delete/").status_code == 302
    assert not Generation.objects.exists()


def test_a_running_job_is_not_deleted(alice: User, alice_client: Client) -> None:
    job = make_generation(alice, state=State.RUNNING)
    response = alice_client.post(f"/generations/{job.public_id}/delete/", follow=True)
    assert "still running" in response.content.decode()
    assert Generation.objects.filter(pk=job.pk).exists()


def test_deleting_keeps_the_jobs_made_from_it(alice: User, bob: User, alice_client: Client) -> None:
    original = finished(alice)
    child = finished(bob, parent=original, parent_relation=Derivation.EDIT)
    alice_client.post(f"/generations/{original.public_id}/delete/")
    child.refresh_from_db()
    assert child.parent is None and child.parent_relation == Derivation.EDIT
    assert child.images.count() == 1


# --- Viewers --------------------------------------------------------------------------


def test_a_viewer_sees_the_team_history_but_no_form_and_no_actions(
    alice: User, vera_client: Client
) -> None:
    job = finished(alice, prompt="a shared poster")
    html = vera_client.get("/t/a/").content.decode()
    assert "a shared poster" in html and "You are a viewer in this team" in html
    assert ">Generate</button>" not in html and "Use as reference" not in html
    assert "Re-run" not in html and "Edit this" not in html
    detail = vera_client.get(f"/generations/{job.public_id}/").content.decode()
    assert "Download" in detail and "Re-run" not in detail and "Delete" not in detail
    assert vera_client.get(f"/generations/{job.public_id}/images/0?download=1").status_code == 200
    assert vera_client.post("/t/a/", form()).status_code == 403
    assert Generation.objects.count() == 1


def test_an_image_cannot_be_carried_into_another_team(
    alice: User, alice_client: Client, team_b
) -> None:  # type: ignore[no-untyped-def]
    """A reference chip is signed for one team: alice, also in team B, cannot bring
    team A's image into B's job by replaying the token there."""
    team_b.memberships.create(user=alice, role="member")
    original = finished(alice)
    chip = alice_client.post(f"/generations/{original.public_id}/images/0/use-as-reference")
    token = chip.content.decode().split('name="reference" value="', 1)[1].split('"', 1)[0]
    alice_client.post("/t/b/", form(reference=token))
    in_b = Generation.objects.get(team=team_b)
    assert in_b.references.count() == 0 and in_b.parent is None
    # "Edit this" of a team-A job from team B's studio is refused outright.
    assert alice_client.get(f"/t/b/?edit={original.public_id}&image=0").status_code == 404


def test_a_jobs_page_shows_its_images_first(alice: User, alice_client: Client) -> None:
    job = finished(alice, prompt="images before words")
    html = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert html.index('id="image-0"') < html.index("<h2>Prompt</h2>")
    running = make_generation(alice, state=State.RUNNING)
    html = alice_client.get(f"/generations/{running.public_id}/").content.decode()
    assert "The images appear here as soon as EvoLink has made them." in html


def test_job_numbers_are_counted_per_team(
    alice_client: Client, alice: User, charlie: User, charlie_client: Client
) -> None:
    """A colleague's first job in a new team is #1, not the database's 38th row."""
    for i in range(3):
        make_generation(alice, prompt=f"team a job {i}")
    body = {
        "model": "gpt-image-2",
        "prompt": "charlie's first",
        "size": "auto",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }
    response = charlie_client.post("/t/b/", body, follow=True)
    html = response.content.decode()
    first = Generation.objects.get(prompt="charlie's first")
    assert first.number == 1
    assert "Job #1 is queued." in html
    assert 'class="item-title">#1 · GPT Image 2<' in html
    detail = charlie_client.get(f"/generations/{first.public_id}/").content.decode()
    assert "Job #1 · GPT Image 2" in detail
    # Team A went on counting on its own.
    assert make_generation(alice, prompt="team a job 3").number == 4
