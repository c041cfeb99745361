"""Reference images: upload validation, storage, public hosting for EvoLink, reuse."""

from __future__ import annotations

import io
import json
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from playground import catalogue
from playground.evolink.simulator import Simulator
from playground.generations import jobs, poller, references
from playground.generations.models import Generation, GenerationReference, ReferenceImage, State
from tests.fixtures_simulator import free_port
from tests.queue import queued_tasks, wait_for

pytestmark = pytest.mark.django_db


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, "GIF")
    return buffer.getvalue()


def bomb(size: tuple[int, int]) -> bytes:
    """A tiny PNG that claims a huge number of pixels."""
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, "PNG")
    return buffer.getvalue()


MATRIX = [
    ("photo.png", image_bytes("PNG"), None),
    ("photo.jpg", image_bytes("JPEG"), None),
    ("photo.webp", image_bytes("WEBP"), None),
    ("webp-named.png", image_bytes("WEBP"), None),  # the content decides, not the name
    ("notes.png", b"just some text, not an image\n" * 20, "notes.png: not a JPEG, PNG or WEBP"),
    ("cut.png", image_bytes("PNG", (300, 300), "red")[:-200], "cut.png: the image is damaged"),
    ("tiger.gif", gif(), "tiger.gif: GIF is not supported; use JPEG, PNG or WEBP."),
    ("tiger.png", gif(), "tiger.png: GIF is not supported"),
    ("bomb.png", bomb((20_000, 20_000)), "bomb.png: too large in pixels"),
    ("wide.png", bomb((24_000, 100)), "wide.png (24000×100): too large in pixels"),
]


@pytest.mark.parametrize(("name", "data", "message"), MATRIX, ids=[m[0] for m in MATRIX])
def test_upload_validation_matrix(
    alice_client: Client, name: str, data: bytes, message: str | None
) -> None:
    html = alice_client.post("/t/a/references/", {"file": upload(name, data)}).content.decode()
    if message is None:
        assert html.count('class="reference-chip"') == 1
        assert ReferenceImage.objects.count() == 1
    else:
        assert message in html
        assert 'class="reference-chip"' not in html
        assert ReferenceImage.objects.count() == 0


def test_a_file_over_50_mb_is_refused_and_not_stored(alice_client: Client) -> None:
    too_big = image_bytes() + b"\0" * (catalogue.MAX_REFERENCE_BYTES + 1 - len(image_bytes()))
    assert len(too_big) == 50 * 1024 * 1024 + 1
    html = alice_client.post("/t/a/references/", {"file": upload("huge.png", too_big)}).content
    assert b"huge.png: larger than 50 MB" in html
    assert ReferenceImage.objects.count() == 0


def test_identical_uploads_are_stored_once(alice_client: Client, charlie_client: Client) -> None:
    data = image_bytes("PNG", (80, 80), "orange")
    alice_client.post("/t/a/references/", {"file": upload("a.png", data)})
    charlie_client.post("/t/b/references/", {"file": upload("b.png", data)})
    (reference,) = ReferenceImage.objects.all()
    assert reference.file.name.endswith(f"{reference.sha256}.png")
    assert "a.png" not in reference.file.name  # never the user's file name
    assert (reference.width, reference.height, reference.format) == (80, 80, "PNG")


def tokens_in(html: str) -> list[str]:
    return re.findall(r'name="reference" value="([^"]+)"', html)


def form_body(**extra: object) -> dict:
    body = {
        "model": "gpt-image-2",
        "prompt": "put a hat on the cat",
        "size": "auto",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }
    body.update(extra)
    return body


def test_rejected_files_are_named_and_everything_else_is_kept(alice_client: Client) -> None:
    response = alice_client.post(
        "/t/a/",
        form_body(
            quality="high",
            n="2",
            reference_files=[
                upload("cat.png", image_bytes()),
                upload("tiger.gif", gif()),
                upload("dog.webp", image_bytes("WEBP", color="navy")),
            ],
        ),
    )
    html = response.content.decode()
    assert "tiger.gif: GIF is not supported; use JPEG, PNG or WEBP." in html
    assert len(tokens_in(html)) == 2  # cat and dog stay attached, in order
    assert ">\nput a hat on the cat</textarea>" in html
    assert 'value="high" selected' in html and 'value="2"' in html
    assert Generation.objects.count() == 0
    # Sending the form again with the kept references creates the job.
    response = alice_client.post("/t/a/", form_body(reference=tokens_in(html)))
    assert response.status_code == 302
    generation = Generation.objects.get()
    # The served copies: a WEBP is re-encoded as JPEG (see references._encode).
    assert [link.reference.format for link in generation.references.all()] == ["PNG", "JPEG"]


