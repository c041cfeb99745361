"""Masks (gpt-image-2 edits): the server's checks, hosting, access, what reaches the
simulator, lineage, deletion and the export manifest."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, PngImagePlugin

from playground import catalogue
from playground.evolink.simulator import Simulator
from playground.evolink.simulator.masks import MISSING_ALPHA, SIZE_MISMATCH
from playground.generations import jobs, mask_uploads, poller, references
from playground.generations.models import Generation, GenerationReference, MaskImage, State
from tests.queue import drain, queued_tasks, wait_for

pytestmark = pytest.mark.django_db

SIZE = (64, 48)
HOLE = (8, 8, 24, 20)  # the painted (transparent) rectangle: left, top, right, bottom
INSIDE, OUTSIDE = (12, 12), (50, 40)


def reference_png(size: tuple[int, int] = SIZE, colour: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def mask_png(
    size: tuple[int, int] = SIZE,
    hole: tuple[int, int, int, int] | None = HOLE,
    mode: str = "RGBA",
    text: str = "",
) -> bytes:
    """Opaque black with a transparent `hole`, as a canvas would export it."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole is not None:
        image.paste((0, 0, 0, 0), hole)
    if mode == "transparent":
        image = Image.new("RGBA", size, (0, 0, 0, 0))
    elif mode != "RGBA":
        image = image.convert(mode)
    buffer = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    if text:
        info.add_text("Comment", text)
    image.save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def attach_reference(client: Client, data: bytes | None = None, team: str = "a") -> str:
    html = client.post(
        f"/t/{team}/references/", {"file": upload("photo.png", data or reference_png())}
    ).content.decode()
    (token,) = re.findall(r'name="reference" value="([^"]+)"', html)
    return token


def send_mask(client: Client, reference: str, data: bytes, team: str = "a") -> Any:
    return client.post(
        f"/t/{team}/masks/", {"reference": reference, "file": upload("mask.png", data)}
    )


def form_body(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "model": "gpt-image-2",
        "prompt": "a red hat on the cat",
        "size": "auto",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }
    body.update(extra)
    return body


def masked_job(client: Client, **extra: object) -> Generation:
    """A job made in the studio with a reference and a mask painted on it."""
    reference = attach_reference(client)
    mask = send_mask(client, reference, mask_png()).json()["token"]
    response = client.post("/t/a/", form_body(reference=reference, mask=mask, **extra))
    assert response.status_code == 302, response.content.decode()[-2000:]
    return Generation.objects.latest("id")


def stored_mask_files(settings: Any) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "masks"
    return sorted(folder.iterdir()) if folder.exists() else []


# --- The server checks every mask before anything is stored or sent -------------------

NOT_A_PNG = "The mask is not a PNG image"
CHECKS = [
    ("no alpha", mask_png(mode="RGB"), "The mask has no alpha channel"),
    ("wrong size", mask_png(size=(48, 64)), "The mask is 48×64 but its reference image is 64×48"),
    ("fully opaque", mask_png(hole=None), "The mask is opaque everywhere"),
    ("fully transparent", mask_png(mode="transparent"), "The mask is transparent everywhere"),
    ("a JPEG", reference_png().replace(b"PNG", b"XYZ"), NOT_A_PNG),
    ("text", b"not an image at all\n" * 10, NOT_A_PNG),
    ("cut", mask_png()[:60], "The mask is"),
]


@pytest.mark.parametrize(("case", "data", "message"), CHECKS, ids=[c[0] for c in CHECKS])
def test_each_check_refuses_with_its_message_and_stores_nothing(
    alice_client: Client, settings: Any, case: str, data: bytes, message: str
) -> None:
    reference = attach_reference(alice_client)
    response = send_mask(alice_client, reference, data)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert MaskImage.objects.count() == 0 and stored_mask_files(settings) == []
    # Without a mask token the form cannot carry one: nothing is sent with a mask.
    assert "token" not in response.json()


def test_a_jpeg_mask_is_not_a_png(alice_client: Client) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", SIZE, "black").save(buffer, "JPEG")
    response = send_mask(alice_client, attach_reference(alice_client), buffer.getvalue())
    assert response.status_code == 400 and NOT_A_PNG in response.json()["error"]


def test_a_mask_over_the_upload_limit_is_refused_unread(alice_client: Client, settings) -> None:
    data = mask_png()
    too_big = data + b"\0" * (catalogue.MAX_REFERENCE_BYTES + 1 - len(data))
    response = send_mask(alice_client, attach_reference(alice_client), too_big)
    assert response.status_code == 400
    assert response.json()["error"] == "The mask is larger than 50 MB; it was not stored."
    assert MaskImage.objects.count() == 0 and stored_mask_files(settings) == []


