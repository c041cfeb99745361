"""Who may reach the comment threads, for every persona: everyone who may see a job
reads and writes in its threads (viewers too), its author edits a comment, its author
or a team admin deletes it; a stranger gets 404 by any URL, and a colleague of an
"Only me" job too. The rules and personas: test_access.py's docstring."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from playground.comments import threads
from tests.fixtures_access import (
    ALL_IN_A,
    LOGIN,
    NOT_HERS,
    PERSONAS,
    Case,
    World,
    check_access,
    expect,
    job_url,
)

pytestmark = pytest.mark.django_db


def alice_comment(w: World, job: str = "job") -> int:
    """A comment by alice on the job's own thread."""
    return threads.post(w.users["creator"], getattr(w, job), "first!").pk


def image_thread(job: str = "job") -> Callable[[World, str], str]:
    return lambda w, p: f"/images/{getattr(w, job).images.get().pk}/comments/"


def live(job: str, stamp: str = "x") -> Callable[[World, str], str]:
    return lambda w, p: f"/comments/live/?t=j{getattr(w, job).pk}:{stamp}"


SAID = {"body": "looks good @bob"}
# Every signed-in person gets an answer from the live check; what it names is theirs.
LIVE_QUIET = {**{p: 204 for p in PERSONAS}, "anonymous": LOGIN}

CASES: dict[str, list[Case]] = {
    "job_comments": [
        Case("get", job_url("comments/"), expect(200, ALL_IN_A)),
        Case("post", job_url("comments/"), expect(302, ALL_IN_A), data=lambda w, p: SAID),
        Case("get", job_url("comments/", "private_job"), expect(200, ("creator",), **NOT_HERS)),
        Case(
            "post",
            job_url("comments/", "private_job"),
            expect(302, ("creator",), **NOT_HERS),
            data=lambda w, p: SAID,
        ),
    ],
    "image_comments": [
        Case("get", image_thread(), expect(200, ALL_IN_A)),
        Case("post", image_thread(), expect(302, ALL_IN_A), data=lambda w, p: SAID),
        Case("get", image_thread("private_job"), expect(200, ("creator",), **NOT_HERS)),
        Case(
            "post",
            image_thread("private_job"),
            expect(302, ("creator",), **NOT_HERS),
            data=lambda w, p: SAID,
        ),
    ],
    "comments_live": [
        Case("get", lambda w, p: "/comments/live/", dict(LIVE_QUIET)),
        # A stale stamp: the list again for those who see the job; nothing named to
        # anyone else (204, as for a thread that did not change).
        Case("get", live("job"), {**LIVE_QUIET, **{p: 200 for p in ALL_IN_A}}),
        Case("get", live("private_job"), {**LIVE_QUIET, "creator": 200}),
    ],
    "comment_show": [
        Case("get", lambda w, p: f"/comments/{alice_comment(w)}/", expect(302, ALL_IN_A)),
        Case(
            "get",
            lambda w, p: f"/comments/{alice_comment(w, 'private_job')}/",
            expect(302, ("creator",), **NOT_HERS),
        ),
    ],
    "comment_edit": [
        Case("get", lambda w, p: f"/comments/{alice_comment(w)}/edit/", expect(200, ("creator",))),
        Case(
            "post",
            lambda w, p: f"/comments/{alice_comment(w)}/edit/",
            expect(302, ("creator",)),
            data=lambda w, p: {"body": "changed"},
        ),
        Case(
            "get",
            lambda w, p: f"/comments/{alice_comment(w, 'private_job')}/edit/",
            expect(200, ("creator",), **NOT_HERS),
        ),
    ],
    "comment_delete": [
        Case(
            "post",
            lambda w, p: f"/comments/{alice_comment(w)}/delete/",
            expect(302, ("creator", "admin")),
        ),
        Case(
            "post",
            lambda w, p: f"/comments/{alice_comment(w, 'private_job')}/delete/",
            expect(302, ("creator",), **NOT_HERS),
        ),
    ],
    # The @-autocomplete answers a member of the team only, with its members.
    "mention_candidates": [
        Case("get", lambda w, p: "/t/a/comments/people/?q=b", expect(200, ALL_IN_A)),
        Case(
            "get",
            lambda w, p: f"/t/a/comments/people/?job={w.private_job.public_id}",
            expect(200, ("creator",), **NOT_HERS),
        ),
    ],
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, cases in CASES.items() for i in range(len(cases))]
)
def test_access(world: World, name: str, index: int, persona: str) -> None:
    check_access(world, CASES[name][index], persona)
