"""Who may reach the reviews: the queue, asking for a review, deciding one, for every
persona (the rules and personas: test_access.py's docstring). A colleague's "Only me"
image is 404 to everyone but its maker, who still may not decide on it without the
reviewer right (403)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fixtures_access import NOT_HERS, PERSONAS, Case, World, check_access, expect

pytestmark = pytest.mark.django_db


def image_url(action: str, job: str = "job") -> Callable[[World, str], str]:
    return lambda w, p: f"/images/{getattr(w, job).images.get().pk}/review/{action}/"


CASES: dict[str, list[Case]] = {
    # Everyone of the team opens it: reviewers see their queue, the rest their requests.
    "review_queue": [Case("get", lambda w, p: "/t/a/review/", expect(200))],
    # Only the maker of a job asks for a review of its images.
    "review_request": [
        Case("post", image_url("request"), expect(302, ("creator",))),
        Case(
            "post",
            image_url("request", "private_job"),
            expect(400, ("creator",), **NOT_HERS),
        ),
    ],
    # Team admins and members with the reviewer right decide (alice has no right).
    "review_decide": [
        Case(
            "post",
            image_url("decide"),
            expect(302, ("admin",)),
            data=lambda w, p: {"status": "approved"},
        ),
        Case(
            "post",
            image_url("decide", "private_job"),
            expect(403, (), **NOT_HERS),
            data=lambda w, p: {"status": "approved"},
        ),
    ],
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, cases in CASES.items() for i in range(len(cases))]
)
def test_access(world: World, name: str, index: int, persona: str) -> None:
    check_access(world, CASES[name][index], persona)
