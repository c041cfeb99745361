"""Edit with mask: where it is offered (a job's page, the lightbox, a history tile), the
studio it opens (gpt-image-2, the painter on the result made the reference), and a
job's page showing its mask over the reference it was painted on."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

from playground.generations import jobs
from playground.generations.models import Generation, State
from playground.teams import availability
from playground.teams.models import Team
from tests.factories import make_generation, png_bytes
from tests.test_masks import form_body, masked_job

pytestmark = pytest.mark.django_db


def finished_job(owner: User, model: str = "gpt-image-1.5", size: str = "1:1") -> Generation:
    job = make_generation(owner, model=model, size=size, state=State.COMPLETED)
    jobs.save_result(job, 0, png_bytes(64, 64, "orange"))
    return job


def mask_edit_url(job: Generation, team: str = "a", index: int = 0) -> str:
    return f"/t/{team}/?edit={job.public_id}&amp;image={index}&amp;mask=1"


def chips_of(html: str) -> list[str]:
    return re.findall(r'<li class="reference-chip"[^>]*>', html)


# --- Where Edit with mask is offered ------------------------------------------------------


def test_a_member_gets_edit_with_mask_on_the_job_page_the_lightbox_and_a_tile(
    alice: User, alice_client: Client
) -> None:
    job = finished_job(alice)
    page = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert f'href="{mask_edit_url(job)}" data-mask-edit>Edit with mask</a>' in page
    # The lightbox: its button and its M key, filled from the image link's data-mask-edit.
    assert f'data-mask-edit="{mask_edit_url(job)}"' in page
    assert 'data-lightbox-mask-edit aria-keyshortcuts="M"' in page
    studio = alice_client.get("/t/a/").content.decode()
    # The history's tile, under "Use as reference".
    assert f'<a class="small" href="{mask_edit_url(job)}" data-mask-edit>' in studio


def test_a_viewer_and_a_team_without_a_mask_model_get_no_edit_with_mask(
    alice: User, ada: User, vera_client: Client, alice_client: Client, team_a: Team
) -> None:
    job = finished_job(alice)
    for html in (
        vera_client.get(f"/generations/{job.public_id}/").content.decode(),
        vera_client.get("/t/a/").content.decode(),
    ):
        assert "Edit with mask" not in html and "mask=1" not in html
    availability.switch_for_team(team_a, "gpt-image-2", on=False, by=ada)
    page = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert "Edit this" in page
    assert "Edit with mask" not in page and "mask=1" not in page
    assert "mask=1" not in alice_client.get("/t/a/").content.decode()


# --- The studio Edit with mask opens ------------------------------------------------------


def test_edit_with_mask_selects_gpt_image_2_and_marks_the_result_s_chip(
    alice: User, alice_client: Client
) -> None:
    job = finished_job(alice, model="gpt-image-1.5")
    html = alice_client.get(f"/t/a/?edit={job.public_id}&image=0&mask=1").content.decode()
    assert re.search(r'class="model-tab active"[^>]*data-model="gpt-image-2"', html)
    (chip,) = chips_of(html)
    assert "data-open-mask" in chip
    assert 'data-mask-upload-url="/t/a/masks/"' in html  # the painter may upload
    # Plain "Edit this" keeps the job's model and opens no painter.
    plain = alice_client.get(f"/t/a/?edit={job.public_id}&image=0").content.decode()
    assert re.search(r'class="model-tab active"[^>]*data-model="gpt-image-1.5"', plain)
    assert "data-open-mask" not in plain
    # "Reuse settings" never opens the painter, whatever the query says.
    reuse = alice_client.get(f"/t/a/?reuse={job.public_id}&mask=1").content.decode()
    assert "data-open-mask" not in reuse


def test_edit_with_mask_records_the_lineage_of_edit_this(alice: User, alice_client: Client) -> None:
    job = finished_job(alice, model="gpt-image-2", size="auto")
    html = alice_client.get(f"/t/a/?edit={job.public_id}&image=0&mask=1").content.decode()
    (reference,) = re.findall(r'name="reference" value="([^"]+)"', html)
    relation = re.search(r'name="parent_relation" value="([^"]+)"', html)
    assert relation and relation.group(1) == "edit"
    response = alice_client.post(
        "/t/a/",
        form_body(reference=reference, parent=str(job.public_id), parent_relation="edit"),
    )
    assert response.status_code == 302, response.content.decode()[-1500:]
    edited = Generation.objects.latest("id")
    assert edited.parent_id == job.pk and edited.parent_relation == "edit"
    assert edited.references.get().source_id == job.pk


def test_with_gpt_image_2_off_for_the_team_the_studio_says_why_and_opens_no_painter(
    alice: User, ada: User, alice_client: Client, team_a: Team
) -> None:
    job = finished_job(alice, model="gpt-image-1.5")
    availability.switch_for_team(team_a, "gpt-image-2", on=False, by=ada)
    html = alice_client.get(f"/t/a/?edit={job.public_id}&image=0&mask=1").content.decode()
    assert (
        "Masks need GPT Image 2, which the admins of this team switched off: the image "
        "is attached to edit without a mask."
    ) in html
    (chip,) = chips_of(html)  # the image is still attached, as Edit this attaches it
    assert "data-open-mask" not in chip
    assert re.search(r'class="model-tab active"[^>]*data-model="gpt-image-1.5"', html)


def test_edit_with_mask_of_another_team_s_job_is_a_404(alice: User, charlie_client: Client) -> None:
    job = finished_job(alice)
    response = charlie_client.get(f"/t/b/?edit={job.public_id}&image=0&mask=1")
    assert response.status_code == 404


# --- A job's page shows its mask over its reference ---------------------------------------


def test_the_job_page_shows_the_mask_over_its_reference(
    alice: User, alice_client: Client, bob_client: Client
) -> None:
    job = masked_job(alice_client)
    for client in (alice_client, bob_client):  # the job's owner and a teammate
        html = client.get(f"/generations/{job.public_id}/").content.decode()
        (figure,) = re.findall(r'<figure class="mask-overlay".*?</figure>', html, flags=re.DOTALL)
        assert 'role="img"' in figure and "<title" in figure
        assert "The model could change only the tinted region; the rest was kept." in figure
        mask_url = f"/generations/{job.public_id}/mask.png"
        assert f'href="{mask_url}"' in figure
        assert client.get(mask_url).status_code == 200
        # The reference at full size, for this viewer's own token.
        (image_url,) = re.findall(r'<image href="(/references/[^"]+/image)"', figure)
        assert client.get(image_url).status_code == 200
        assert 'viewBox="0 0 64 48"' in figure


def test_a_job_without_a_mask_shows_no_overlay(alice: User, alice_client: Client) -> None:
    job = finished_job(alice)
    html = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert "mask-overlay" not in html and "mask.png" not in html


def test_outsiders_get_404_for_the_masked_job_and_its_mask(
    alice_client: Client, charlie_client: Client
) -> None:
    job = masked_job(alice_client)
    assert charlie_client.get(f"/generations/{job.public_id}/").status_code == 404
    assert charlie_client.get(f"/generations/{job.public_id}/mask.png").status_code == 404


def test_with_gpt_image_2_off_for_the_site_the_studio_says_so(
    alice: User, ada: User, alice_client: Client
) -> None:
    job = finished_job(alice, model="gpt-image-1.5")
    availability.switch_for_site("gpt-image-2", on=False, by=ada)
    html = alice_client.get(f"/t/a/?edit={job.public_id}&image=0&mask=1").content.decode()
    assert "Masks need GPT Image 2, which this site does not offer" in html
    assert "data-open-mask" not in html