def test_a_mask_needs_its_reference_token(alice_client: Client, charlie_client: Client) -> None:
    response = alice_client.post("/t/a/masks/", {"file": upload("mask.png", mask_png())})
    assert response.status_code == 400
    assert "not attached" in response.json()["error"]
    # Charlie's reference token is his, in his team: it opens nothing for alice.
    charlies = attach_reference(charlie_client, team="b")
    assert send_mask(alice_client, charlies, mask_png()).status_code == 400
    assert MaskImage.objects.count() == 0


def test_what_is_stored_is_our_png_not_the_upload(alice_client: Client) -> None:
    upload_bytes = mask_png(text="secret camera notes")
    answer = send_mask(alice_client, attach_reference(alice_client), upload_bytes).json()
    assert (answer["width"], answer["height"]) == SIZE
    mask = MaskImage.objects.get()
    stored = mask.file.open("rb").read()
    assert stored != upload_bytes and b"secret camera notes" not in stored
    assert re.fullmatch(r"masks/[0-9a-f]{32}\.png", mask.file.name)  # never the file's name
    with Image.open(io.BytesIO(stored)) as image:
        assert image.mode == "RGBA" and image.size == SIZE
        assert image.getpixel(INSIDE)[3] == 0 and image.getpixel(OUTSIDE)[3] == 255
        assert "Comment" not in image.info


def test_a_palette_mask_with_transparency_is_accepted(alice_client: Client) -> None:
    response = send_mask(alice_client, attach_reference(alice_client), mask_png(mode="P"))
    assert response.status_code == 200, response.json()


# --- The form: where a mask may go ------------------------------------------------------


def test_a_mask_goes_only_with_its_reference_and_only_to_gpt_image_2(
    alice_client: Client,
) -> None:
    reference = attach_reference(alice_client)
    other = attach_reference(alice_client, reference_png(colour="navy"))
    mask = send_mask(alice_client, reference, mask_png()).json()["token"]

    html = alice_client.post("/t/a/", form_body(reference=[other], mask=mask)).content.decode()
    assert "The image the mask was painted on is no longer attached" in html
    html = alice_client.post(
        "/t/a/", form_body(model="gpt-image-1.5", size="1:1", reference=[reference], mask=mask)
    ).content.decode()
    assert "GPT Image 1.5 does not take a mask" in html
    # The refused form keeps the mask, for when the person switches back.
    assert 'name="mask" value="' in html
    assert Generation.objects.count() == 0

    # The masked reference goes first, whatever the order: EvoLink matches it.
    response = alice_client.post("/t/a/", form_body(reference=[other, reference], mask=mask))
    assert response.status_code == 302
    links = list(Generation.objects.get().references.all())
    assert [link.mask_id is not None for link in links] == [True, False]
    assert links[0].reference.width == SIZE[0]


def test_someone_elses_mask_token_attaches_nothing(
    alice_client: Client, bob_client: Client
) -> None:
    reference = attach_reference(alice_client)
    mask = send_mask(alice_client, reference, mask_png()).json()["token"]
    bobs = attach_reference(bob_client)
    bob_client.post("/t/a/", form_body(reference=[bobs], mask=mask))
    assert not GenerationReference.objects.filter(mask__isnull=False).exists()


