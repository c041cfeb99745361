"""What a person does to their own jobs: cancel one still queued, download every image of
one as a ZIP, page through the history without losing the form, and the team's own job
numbers."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client

from playground.evolink.simulator import Simulator
from playground.generations import jobs
from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from tests.factories import make_generation, png_bytes

CREATE = "POST /v1/images/generations"

pytestmark = pytest.mark.django_db


def test_a_queued_job_is_cancelled_before_anything_is_sent(
    alice_client: Client, alice: User, fast_jobs: Simulator
) -> None:
    job = make_generation(alice, prompt="changed my mind", estimated_credits="8")
    response = alice_client.post(f"/generations/{job.public_id}/cancel/", follow=True)
    html = response.content.decode()
    assert f"Job #{job.number} was cancelled." in html
    job.refresh_from_db()
    assert job.state == State.CANCELLED and job.finished_at is not None
    assert "Cancelled by alice before it was sent to EvoLink: not charged." in html
    assert 'data-testid="charge"><span class="charge-kind not_charged">Not charged<' in html
    # The wake-up that was already queued finds nothing to send.
    assert jobs.submit(job.pk) == "not claimed"
    assert fast_jobs.request_count(CREATE) == 0


@pytest.mark.parametrize("state", [State.SUBMITTING, State.RUNNING, State.COMPLETED])
def test_a_job_on_its_way_can_no_longer_be_cancelled(
    alice_client: Client, alice: User, state: str
) -> None:
    job = make_generation(alice, state=state)
    html = alice_client.post(f"/generations/{job.public_id}/cancel/", follow=True).content
    assert b"can no longer be cancelled" in html
    assert Generation.objects.get(pk=job.pk).state == state


def test_cancel_from_the_history_refreshes_it(alice_client: Client, alice: User) -> None:
    job = make_generation(alice, prompt="queued in the history")
    card = alice_client.get("/t/a/history/").content.decode()
    assert f'hx-post="/generations/{job.public_id}/cancel/"' in card
    response = alice_client.post(f"/generations/{job.public_id}/cancel/", HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and json.loads(response["HX-Trigger"]) == {
        "history-changed": {}
    }
    card = alice_client.get("/t/a/history/").content.decode()
    assert "/cancel/" not in card and 'data-state="cancelled"' in card


def test_a_colleague_cannot_cancel_someone_elses_job(bob_client: Client, alice: User) -> None:
    job = make_generation(alice)
    assert bob_client.post(f"/generations/{job.public_id}/cancel/").status_code == 403
    assert "/cancel/" not in bob_client.get("/t/a/history/").content.decode()
    assert Generation.objects.get(pk=job.pk).state == State.QUEUED


def test_download_all_gives_every_image_in_one_zip(alice_client: Client, alice: User) -> None:
    job = make_generation(alice, state=State.COMPLETED, n=3, model="gpt-image-1.5")
    images = [png_bytes(64 + i, 32) for i in range(3)]
    for index, data in enumerate(images):
        save_result(job, index, data)
    detail = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert "Download all 3 (ZIP)" in detail
    response = alice_client.get(f"/generations/{job.public_id}/images.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    stem = f"gpt-image-1.5-{job.number}"
    assert f'filename="{stem}.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"{stem}-{i}.png" for i in (1, 2, 3)]
    for index, name in enumerate(archive.namelist()):
        stored = job.images.get(index=index).file
        with default_storage.open(stored.name, "rb") as f:
            assert archive.read(name) == f.read()


def test_download_all_of_a_job_without_images_is_404(alice_client: Client, alice: User) -> None:
    job = make_generation(alice, state=State.FAILED)
    assert alice_client.get(f"/generations/{job.public_id}/images.zip").status_code == 404


def test_paging_swaps_the_history_only(alice_client: Client, alice: User) -> None:
    made = [make_generation(alice, prompt=f"job {i}") for i in range(25)]
    page = alice_client.get("/t/a/").content.decode()
    older = f"before={made[5].pk}"
    # A link that works without JavaScript, and with it swaps the history fragment
    # alone, the address bar following.
    assert f'href="/t/a/?{older}"' in page
    assert f'hx-get="/t/a/history/?{older}"' in page
    assert f'hx-push-url="/t/a/?{older}"' in page
    fragment = alice_client.get(f"/t/a/history/?{older}").content.decode()
    assert 'id="generation-form"' not in fragment
    assert f'id="generation-{made[4].pk}"' in fragment
    assert 'hx-get="/t/a/history/"' in fragment  # back to the newest
