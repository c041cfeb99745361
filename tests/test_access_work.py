"""Who may reach the work: the studio, jobs, images, references, exports, stars,
collections, the matrix and templates, for every persona.

The rules and personas are in test_access.py's docstring; the vocabulary in
tests/fixtures_access.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from playground.generations import callbacks, mask_uploads, references
from playground.generations.jobs import save_result
from playground.generations.models import GenerationReference, MaskImage
from tests.fixtures_access import (
    ALL_IN_A,
    EVERYONE,
    GENERATORS,
    LOGIN,
    NOT_HERS,
    PERSONAS,
    Case,
    World,
    alice_export,
    check_access,
    expect,
    image_of,
    job_url,
    matrix_run,
    path_of,
    png,
    private_run,
    shared_collection,
    team_template,
)

pytestmark = pytest.mark.django_db


def mask_png() -> bytes:
    """A mask for png(): transparent in its top-left quarter."""
    image = Image.new("RGBA", (8, 8), (0, 0, 0, 255))
    image.paste((0, 0, 0, 0), (0, 0, 4, 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def a_mask(w: World) -> MaskImage:
    reference = references.store_bytes(png(), "ref.png")
    return mask_uploads.store(io.BytesIO(mask_png()), reference, w.users["creator"])


def masked_job_url(job: str) -> Callable[[World, str], str]:
    """The mask of one of alice's jobs (given one on first use)."""

    def url(w: World, persona: str) -> str:
        generation = getattr(w, job)
        if not generation.references.filter(mask__isnull=False).exists():
            GenerationReference.objects.create(
                generation=generation,
                reference=references.store_bytes(png(), "ref.png"),
                position=0,
                mask=a_mask(w),
            )
        return f"/generations/{generation.public_id}/mask.png"

    return url


