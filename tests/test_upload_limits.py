"""Hostile reference uploads: what each costs the web process, and what we serve.

The memory bounds are measured in a separate Python process (its peak RSS, from
`getrusage`, before and after judging and re-encoding the files), so they do not
depend on what this test process already holds.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from playground.generations import references
from playground.generations.models import Generation, GenerationReference, ReferenceImage

ROOT = Path(__file__).resolve().parent.parent
MEMORY_BOUND_MB = 110  # ~100 MB extra per file, as the issue asks
CPU_BOUND_S = 2.0
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"

pytestmark = pytest.mark.django_db


def photo(edge: int, mode: str = "RGB") -> Image.Image:
    """A picture that does not compress to nothing (noise in one band)."""
    ramp = Image.linear_gradient("L").resize((edge, edge))
    bands = [ramp, Image.effect_noise((edge, edge), 40), ramp.transpose(Image.Transpose.ROTATE_90)]
    if mode == "RGBA":
        bands.append(ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    return Image.merge(mode, bands)


def flat(edge: int, fmt: str) -> bytes:
    """A huge image in a small file (like the 225 KB 9400 × 9400 WEBP of the issue)."""
    buffer = io.BytesIO()
    ramp = Image.linear_gradient("L").resize((edge, edge))
    Image.merge("RGB", (ramp, ramp, ramp)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    files: dict[str, bytes] = {
        "huge.webp": flat(9400, "WEBP"),
        "huge.png": flat(9400, "PNG"),
    }
    # The largest PNG and WEBP we still accept (with transparency: the costliest).
    webp_edge = int(references.max_decode_pixels("WEBP") ** 0.5)
    png_edge = int(references.max_decode_pixels("PNG") ** 0.5)
    buffer = io.BytesIO()
    photo(webp_edge, "RGBA").save(buffer, "WEBP", quality=80)
    files["limit.webp"] = buffer.getvalue()
    buffer = io.BytesIO()
    photo(png_edge, "RGBA").save(buffer, "PNG", compress_level=1)
    files["limit.png"] = buffer.getvalue()
    # A 100 MP JPEG: accepted, decoded at a reduced scale.
    buffer = io.BytesIO()
    photo(10_000).save(buffer, "JPEG", quality=70)
    files["huge.jpg"] = buffer.getvalue()
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


MEASURE = """
import json, os, resource, sys
import django
django.setup()
from playground.generations import references

def peak_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

references.prepare  # imported; Pillow's plugins load on first open:
from PIL import Image, WebPImagePlugin, PngImagePlugin, JpegImagePlugin  # noqa
before, started = peak_kb(), cpu()
outcomes = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        try:
            prepared = references.prepare(f, os.path.basename(path))
            outcomes.append(["accepted", prepared.format, prepared.width, prepared.height])
        except references.RejectedUpload as rejected:
            outcomes.append(["rejected", str(rejected)])
