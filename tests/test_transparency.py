"""gpt-image-2's `background` and `output_format`, and the request rules of the API
reference (August 2026): only the fields it lists per model, transparent + JPEG refused.

End to end against the simulator as a real HTTP server: a transparent PNG is archived
with its alpha channel (never flattened), its thumbnail keeps it, and every download
(the file, a job's ZIP, an export) keeps the original bytes and extension.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from playground import catalogue, request_rules
from playground.evolink import client as evolink
from playground.evolink.simulator import Simulator, render_image
from playground.generations import creation, jobs
from playground.generations.forms import form_for
from playground.generations.models import Generation, State
from tests.factories import make_generation
from tests.queue import drain, queued_tasks
from tests.test_jobs import run_until_final

pytestmark = pytest.mark.django_db

CREATE = "POST /v1/images/generations"
GPT1, GPT15, GPT2 = (catalogue.MODELS[m] for m in ("gpt-image-1", "gpt-image-1.5", "gpt-image-2"))


def body(**changes: Any) -> dict[str, Any]:
    values = {"model": "gpt-image-2", "prompt": "a glass teapot", "size": "1:1", "quality": "low"}
    return {**values, **changes}


def studio_post(**changes: str) -> dict[str, str]:
    data = {
        "model": "gpt-image-2",
        "prompt": "a glass teapot, cut out",
        "size": "custom",
        "width": "1024",
        "height": "640",
        "quality": "low",
        "n": "1",
        "client_token": str(uuid.uuid4()),
    }
    return {**data, **changes}


def alpha_low(image: Image.Image) -> int:
    return image.convert("RGBA").getchannel("A").getextrema()[0]


# --- The catalogue: fields per model, and the transparency rule -------------------------


def test_each_model_lists_exactly_the_fields_of_the_reference() -> None:
    common = {"model", "prompt", "size", "quality", "n", "image_urls", "callback_url"}
    assert GPT1.request_fields == GPT15.request_fields == common
    assert GPT2.request_fields == common | {"resolution", "background", "output_format", "mask_url"}
    assert (GPT2.backgrounds, GPT2.default_background) == (("opaque", "transparent"), "opaque")
    assert (GPT2.output_formats, GPT2.default_output_format) == (("png", "jpeg", "webp"), "png")
    assert GPT15.backgrounds == GPT15.output_formats == ()


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ("gpt-image-1.5", "background"),
        ("gpt-image-1.5", "output_format"),
        ("gpt-image-1.5", "resolution"),
        ("gpt-image-1", "mask_url"),
        ("gpt-image-2", "moderation"),  # not in the reference for gpt-image-2
        ("gpt-image-2", "output_compression"),
    ],
)
def test_a_field_the_reference_does_not_list_for_the_model_is_refused(
    model: str, field: str
) -> None:
    size = "auto" if model == "gpt-image-2" else "1:1"
    errors = request_rules.request_errors(body(model=model, size=size, **{field: "x"}))
    assert list(errors) == [field]
    assert "does not take the parameter" in errors[field][0]


@pytest.mark.parametrize(
    ("background", "output_format", "ok"),
    [
        ("opaque", "png", True),
        ("opaque", "jpeg", True),
        ("opaque", "webp", True),
        ("transparent", "png", True),
        ("transparent", "webp", True),
        ("transparent", "jpeg", False),
    ],
)
def test_a_transparent_background_needs_png_or_webp(
    background: str, output_format: str, ok: bool
) -> None:
    errors = request_rules.request_errors(body(background=background, output_format=output_format))
    if ok:
        assert errors == {}
    else:
        assert list(errors) == ["output_format"]
        assert "needs PNG or WebP" in errors["output_format"][0]


def test_unknown_values_of_the_new_fields_are_refused() -> None:
    errors = request_rules.request_errors(body(background="checkered", output_format="gif"))
    assert set(errors) == {"background", "output_format"}


def test_request_body_keeps_only_the_listed_fields() -> None:
    sent = request_rules.request_body(GPT15, body(model="gpt-image-1.5", background="transparent"))
    assert "background" not in sent and sent["model"] == "gpt-image-1.5"


# --- The form ---------------------------------------------------------------------------


def test_only_gpt_image_2_offers_background_and_format_with_their_defaults() -> None:
    form = form_for("gpt-image-2")()
    assert form.fields["background"].initial == "opaque"
    assert [v for v, _label in form.fields["background"].choices] == ["opaque", "transparent"]
    assert form.fields["output_format"].initial == "png"
    for model in ("gpt-image-1", "gpt-image-1.5"):
        fields = form_for(model)().fields
        assert "background" not in fields and "output_format" not in fields


def test_the_studio_shows_the_preview_caveat_beside_transparent(alice_client: Client) -> None:
    html = alice_client.get("/t/a/?model=gpt-image-2").content.decode()
    transparent = html.index('value="transparent"')
    caveat = html.index('data-testid="preview-caveat"')
    assert transparent < caveat < html.index("</label>", transparent)
    assert "results may be unstable" in html[caveat : caveat + 300]
    assert 'value="opaque"' in html and 'name="output_format"' in html
    assert 'name="background"' not in alice_client.get("/t/a/?model=gpt-image-1.5").content.decode()


def test_a_form_without_the_fields_gets_the_defaults() -> None:
    # A matrix cell, or a re-run of a job made before the fields existed.
    form = form_for("gpt-image-2")(
        {"model": "gpt-image-2", "prompt": "x", "size": "auto", "quality": "low", "n": "1"}
    )
    assert form.is_valid(), form.errors
    assert form.payload()["background"] == "opaque"
    assert form.payload()["output_format"] == "png"


def test_transparent_jpeg_is_refused_on_the_form_and_nothing_is_sent(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks: Any
) -> None:
    data = studio_post(background="transparent", output_format="jpeg", prompt="keep me")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/t/a/", data, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    # The message sits beside the format field; what was typed and chosen stays.
    field = html[html.index('id="field-output_format"') :]
    field = field[: field.index("</div>")]
    assert "A transparent background needs PNG or WebP: JPEG has no transparency." in field
    assert ">\nkeep me</textarea>" in html
    transparent = html[html.index('value="transparent"') :]
    assert " checked" in transparent[: transparent.index(">")]
    assert 'value="jpeg" selected' in html
    assert not Generation.objects.exists()
    assert queued_tasks() == []
    assert fast_jobs.request_count(CREATE) == 0


def test_the_estimate_does_not_depend_on_background_or_format() -> None:
    def estimate(**choices: str) -> Any:
        form = form_for("gpt-image-2")(
            {"model": "gpt-image-2", "prompt": "x", "size": "2:3", "resolution": "2K"}
            | {"quality": "high", "n": "2"}
            | choices
        )
        assert form.is_valid(), form.errors
        return creation.estimate_of(form).total_credits

    opaque = estimate(background="opaque", output_format="png")
    assert opaque == estimate(background="transparent", output_format="webp")
    assert opaque == estimate(background="opaque", output_format="jpeg")


# --- The simulator, as a real server, follows the same rules ----------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"background": "transparent", "output_format": "jpeg"},
        {"moderation": "low"},
    ],
)
def test_the_simulator_refuses_what_evolink_refuses_and_creates_nothing(
    evolink_client: evolink.Client, simulator: Simulator, extra: dict[str, str]
) -> None:
    with pytest.raises(evolink.EvoLinkError) as caught:
        evolink_client.create_task(body(**extra))
    assert caught.value.status == 400 and caught.value.code == "invalid_request"
    assert caught.value.param in extra
    assert simulator.tasks_created == 0


def test_the_simulator_refuses_gpt_image_2_fields_for_gpt_image_1_5(
    evolink_client: evolink.Client, simulator: Simulator
) -> None:
    with pytest.raises(evolink.EvoLinkError) as caught:
        evolink_client.create_task(body(model="gpt-image-1.5", background="opaque"))
    assert (caught.value.status, caught.value.code) == (400, "invalid_request")
    assert simulator.tasks_created == 0


def test_the_simulator_renders_the_format_asked_for_with_real_alpha() -> None:
    png = Image.open(io.BytesIO(render_image("x", "gpt-image-2", "low", 64, 48, 0, 1, "png", True)))
    assert (png.format, png.mode, png.size) == ("PNG", "RGBA", (64, 48))
    assert alpha_low(png) == 0  # the corners are fully transparent
    webp_bytes = render_image("x", "gpt-image-2", "low", 64, 48, 0, 1, "webp", True)
    webp = Image.open(io.BytesIO(webp_bytes))
    assert webp.format == "WEBP" and alpha_low(webp) == 0
    jpeg = Image.open(io.BytesIO(render_image("x", "gpt-image-2", "low", 64, 48, 0, 1, "jpeg")))
    assert (jpeg.format, jpeg.mode) == ("JPEG", "RGB")


# --- End to end: sent, archived with its alpha, shown and downloaded as it came ---------


def run_job(client: Client, capture: Any, **choices: str) -> Generation:
    with capture(execute=True):
        response = client.post("/t/a/", studio_post(**choices))
    assert response.status_code == 302, response.content.decode()[:1500]
    job = Generation.objects.latest("id")
    job = run_until_final(job.pk)
    assert job.state == State.COMPLETED, job.error_message
    return job


def test_a_transparent_png_is_archived_with_its_alpha_and_downloads_as_it_came(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_job(alice_client, django_capture_on_commit_callbacks, background="transparent", n="2")
    assert (job.background, job.output_format) == ("transparent", "png")
    assert job.request_payload == {
        "model": "gpt-image-2",
        "prompt": "a glass teapot, cut out",
        "size": "1024x640",
        "quality": "low",
        "n": 2,
        "background": "transparent",
        "output_format": "png",
    }
    assert fast_jobs.request_count(CREATE) == 1
    (first, second) = job.images.all()
    for image in (first, second):
        assert (image.format, image.extension, image.has_alpha) == ("PNG", "png", True)
        assert image.file.name.endswith(".png")
        with image.file.open("rb") as f:
            stored = f.read()
        # The bytes EvoLink sent, never re-encoded or flattened.
        expected = render_image(
            job.prompt, job.model, "low", 1024, 640, image.index, 2, "png", True
        )
        assert stored == expected and len(stored) == image.bytes
        archived = Image.open(io.BytesIO(stored))
        assert archived.mode == "RGBA" and alpha_low(archived) == 0
        with image.thumbnail.open("rb") as f:
            thumbnail = Image.open(io.BytesIO(f.read()))
        assert thumbnail.format == "WEBP" and alpha_low(thumbnail) == 0

    response = alice_client.get(f"/generations/{job.public_id}/images/0?download=1")
    assert response["Content-Type"] == "image/png"
    assert f"{job.model}-{job.number}-1.png" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == first.file.open("rb").read()

    response = alice_client.get(f"/generations/{job.public_id}/images.zip")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = sorted(archive.namelist())
    assert names == [f"{job.model}-{job.number}-1.png", f"{job.model}-{job.number}-2.png"]
    assert archive.read(names[0]) == first.file.open("rb").read()

    # Shown on a checkerboard, with the format and background in the settings.
    page = alice_client.get(f"/generations/{job.public_id}/").content.decode()
    assert 'class="alpha"' in page and 'data-alpha="true"' in page
    assert "PNG · Transparent" in page
    history = alice_client.get("/t/a/").content.decode()
    assert "thumb tile has-alpha" in history


def test_an_export_keeps_the_bytes_and_names_background_and_format(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_job(
        alice_client,
        django_capture_on_commit_callbacks,
        background="transparent",
        output_format="webp",
    )
    (image,) = job.images.all()
    assert (image.format, image.extension, image.has_alpha) == ("WEBP", "webp", True)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/t/a/exports/", {"source": "selection", "image": [image.pk]})
    assert response.status_code == 302
    drain()
    from playground.exports.models import Export

    export = Export.objects.latest("id")
    response = alice_client.get(f"/exports/{export.public_id}/download")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    name = f"images/{job.model}-{job.number}-1.webp"
    assert archive.read(name) == image.file.open("rb").read()
    manifest = archive.read("manifest.csv").decode()
    header, row = manifest.splitlines()[:2]
    assert "background,output_format" in header
    assert ",transparent,webp," in row


def test_an_opaque_jpeg_is_archived_as_jpeg_without_alpha(
    alice_client: Client, fast_jobs: Simulator, django_capture_on_commit_callbacks: Any
) -> None:
    job = run_job(alice_client, django_capture_on_commit_callbacks, output_format="jpeg")
    (image,) = job.images.all()
    assert (image.format, image.extension, image.has_alpha) == ("JPEG", "jpg", False)
    response = alice_client.get(f"/generations/{job.public_id}/images/0")
    assert response["Content-Type"] == "image/jpeg"
    assert (
        'class="alpha"' not in alice_client.get(f"/generations/{job.public_id}/").content.decode()
    )


def test_a_stored_request_is_sent_with_only_the_fields_its_model_takes(
    alice: Any, fast_jobs: Simulator
) -> None:
    # A row stored before these rules (or by hand) carrying fields gpt-image-1.5 refuses.
    job = make_generation(alice, model="gpt-image-1.5", size="1:1")
    job.request_payload |= {"resolution": "1K", "background": "transparent", "moderation": "low"}
    job.save(update_fields=["request_payload"])
    assert jobs.submit(job.pk) == "submitted"
    job.refresh_from_db()
    assert job.state == State.RUNNING
    assert set(job.request_payload) == {"model", "prompt", "size", "quality", "n"}


def test_reuse_and_rerun_keep_background_and_format(alice: Any) -> None:
    job = make_generation(alice, background="transparent", output_format="webp")
    job.request_payload |= {"background": "transparent", "output_format": "webp"}
    initial = creation.settings_of(job, "reuse")
    assert (initial["background"], initial["output_format"]) == ("transparent", "webp")
    form = creation.rerun_form(job, [])
    assert form.is_valid(), form.errors
    payload = form.payload()
    assert (payload["background"], payload["output_format"]) == ("transparent", "webp")