# --- What EvoLink (the simulator) receives ------------------------------------------------


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
def test_the_mask_reaches_the_simulator_and_changes_only_its_region(
    alice: User, alice_client: Client, fast_jobs: Simulator, live_server: Any, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    generation = masked_job(alice_client)
    generation = submit_and_finish(generation.pk)
    assert generation.state == State.COMPLETED, generation.error_message

    sent = generation.request_payload
    assert sent["mask_url"].startswith(f"{live_server.url}/m/") and sent["mask_url"].endswith(
        ".png"
    )
    assert len(sent["image_urls"]) == 1
    (received,) = fast_jobs.stats()["masks"]
    assert received["url"] == sent["mask_url"]
    assert (received["width"], received["height"]) == SIZE
    assert received["mode"] == "RGBA" and received["has_alpha"]
    with Image.open(io.BytesIO(fast_jobs.received_mask(received["task_id"]) or b"")) as mask:
        assert mask.getpixel(INSIDE)[3] == 0  # to change
        assert mask.getpixel(OUTSIDE)[3] == 255  # kept

    # The result shows it: the reference kept outside, the masked region filled.
    result = generation.images.get()
    with Image.open(result.file.open("rb")) as image:
        picture = image.convert("RGB").resize(SIZE)
        teal = (0, 128, 128)
        assert picture.getpixel(OUTSIDE) == teal
        assert picture.getpixel(INSIDE) != teal


@pytest.mark.django_db(transaction=True)
def test_with_references_on_evolinks_files_api_the_mask_goes_there_too(
    alice: User, alice_client: Client, fast_jobs: Simulator, settings: Any
) -> None:
    settings.EVOLINK_REFERENCE_HOST = "files-api"
    settings.EVOLINK_FILES_BASE_URL = fast_jobs.base_url
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:9"  # unreachable: not used
    generation = submit_and_finish(masked_job(alice_client).pk)
    assert generation.state == State.COMPLETED, generation.error_message
    assert generation.request_payload["mask_url"].startswith(fast_jobs.base_url + "/files-api/")
    (received,) = fast_jobs.stats()["masks"]
    assert received["has_alpha"] and (received["width"], received["height"]) == SIZE


@pytest.mark.django_db(transaction=True)
def test_a_mask_without_alpha_or_of_another_size_fails_upstream_with_the_documented_message(
    simulator: Simulator, evolink_client: Any
) -> None:
    """The simulator checks what EvoLink checks (for masks not made by our server)."""

    def hosted(data: bytes) -> str:
        return evolink_client.upload_file(
            io.BytesIO(data),
            filename="x.png",
            content_type="image/png",
            files_base_url=simulator.base_url,
        ).file_url

    reference = hosted(reference_png())
    for mask, code, message in (
        (mask_png(mode="RGB"), "image_processing_error", MISSING_ALPHA),
        (mask_png(size=(32, 32)), "image_dimension_mismatch", SIZE_MISMATCH),
    ):
        task = evolink_client.create_task(
            {
                "model": "gpt-image-2",
                "prompt": "x",
                "quality": "low",
                "image_urls": [reference],
                "mask_url": hosted(mask),
            }
        )
        wait_for(lambda t=task: (simulator.task(t.id) or {})["status"] == "failed", timeout=10)
        assert (simulator.task(task.id) or {})["error"] == {"code": code, "message": message}


def test_a_mask_that_no_longer_fits_its_reference_fails_the_job_before_it_is_sent(
    alice: User, alice_client: Client, fast_jobs: Simulator
) -> None:
    generation = masked_job(alice_client)
    # As if the reference had been re-encoded at another size since (an old upload).
    link = generation.references.get()
    type(link.reference).objects.filter(pk=link.reference_id).update(width=32)
    assert jobs.submit(generation.pk) == "failed"
    generation.refresh_from_db()
    assert generation.error_code == "reference_rejected"
    assert "The mask is 64×48 but its reference image is 32×48" in generation.error_message
    assert fast_jobs.request_count("POST /v1/images/generations") == 0


def test_the_simulator_refuses_mask_url_for_other_models(simulator: Simulator) -> None:
    response = httpx.post(
        f"{simulator.base_url}/v1/images/generations",
        headers={"Authorization": f"Bearer {simulator.api_key}"},
        json={
            "model": "gpt-image-1.5",
            "prompt": "x",
            "image_urls": ["https://example.com/a.png"],
            "mask_url": "https://example.com/m.png",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert "mask_url" in response.json()["error"]["message"]
    assert simulator.stats()["tasks_created"] == 0


# --- Access: like references --------------------------------------------------------------


def test_a_mask_is_for_the_team_only_and_its_public_url_cannot_be_guessed(
    alice: User, alice_client: Client, bob_client: Client, charlie_client: Client
) -> None:
    generation = masked_job(alice_client)
    url = f"/generations/{generation.public_id}/mask.png"
    assert alice_client.get(url).status_code == 200
    assert bob_client.get(url).status_code == 200
    assert charlie_client.get(url).status_code == 404

    mask = MaskImage.objects.get()
    public = mask_uploads.public_url(mask)
    path = public.removeprefix("http://testserver").split("://", 1)[-1]
    path = path[path.index("/m/") :]
    anonymous = Client()
    served = anonymous.get(path)
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == mask.file.open("rb").read()
    # An id alone, a token for a reference, or a tampered token opens nothing.
    assert anonymous.get(f"/m/{mask.pk}.png").status_code == 404
    token = path.removeprefix("/m/").removesuffix(".png")
    assert anonymous.get(f"/m/{token[:-2]}xx.png").status_code == 404
    reference_salted = signing.dumps(mask.pk, salt=references.URL_SALT)
    assert anonymous.get(f"/m/{reference_salted}.png").status_code == 404


def test_the_painter_gets_the_reference_at_full_size_for_its_token_only(
    alice_client: Client, bob_client: Client
) -> None:
    token = attach_reference(alice_client)
    response = alice_client.get(f"/references/{token}/image")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(b"".join(response.streaming_content))) as image:
        assert image.size == SIZE  # the size a mask must have
    assert bob_client.get(f"/references/{token}/image").status_code == 404


# --- Lineage: Re-run, Reuse settings and Edit this carry the mask ---------------------------


def test_re_run_and_reuse_settings_carry_the_mask(alice: User, alice_client: Client) -> None:
    original = masked_job(alice_client)
    (link,) = original.references.all()

    alice_client.post(f"/generations/{original.public_id}/resubmit/")
    rerun = Generation.objects.latest("id")
    assert rerun.pk != original.pk and rerun.parent_id == original.pk
    assert [(x.reference_id, x.mask_id) for x in rerun.references.all()] == [
        (link.reference_id, link.mask_id)
    ]

    html = alice_client.get(f"/t/a/?reuse={original.public_id}").content.decode()
    (mask_token,) = re.findall(r'name="mask" value="([^"]+)"', html)
    references = re.findall(r'name="reference" value="([^"]+)"', html)
    assert len(references) == 1
    response = alice_client.post(
        "/t/a/",
        form_body(
            reference=references,
            mask=mask_token,
            parent=str(original.public_id),
            parent_relation="reuse",
        ),
    )
    assert response.status_code == 302
    reused = Generation.objects.latest("id")
    assert reused.parent_id == original.pk and reused.parent_relation == "reuse"
    assert [x.mask_id for x in reused.references.all()] == [link.mask_id]


def test_edit_this_carries_the_mask_when_the_result_has_its_size(
    alice: User, alice_client: Client
) -> None:
    original = masked_job(alice_client)
    Generation.objects.filter(pk=original.pk).update(state=State.COMPLETED)
    jobs.save_result(original, 0, reference_png(colour="orange"))  # 64×48, the mask's size
    jobs.save_result(original, 1, reference_png(size=(96, 64)))
    edit = alice_client.get(f"/t/a/?edit={original.public_id}&image=0").content.decode()
    (mask_token,) = re.findall(r'name="mask" value="([^"]+)"', edit)
    (reference,) = re.findall(r'name="reference" value="([^"]+)"', edit)
    alice_client.post("/t/a/", form_body(reference=reference, mask=mask_token))
    edited = Generation.objects.latest("id")
    (link,) = edited.references.all()
    assert link.mask_id == original.references.get().mask_id
    assert link.reference.sha256 != original.references.get().reference.sha256
    # Another size: the mask cannot fit, so it stays behind.
    other = alice_client.get(f"/t/a/?edit={original.public_id}&image=1").content.decode()
    assert 'name="mask"' not in other


# --- Deleting, and the export's manifest ----------------------------------------------------


def test_deleting_the_last_job_using_a_mask_deletes_it_and_its_file(
    alice: User, alice_client: Client, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    original = masked_job(alice_client)
    alice_client.post(f"/generations/{original.public_id}/resubmit/")
    rerun = Generation.objects.latest("id")
    Generation.objects.update(state=State.COMPLETED)
    (mask_file,) = stored_mask_files(settings)

    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/generations/{original.public_id}/delete/")
    assert MaskImage.objects.count() == 1 and mask_file.exists()  # the re-run still uses it
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/generations/{rerun.public_id}/delete/")
    assert MaskImage.objects.count() == 0
    assert not mask_file.exists()


def test_unused_masks_are_cleaned_up_after_a_day(alice_client: Client, settings: Any) -> None:
    send_mask(alice_client, attach_reference(alice_client), mask_png())
    assert mask_uploads.clean_unused() == 0  # fresh: perhaps about to be used
    MaskImage.objects.update(uploaded_at=MaskImage.objects.get().uploaded_at.replace(year=2000))
    assert mask_uploads.clean_unused() == 1
    assert MaskImage.objects.count() == 0 and stored_mask_files(settings) == []


def test_the_export_manifest_names_the_mask_and_the_zip_holds_it(
    alice: User, alice_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    generation = masked_job(alice_client)
    Generation.objects.filter(pk=generation.pk).update(state=State.COMPLETED)
    image = jobs.save_result(generation, 0, reference_png(colour="orange"))
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/t/a/exports/", {"source": "selection", "image": [image.pk]})
    assert response.status_code == 302
    assert "build" in drain()
    export_url = response["Location"]
    download = alice_client.get(f"{export_url}download")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    (row,) = json.loads(archive.read("manifest.json"))["images"]
    name = f"masks/gpt-image-2-{generation.number}-mask.png"
    assert row["mask"] == {"file": name, "reference_position": 1, "width": 64, "height": 48}
    assert row["references"][0]["mask"] == name
    assert archive.read(name) == MaskImage.objects.get().file.open("rb").read()
    csv_text = archive.read("manifest.csv").decode()
    assert name in csv_text