def test_at_most_16_references(alice_client: Client) -> None:
    files = [upload(f"{i}.png", image_bytes(color=(i * 10, 0, 0))) for i in range(17)]
    html = alice_client.post("/t/a/", form_body(reference_files=files)).content.decode()
    assert "17 reference images are attached; at most 16 are allowed. Remove 1." in html
    assert len(tokens_in(html)) == 17 and Generation.objects.count() == 0


def test_another_users_token_attaches_nothing(alice_client: Client, charlie_client: Client) -> None:
    html = alice_client.post("/t/a/references/", {"file": upload("a.png", image_bytes())})
    (token,) = tokens_in(html.content.decode())
    assert charlie_client.get(f"/references/{token}/thumbnail").status_code == 404
    assert alice_client.get(f"/references/{token}/thumbnail").status_code == 200
    charlie_client.post("/t/b/", form_body(reference=[token]))
    assert Generation.objects.get().references.count() == 0


def test_the_estimate_counts_references(alice_client: Client) -> None:
    html = alice_client.post("/t/a/references/", {"file": upload("a.png", image_bytes())})
    token = tokens_in(html.content.decode())[0]
    live = alice_client.get(
        "/studio/live/",
        {
            "model": "gpt-image-2",
            "size": "1:1",
            "resolution": "4K",
            "quality": "high",
            "reference": [token] * 16,
        },
    ).content.decode()
    assert "55.58</span> credits" in live and "16 reference images" in live


def test_the_public_url_needs_no_login_and_cannot_be_guessed(
    alice_client: Client, settings
) -> None:
    alice_client.post("/t/a/references/", {"file": upload("a.png", image_bytes("PNG"))})
    reference = ReferenceImage.objects.get()
    url = references.public_url(reference)
    assert url.startswith(settings.PUBLIC_BASE_URL + "/r/") and url.endswith(".png")
    path = url.removeprefix(settings.PUBLIC_BASE_URL)
    anonymous = Client()
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == reference.file.open("rb").read()
    token = path.removeprefix("/r/").removesuffix(".png")
    for guess in (
        f"/r/{reference.pk}.png",
        f"/r/{token[:-1]}x.png",
        f"/r/{token}.webp",
        "/r/",
        f"/r/{reference.sha256}.png",
    ):
        assert anonymous.get(guess).status_code == 404, guess
    settings.REFERENCE_URL_MAX_AGE = -1  # links expire
    assert anonymous.get(path).status_code == 404


def test_a_warning_before_paying_for_references_evolink_cannot_reach(
    alice_client: Client, settings
) -> None:
    settings.EVOLINK_BASE_URL = "https://api.evolink.ai"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert "EvoLink cannot download reference images" in alice_client.get("/t/a/").content.decode()
    settings.PUBLIC_BASE_URL = "http://10.1.2.3:8000"
    assert "EvoLink cannot download reference images" in alice_client.get("/t/a/").content.decode()
    settings.EVOLINK_REFERENCE_HOST = "files-api"
    assert "EvoLink cannot download" not in alice_client.get("/t/a/").content.decode()
    settings.EVOLINK_REFERENCE_HOST = "public"
    settings.PUBLIC_BASE_URL = "https://playground.example.com"
    assert "EvoLink cannot download" not in alice_client.get("/t/a/").content.decode()
    settings.EVOLINK_BASE_URL = "http://127.0.0.1:8765"  # the simulator reaches loopback
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert "EvoLink cannot download" not in alice_client.get("/t/a/").content.decode()