CASES: dict[str, list[Case]] = {
    "studio": [
        Case("get", lambda w, p: "/t/a/", expect(200)),
        # An empty form: the form's errors (200) for those who may generate.
        Case("post", lambda w, p: "/t/a/", expect(200, GENERATORS)),
    ],
    "history": [Case("get", lambda w, p: "/t/a/history/", expect(200))],
    "reference_upload": [Case("post", lambda w, p: "/t/a/references/", expect(200, GENERATORS))],
    # Nothing sent: the message says what is missing (400) to those who may generate.
    "mask_upload": [Case("post", lambda w, p: "/t/a/masks/", expect(400, GENERATORS))],
    # A job's mask, like its images: the team sees it, "Only me" hides it.
    "generation_mask": [
        Case("get", masked_job_url("job"), expect(200)),
        Case(
            "get",
            masked_job_url("private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "generation_detail": [
        Case("get", job_url(), expect(200)),
        # "Only me": colleagues, even the team's admin, get 404 as if it did not exist.
        Case(
            "get",
            job_url(job="private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "generation_check_again": [
        Case("post", job_url("check-again/", "stopped_job"), expect(302, GENERATORS))
    ],
    "generation_resubmit": [
        Case("get", job_url("resubmit/"), expect(200, GENERATORS)),
        Case("post", job_url("resubmit/"), expect(302, GENERATORS)),
    ],
    "generation_delete": [
        Case("get", job_url("delete/"), expect(200, ("creator", "admin"))),
        Case("post", job_url("delete/"), expect(302, ("creator", "admin"))),
        Case(
            "post",
            job_url("delete/", "private_job"),
            expect(302, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    # The person's own waiting jobs only (none here: a message, nothing cancelled).
    "waiting_cancel": [
        Case("get", lambda w, p: "/t/a/waiting/cancel/", expect(200, GENERATORS)),
        Case("post", lambda w, p: "/t/a/waiting/cancel/", expect(302, GENERATORS)),
    ],
    # A finished job is refused with a message: the access check comes first.
    "generation_cancel": [Case("post", job_url("cancel/"), expect(302, ("creator", "admin")))],
    "generation_download_all": [
        Case("get", job_url("images.zip"), expect(200)),
        Case(
            "get",
            job_url("images.zip", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    # Anyone in the team, viewers too, chooses how their own history looks.
    "history_layout": [
        Case(
            "post",
            lambda w, p: "/t/a/history/layout/",
            expect(302, ALL_IN_A),
            data=lambda w, p: {"layout": "grid"},
        )
    ],
    "generation_visibility": [
        Case(
            "post",
            job_url("visibility/"),
            expect(302, ("creator",)),
            data=lambda w, p: {"private": "on"},
        )
    ],
    "result_image": [
        Case("get", job_url("images/0"), expect(200)),
        Case(
            "get",
            job_url("images/0", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "result_thumbnail": [
        Case("get", job_url("images/0/thumbnail"), expect(200)),
        Case(
            "get",
            job_url("images/0/thumbnail", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "reference_from_result": [
        Case("post", job_url("images/0/use-as-reference"), expect(200, GENERATORS)),
        Case(
            "post",
            job_url("images/0/use-as-reference", "private_job"),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    # The full-size reference (the mask painter's canvas): as its thumbnail.
    "reference_image": [
        Case("get", lambda w, p: f"/references/{w.reference_token(p)}/image", expect(200)),
        Case(
            "get",
            lambda w, p: f"/references/{w.reference_token('creator')}/image",
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "reference_thumbnail": [
        # A token signed for the persona in team A: only members of team A get it
        # (the stranger's token was forged for a team he is not in).
        Case("get", lambda w, p: f"/references/{w.reference_token(p)}/thumbnail", expect(200)),
        # A token signed for alice opens nothing for anyone else.
        Case(
            "get",
            lambda w, p: f"/references/{w.reference_token('creator')}/thumbnail",
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
    ],
    "live": [Case("get", lambda w, p: "/studio/live/", expect(200, anonymous=LOGIN, stranger=200))],
    # EvoLink's endpoints: no login, the secret in the URL is the key.
    "reference_public": [
        Case(
            "get",
            lambda w, p: path_of(references.public_url(references.store_bytes(png(), "r.png"))),
            dict(EVERYONE),
        )
    ],
    "mask_public": [
        Case(
            "get",
            lambda w, p: path_of(mask_uploads.public_url(a_mask(w))),
            dict(EVERYONE),
        )
    ],
    "evolink_callback": [
        Case(
            "post",
            lambda w, p: path_of(callbacks.url_for(w.job.public_id)),
            {p: 204 for p in PERSONAS},
        )
    ],
    # Images of any of the person's teams; one image they may not see: 404 for the page.
    "compare": [
        Case(
            "get",
            lambda w, p: (
                f"/compare/?images={w.job.images.get(index=0).pk},{save_result(w.job, 1, png()).pk}"
            ),
            expect(200),
        ),
        Case(
            "get",
            lambda w, p: (
                f"/compare/?images={w.job.images.get().pk},{w.private_job.images.get().pk}"
            ),
            expect(200, ("creator",), teammate=404, viewer=404, admin=404),
        ),
        # One image is not a comparison: a page that says so, before any image is read.
        Case(
            "get",
            lambda w, p: f"/compare/?images={w.job.images.get().pk}",
            expect(400, stranger=400),
        ),
    ],
    # Anyone in the team exports what they may see (viewers too: they may download it);
    # an image of another team, or a colleague's "Only me" one, exports nothing (404).
    "export_create": [
        Case(
            "post",
            lambda w, p: "/t/a/exports/",
            expect(302),
            data=lambda w, p: {"source": "selection", "image": w.job.images.get().pk},
        ),
        Case(
            "post",
            lambda w, p: "/t/a/exports/",
            expect(302, ("creator",), teammate=404, viewer=404, admin=404),
            data=lambda w, p: {"source": "selection", "image": w.private_job.images.get().pk},
        ),
        # Alice's "Only me" run: its prompt would title the export.
        Case(
            "post",
            lambda w, p: "/t/a/exports/",
            expect(302, ("creator",), teammate=404, viewer=404, admin=404),
            data=lambda w, p: {"source": "run", "source_id": private_run(w).split("/")[-2]},
        ),
    ],
    # An export is its requester's alone (its manifest may hold their "Only me" prompts):
    # everyone else, a team admin too, gets 404.
    "export_detail": [
        Case(
            "get",
            lambda w, p: f"/exports/{alice_export(w)}/",
            expect(200, ("creator",), **NOT_HERS),
        )
    ],
    "export_download": [
        Case(
            "get",
            lambda w, p: f"/exports/{alice_export(w, built=True)}/download",
            expect(200, ("creator",), **NOT_HERS),
        )
    ],
    "export_retry": [
        Case(
            "post",
            lambda w, p: f"/exports/{alice_export(w)}/retry",
            expect(302, ("creator",), **NOT_HERS),
        )
    ],
    # Stars are each person's own: anyone who may see the image (viewers too), 404 for
    # an image they may not see (another team's, a colleague's "Only me").
    "favourite_toggle": [
        Case(
            "post",
            lambda w, p: f"/images/{w.job.images.get().pk}/favourite/",
            expect(302, ALL_IN_A),
        ),
        Case(
            "post",
            lambda w, p: f"/images/{w.private_job.images.get().pk}/favourite/",
            expect(302, ("creator",), **NOT_HERS),
        ),
    ],
    # Collections are the team's: everyone in it opens them, members and admins change
    # them (viewers 403), strangers get 404 by any URL.
    "collections": [
        Case("get", lambda w, p: "/t/a/collections/", expect(200)),
        Case(
            "post",
            lambda w, p: "/t/a/collections/",
            expect(302, GENERATORS),
            data=lambda w, p: {"name": "Moodboard"},
        ),
    ],
    "collection_add": [
        Case(
            "post",
            lambda w, p: "/t/a/collections/add/",
            expect(302, GENERATORS),
            data=lambda w, p: {**image_of(w), "collection": "new", "new_name": "Picks"},
        ),
        # A colleague's "Only me" image cannot be collected: nothing is added (404).
        Case(
            "post",
            lambda w, p: "/t/a/collections/add/",
            expect(302, ("creator",), teammate=404, viewer=403, admin=404),
            data=lambda w, p: {**image_of(w, "private_job"), "collection": "new", "new_name": "P"},
        ),
    ],
    "collection": [
        Case("get", lambda w, p: f"/t/a/collections/{shared_collection(w)}/", expect(200))
    ],
    "collection_rename": [
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/rename/",
            expect(302, GENERATORS),
            data=lambda w, p: {"name": "Final picks"},
        )
    ],
    "collection_delete": [
        Case(
            "get",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/delete/",
            expect(200, GENERATORS),
        ),
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/delete/",
            expect(302, GENERATORS),
        ),
    ],
    "collection_remove": [
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/remove/",
            expect(302, GENERATORS),
            data=lambda w, p: image_of(w),
        )
    ],
    "collection_cover": [
        Case(
            "post",
            lambda w, p: f"/t/a/collections/{shared_collection(w)}/cover/",
            expect(302, GENERATORS),
            data=lambda w, p: image_of(w),
        )
    ],
    # Matrix runs and templates make jobs and change team data: members and admins; a
    # run's page is for the whole team (viewers look and download).
    "matrix": [
        Case("get", lambda w, p: "/t/a/matrix/", expect(200, GENERATORS)),
        # "Run again…" of a run: a shared one for every generator; alice's "Only me"
        # one for alice only (404 for colleagues, as if it did not exist).
        Case(
            "get",
            lambda w, p: f"/t/a/matrix/?run={matrix_run(w).split('/')[-2]}",
            expect(200, GENERATORS),
        ),
        Case(
            "get",
            lambda w, p: f"/t/a/matrix/?run={private_run(w).split('/')[-2]}",
            expect(200, GENERATORS, teammate=404, admin=404),
        ),
        Case(
            "post",
            lambda w, p: "/t/a/matrix/",
            expect(200, GENERATORS),
            data=lambda w, p: {"prompt": "a fox", "models": ["gpt-image-2"]},
        ),
    ],
    "matrix_run": [
        Case("get", lambda w, p: matrix_run(w), expect(200)),
        Case("get", lambda w, p: private_run(w), expect(200, ("creator",), **NOT_HERS)),
    ],
    "matrix_run_keep": [
        Case("post", lambda w, p: f"{matrix_run(w)}keep/", expect(302, GENERATORS)),
        Case(
            "post",
            lambda w, p: f"{private_run(w)}keep/",
            expect(302, ("creator",), **NOT_HERS),
        ),
    ],
    # The run's maker or a team admin; a teammate who may see the run gets 403.
    "matrix_run_cancel": [
        Case("get", lambda w, p: f"{matrix_run(w)}cancel/", expect(200, ("creator", "admin"))),
        Case("post", lambda w, p: f"{matrix_run(w)}cancel/", expect(302, ("creator", "admin"))),
        Case(
            "post",
            lambda w, p: f"{private_run(w)}cancel/",
            expect(302, ("creator",), **NOT_HERS),
        ),
    ],
    # Without a name: the page again, with the message (nothing saved).
    "template_save": [Case("post", lambda w, p: "/t/a/templates/", expect(200, GENERATORS))],
    "template_delete": [
        Case(
            "post",
            lambda w, p: f"/t/a/templates/{team_template(w)}/delete/",
            expect(302, GENERATORS),
        )
    ],
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, cases in CASES.items() for i in range(len(cases))]
)
def test_access(world: World, name: str, index: int, persona: str) -> None:
    check_access(world, CASES[name][index], persona)