print(json.dumps({
    "outcomes": outcomes,
    "peak_growth_mb": (peak_kb() - before) / 1024,
    "cpu_seconds": cpu() - started,
}))
"""


def measure(*paths: Path) -> dict:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "playground.settings", "PYTHONPATH": str(ROOT)}
    # Our own interpreter and script, with paths we made: no untrusted input (S603).
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", MEASURE, *map(str, paths)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["huge.webp", "huge.png"])
def test_a_9400_px_webp_or_png_is_refused_from_its_header(
    hostile: dict[str, Path], name: str
) -> None:
    result = measure(hostile[name])
    ((outcome, message),) = result["outcomes"]
    assert outcome == "rejected"
    assert f"{name} (9400×9400): too large in pixels for a" in message
    assert result["peak_growth_mb"] < 20, result
    assert result["cpu_seconds"] < 0.5, result


def test_three_9400_px_webps_in_one_go_cost_next_to_nothing(hostile: dict[str, Path]) -> None:
    result = measure(hostile["huge.webp"], hostile["huge.webp"], hostile["huge.webp"])
    assert [o[0] for o in result["outcomes"]] == ["rejected"] * 3
    assert result["peak_growth_mb"] < 20, result
    assert result["cpu_seconds"] < 1, result


@pytest.mark.parametrize(
    ("name", "served"), [("limit.webp", "PNG"), ("limit.png", "PNG"), ("huge.jpg", "JPEG")]
)
def test_the_largest_accepted_images_stay_within_the_budget(
    hostile: dict[str, Path], name: str, served: str
) -> None:
    result = measure(hostile[name])
    ((outcome, fmt, width, height),) = result["outcomes"]
    assert outcome == "accepted" and fmt == served
    assert width * height <= references.max_decode_pixels("PNG")
    assert result["peak_growth_mb"] < MEMORY_BOUND_MB, result
    assert result["cpu_seconds"] < CPU_BOUND_S, result


def test_three_huge_webps_in_one_request_are_refused_and_leave_nothing(
    alice_client: Client, hostile: dict[str, Path], settings
) -> None:
    data = hostile["huge.webp"].read_bytes()
    files = [SimpleUploadedFile(f"{i}.webp", data, "image/webp") for i in range(3)]
    response = alice_client.post("/t/a/references/", {"file": files})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("too large in pixels for a WEBP reference") == 3
    assert ReferenceImage.objects.count() == 0
    assert not (Path(settings.MEDIA_ROOT) / "references").exists()


def exif_jpeg(orientation: int = 1) -> bytes:
    image = Image.new("RGB", (64, 32), "teal")
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Corp"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (59.0, 19.0, 45.0), 3: "E", 4: (18.0, 4.0, 5.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), comment=b"secret comment")
    return buffer.getvalue()


def served_bytes(reference: ReferenceImage) -> bytes:
    path = references.public_url(reference).split("://", 1)[1].split("/", 1)[1]
    response = Client().get("/" + path)
    assert response.status_code == 200
    assert response["Content-Type"] == reference.content_type
    return b"".join(response.streaming_content)


def test_exif_gps_and_camera_are_stripped_from_what_evolink_gets(alice_client: Client) -> None:
    data = exif_jpeg(orientation=6)  # "rotate 90°": applied to the pixels, then dropped
    assert b"SpyCam" in data
    alice_client.post("/t/a/references/", {"file": SimpleUploadedFile("gps.jpg", data)})
    reference = ReferenceImage.objects.get()
    served = served_bytes(reference)
    assert b"SpyCam" not in served and b"Exif" not in served and b"secret" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert not image.getexif()
        assert image.size == (32, 64)  # turned upright
        assert "comment" not in image.info
    assert (reference.width, reference.height) == (32, 64)


def test_a_jpeg_html_polyglot_is_served_as_the_jpeg_we_wrote(alice_client: Client) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 40), "navy").save(buffer, "JPEG")
    polyglot = buffer.getvalue() + HTML  # decoders stop at EOI; browsers may sniff HTML
    html = alice_client.post(
        "/t/a/references/", {"file": SimpleUploadedFile("page.jpg", polyglot)}
    ).content.decode()
    assert html.count('class="reference-chip"') == 1
    served = served_bytes(ReferenceImage.objects.get())
    assert served != polyglot and b"<script" not in served and b"<html" not in served
    assert served.startswith(b"\xff\xd8") and served.endswith(b"\xff\xd9")


def png_bytes(color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), color).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_row_that_cannot_be_saved_leaves_no_files(monkeypatch, settings) -> None:
    def broken_save(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(ReferenceImage, "save", broken_save)
    with pytest.raises(RuntimeError):
        references.store_bytes(png_bytes(), "a.png")
    folder = Path(settings.MEDIA_ROOT) / "references"
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


def test_too_many_files_in_one_request_get_our_message(alice_client: Client, settings) -> None:
    settings.REFERENCE_UPLOAD_MAX_FILES = 3
    colors = ["red", "green", "blue", "black", "white"]
    files = [SimpleUploadedFile(f"{c}.png", png_bytes(c)) for c in colors]
    response = alice_client.post("/t/a/references/", {"file": files})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="reference-chip"') == 3
    assert "black.png, white.png: not uploaded; at most 3 files can be sent at once." in html
    assert ReferenceImage.objects.count() == 3


def test_a_request_stops_working_before_the_server_would_kill_it(
    alice_client: Client, settings
) -> None:
    settings.REFERENCE_UPLOAD_REQUEST_SECONDS = -1
    response = alice_client.post(
        "/t/a/references/", {"file": SimpleUploadedFile("a.png", png_bytes())}
    )
    assert "a.png: not processed, the upload took too long; send it again." in (
        response.content.decode()
    )
    assert ReferenceImage.objects.count() == 0


def test_each_person_has_a_storage_quota(alice, alice_client: Client, settings) -> None:
    alice_client.post("/t/a/references/", {"file": SimpleUploadedFile("a.png", png_bytes("red"))})
    first = ReferenceImage.objects.get()
    assert first.uploaded_by == alice and references.used_bytes(alice) == first.bytes
    settings.REFERENCE_QUOTA_MB = 0
    html = alice_client.post(
        "/t/a/references/", {"file": SimpleUploadedFile("b.png", png_bytes("blue"))}
    ).content.decode()
    assert "b.png: your reference images use 0 MB of your 0 MB; this one does not fit." in html
    assert ReferenceImage.objects.count() == 1
    # Content already stored costs nothing more.
    again = alice_client.post(
        "/t/a/references/", {"file": SimpleUploadedFile("a.png", png_bytes("red"))}
    ).content.decode()
    assert again.count('class="reference-chip"') == 1


def test_unreferenced_uploads_are_cleaned_up_after_a_day(alice) -> None:
    old = references.store_bytes(png_bytes("red"), "old.png")
    used = references.store_bytes(png_bytes("blue"), "used.png")
    fresh = references.store_bytes(png_bytes("green"), "fresh.png")
    a_while_ago = timezone.now() - timedelta(days=2)
    ReferenceImage.objects.filter(pk__in=[old.pk, used.pk]).update(uploaded_at=a_while_ago)
    generation = Generation.objects.create(
        team=alice.memberships.get().team, owner=alice, model="gpt-image-2", prompt="x"
    )
    GenerationReference.objects.create(generation=generation, reference=used, position=0)
    orphan = default_storage.save("references/ff/" + "f" * 64 + ".png", ContentFile(b"x"))
    os.utime(default_storage.path(orphan), (0, 0))  # written long ago by a killed worker
    new_orphan = default_storage.save("references/ee/" + "e" * 64 + ".png", ContentFile(b"x"))

    assert references.clean_unreferenced(older_than=timedelta(days=1)) == 1
    assert set(ReferenceImage.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert not default_storage.exists(old.file.name)
    assert not default_storage.exists(old.thumbnail.name)
    assert default_storage.exists(used.file.name) and default_storage.exists(fresh.file.name)
    assert not default_storage.exists(orphan)
    assert default_storage.exists(new_orphan)  # perhaps being stored right now


def png_of(mode: str, **save: object) -> bytes:
    image = Image.new(mode, (40, 30))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "mode", ["1", "L", "LA", "P", "RGBA", "I;16"], ids=lambda mode: mode.replace(";", "")
)
def test_png_modes_are_re_encoded(mode: str) -> None:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Doe, 12 Secret Lane")
    extra: dict = {"pnginfo": text}
    if mode == "P":
        extra["transparency"] = 0
    reference = references.store_bytes(png_of(mode, **extra), f"{mode}.png")
    served = reference.file.open("rb").read()
    assert b"Jane Doe" not in served
    with Image.open(io.BytesIO(served)) as image:
        assert image.size == (40, 30) and image.format == "PNG"
        if mode == "P":
            assert "transparency" in image.info


# --- References stored before re-encoding --------------------------------------------


def _old_style_reference(data: bytes, fmt: str):  # type: ignore[no-untyped-def]
    """A row as stored before re-encoding: the uploaded bytes themselves."""
    import hashlib

    from django.core.files.base import ContentFile

    from playground.generations.models import ReferenceImage

    sha = hashlib.sha256(data).hexdigest()
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[fmt]
    reference = ReferenceImage(
        sha256=sha, format=fmt, width=1, height=1, bytes=len(data), reencoded=False
    )
    reference.file.save(f"{sha}.{ext}", ContentFile(data), save=False)
    reference.thumbnail.save(f"{sha}.thumb.webp", ContentFile(b"x"), save=False)
    reference.save()
    return reference


@pytest.mark.django_db
def test_an_old_reference_is_reencoded_before_evolink_gets_it(
    alice,
    alice_client,
    fast_jobs,  # type: ignore[no-untyped-def]
) -> None:
    from PIL import Image

    from playground.generations import jobs
    from playground.generations.models import GenerationReference
    from tests.factories import make_generation

    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(buffer, "JPEG", exif=exif.tobytes())
    old = _old_style_reference(buffer.getvalue(), "JPEG")
    old_name = old.file.name
    token = references.public_url(old).rsplit("/r/", 1)[1].split(".", 1)[0]
    assert alice_client.get(f"/r/{token}.jpg").status_code == 404  # never the old bytes

    job = make_generation(alice, state="queued")
    GenerationReference.objects.create(generation=job, reference=old, position=0)
    assert jobs.submit(job.pk) == "submitted"
    old.refresh_from_db()
    assert old.reencoded and old.file.name != old_name and (old.width, old.height) == (40, 30)
    assert not old.file.storage.exists(old_name)
    with old.file.open("rb") as f, Image.open(f) as image:
        assert not image.getexif()
    link = job.__class__.objects.get(pk=job.pk).request_payload["image_urls"][0]
    served = alice_client.get(link.split("testserver", 1)[-1].split("8000", 1)[-1])
    assert served.status_code == 200


@pytest.mark.django_db
def test_an_old_reference_that_fails_todays_checks_fails_the_job_uncharged(
    alice,
    fast_jobs,  # type: ignore[no-untyped-def]
) -> None:
    from playground.generations import jobs
    from playground.generations.models import Generation, GenerationReference
    from tests.factories import make_generation

    old = _old_style_reference(b"not an image at all", "PNG")
    job = make_generation(alice, state="queued")
    GenerationReference.objects.create(generation=job, reference=old, position=0)
    assert jobs.submit(job.pk) == "failed"
    job = Generation.objects.get(pk=job.pk)
    assert job.error_code == "reference_rejected" and "JPEG, PNG or WEBP" in job.error_message
    assert fast_jobs.request_count("POST /v1/images/generations") == 0