def make_finished_job(alice, n_images: int = 1) -> Generation:  # type: ignore[no-untyped-def]
    from playground.generations.jobs import save_result

    generation = Generation.objects.create(
        team=alice.memberships.get().team,
        owner=alice,
        model="gpt-image-2",
        prompt="a teal square",
        size="1536x1024",
        quality="high",
        n=2,
        state=State.COMPLETED,
        request_payload={
            "model": "gpt-image-2",
            "prompt": "a teal square",
            "size": "1536x1024",
            "quality": "high",
            "n": 2,
        },
    )
    for index in range(n_images):
        save_result(generation, index, image_bytes("PNG", (96, 64), "purple"))
    return generation


def test_edit_this_reuse_settings_and_use_as_reference(
    alice, alice_client: Client, charlie_client: Client
) -> None:
    generation = make_finished_job(alice)
    edit = alice_client.get(f"/t/a/?edit={generation.public_id}&image=0").content.decode()
    assert ">\na teal square</textarea>" in edit
    assert 'value="custom" selected' in edit and 'name="width" value="1536"' in edit
    assert 'value="high" selected' in edit
    assert len(tokens_in(edit)) == 1
    assert ReferenceImage.objects.get().width == 96

    reuse = alice_client.get(f"/t/a/?reuse={generation.public_id}").content.decode()
    assert ">\na teal square</textarea>" in reuse and tokens_in(reuse) == []

    chip = alice_client.post(
        f"/generations/{generation.public_id}/images/0/use-as-reference",
        HTTP_HX_REQUEST="true",
    )
    assert json.loads(chip["HX-Trigger"]) == {"references-changed": {}}
    assert len(tokens_in(chip.content.decode())) == 1
    assert ReferenceImage.objects.count() == 1  # the same content, stored once

    full = alice_client.post(
        f"/generations/{generation.public_id}/images/0/use-as-reference",
        {"reference": tokens_in(chip.content.decode()) * 16},
        HTTP_HX_REQUEST="true",
    )
    assert full["HX-Retarget"] == "#reference-errors"
    assert "at most 16 reference images" in full.content.decode()
    assert tokens_in(full.content.decode()) == []

    assert charlie_client.get(f"/t/b/?edit={generation.public_id}&image=0").status_code == 404
    assert charlie_client.get(f"/t/b/?reuse={generation.public_id}").status_code == 404
    assert (
        charlie_client.post(
            f"/generations/{generation.public_id}/images/0/use-as-reference"
        ).status_code
        == 404
    )


def test_a_reference_taken_from_a_result_names_its_job_on_the_new_jobs_page_and_in_a_re_run(
    alice, alice_client: Client, django_capture_on_commit_callbacks
) -> None:
    source = make_finished_job(alice)
    chip = alice_client.post(
        f"/generations/{source.public_id}/images/0/use-as-reference", HTTP_HX_REQUEST="true"
    )
    alice_client.post("/t/a/", form_body(reference=tokens_in(chip.content.decode())))
    made = Generation.objects.latest("id")
    assert made.pk != source.pk
    assert [link.source_id for link in made.references.all()] == [source.pk]
    page = alice_client.get(f"/generations/{made.public_id}/").content.decode()
    assert f'class="chip-source" href="/generations/{source.public_id}/"' in page

    alice_client.post(f"/generations/{made.public_id}/resubmit/")
    again = Generation.objects.latest("id")
    assert again.pk != made.pk
    assert [link.source_id for link in again.references.all()] == [source.pk]


def test_re_run_keeps_the_references(
    alice, alice_client: Client, django_capture_on_commit_callbacks
) -> None:
    html = alice_client.post(
        "/t/a/references/",
        {
            "file": [
                upload("a.png", image_bytes(color="red")),
                upload("b.png", image_bytes(color="blue")),
            ]
        },
    ).content.decode()
    alice_client.post("/t/a/", form_body(reference=tokens_in(html)[::-1]))  # b first, then a
    original = Generation.objects.get()
    alice_client.post(f"/generations/{original.public_id}/resubmit/")
    again = Generation.objects.latest("id")
    assert again.pk != original.pk
    assert list(again.references.values_list("reference_id", flat=True)) == list(
        original.references.values_list("reference_id", flat=True)
    )


# --- The simulator fetches the references over real HTTP ---------------------------


def submit_and_finish(pk: int) -> Generation:
    with poller.Clients() as clients:
        assert jobs.submit(pk) == "submitted"

        def done() -> bool:
            poller.poll_due(clients)
            for task in queued_tasks():
                if task["func"] == "playground.generations.jobs.archive":
                    jobs.archive(*task["args"])
            return not Generation.objects.get(pk=pk).is_in_flight

        wait_for(done, timeout=20)
    return Generation.objects.get(pk=pk)


@pytest.mark.django_db(transaction=True)
def test_the_simulator_fetches_the_references_of_a_real_job(
    alice, alice_client: Client, fast_jobs: Simulator, live_server, settings
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    html = alice_client.post(
        "/t/a/references/",
        {
            "file": [
                upload("one.png", image_bytes(color="red")),
                upload("two.jpg", image_bytes("JPEG")),
            ]
        },
    ).content.decode()
    alice_client.post("/t/a/", form_body(reference=tokens_in(html)))
    generation = submit_and_finish(Generation.objects.get().pk)
    assert generation.state == State.COMPLETED, generation.error_message
    urls = generation.request_payload["image_urls"]
    assert [u.rsplit(".", 1)[1] for u in urls] == ["png", "jpg"]  # the person's order
    assert all(u.startswith(live_server.url + "/r/") for u in urls)
    assert generation.estimated_credits > 0
    assert GenerationReference.objects.filter(generation=generation).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_reference_evolink_cannot_fetch_fails_with_its_meaning(
    alice, alice_client: Client, fast_jobs: Simulator, settings
) -> None:
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    html = alice_client.post("/t/a/references/", {"file": upload("one.png", image_bytes())})
    alice_client.post("/t/a/", form_body(reference=tokens_in(html.content.decode())))
    generation = submit_and_finish(Generation.objects.get().pk)
    assert generation.state == State.FAILED
    assert generation.error_code == "image_processing_error"
    history = alice_client.get("/t/a/history/").content.decode()
    assert "reference image" in generation.error_message.lower()
    assert generation.error_message.replace("'", "&#x27;") in history


@pytest.mark.django_db(transaction=True)
def test_references_can_be_hosted_on_evolinks_files_api(
    alice, alice_client: Client, fast_jobs: Simulator, settings
) -> None:
    settings.EVOLINK_REFERENCE_HOST = "files-api"
    settings.EVOLINK_FILES_BASE_URL = fast_jobs.base_url
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{free_port()}"  # unreachable: not used
    html = alice_client.post("/t/a/references/", {"file": upload("one.png", image_bytes())})
    tokens = tokens_in(html.content.decode())
    alice_client.post("/t/a/", form_body(reference=tokens))
    first = submit_and_finish(Generation.objects.get().pk)
    assert first.state == State.COMPLETED, first.error_message
    (url,) = first.request_payload["image_urls"]
    assert url.startswith(fast_jobs.base_url + "/files-api/")
    uploads = "POST /api/v1/files/upload/stream"
    assert fast_jobs.request_count(uploads) == 1

    # A second job with the same reference reuses the uploaded copy while it is fresh.
    alice_client.post("/t/a/", form_body(reference=tokens))
    second = submit_and_finish(Generation.objects.latest("id").pk)
    assert second.state == State.COMPLETED
    assert second.request_payload["image_urls"] == [url]
    assert fast_jobs.request_count(uploads) == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_files_api_upload_retries_later_without_paying(
    alice, alice_client: Client, fast_jobs: Simulator, settings
) -> None:
    settings.EVOLINK_REFERENCE_HOST = "files-api"
    settings.EVOLINK_FILES_BASE_URL = fast_jobs.base_url
    fast_jobs.fail_uploads(503, times=10)
    html = alice_client.post("/t/a/references/", {"file": upload("one.png", image_bytes())})
    alice_client.post("/t/a/", form_body(reference=tokens_in(html.content.decode())))
    generation = Generation.objects.get()
    jobs.submit(generation.pk)
    generation.refresh_from_db()
    assert generation.state == State.QUEUED and generation.not_before is not None
    assert fast_jobs.request_count("POST /v1/images/generations") == 0
