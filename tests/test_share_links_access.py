"""Who may reach the share links' URLs, for every persona (the rules and personas are
in test_access.py's docstring; test_access.py's enumeration of urls.py counts these
cases too).

The team's side: members and admins make links (viewers 403), a link is seen and
revoked by its maker and the team's admins (404 for the rest of the team), strangers
get 404. The public side, /s/<token>/…: everyone, anonymous included, sees exactly the
link's images; another image by changing the number is 404, and so is everything of a
revoked link.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from playground.generations.models import ResultImage
from playground.sharing import links
from playground.sharing.models import ShareLink
from tests.fixtures_access import (
    EVERYONE,
    GENERATORS,
    LOGIN,
    PERSONAS,
    Case,
    World,
    check_access,
    expect,
)

pytestmark = pytest.mark.django_db

NOBODY = {p: 404 for p in PERSONAS}


def alices_link(w: World, revoked: bool = False) -> ShareLink:
    """A link alice made of her shared job's image (made once per test)."""
    found = ShareLink.objects.filter(team=w.team, revoked_at__isnull=not revoked).first()
    if found is not None:
        return found
    image = ResultImage.objects.get(generation=w.job)
    shareable = links.Shareable("job", [], "Job", [image], 0)
    link = links.create(
        by=w.users["creator"], team=w.team, shareable=shareable, options=links.Options()
    )
    if revoked:
        link.revoke(w.users["admin"])
    return link


def public(suffix: str = "", revoked: bool = False) -> Callable[[World, str], str]:
    return lambda w, p: f"/s/{alices_link(w, revoked).token}/{suffix}"


def job_source(w: World, p: str) -> dict[str, str]:
    return {"source": "job", "source_id": str(w.job.public_id)}


MAKER_AND_ADMIN = {
    "creator": 200,
    "admin": 200,
    "teammate": 404,
    "viewer": 404,
    "stranger": 404,
    "anonymous": LOGIN,
}

CASES: dict[str, list[Case]] = {
    # Everyone in the team has the list: admins every link, the others their own.
    "share_links": [Case("get", lambda w, p: "/t/a/share-links/", expect(200))],
    "share_link_new": [
        Case("post", lambda w, p: "/t/a/share-links/new/", expect(200, GENERATORS), job_source),
        # Alice's "Only me" job: not found for the others, and nothing to share for her.
        Case(
            "post",
            lambda w, p: "/t/a/share-links/new/",
            expect(404, ("teammate", "admin"), creator=302),
            lambda w, p: {"source": "job", "source_id": str(w.private_job.public_id)},
        ),
    ],
    "share_link_create": [
        Case("post", lambda w, p: "/t/a/share-links/create/", expect(302, GENERATORS), job_source),
    ],
    "share_link": [
        Case("get", lambda w, p: f"/t/a/share-links/{alices_link(w).pk}/", MAKER_AND_ADMIN)
    ],
    "share_link_revoke": [
        Case(
            "post",
            lambda w, p: f"/t/a/share-links/{alices_link(w).pk}/revoke/",
            {**MAKER_AND_ADMIN, "creator": 302, "admin": 302},
        )
    ],
    "shared_page": [
        Case("get", public(), dict(EVERYONE)),
        Case("get", public(revoked=True), NOBODY),
    ],
    "shared_image": [
        Case("get", public("images/1"), dict(EVERYONE)),
        # The number of an image the link does not hold.
        Case("get", public("images/2"), NOBODY),
        Case("get", public("images/1", revoked=True), NOBODY),
    ],
    "shared_download": [
        Case("get", public("images/1/download"), dict(EVERYONE)),
        Case("get", public("images/2/download"), NOBODY),
    ],
    "shared_zip": [
        Case("get", public("images.zip"), dict(EVERYONE)),
        Case("get", public("images.zip", revoked=True), NOBODY),
    ],
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "index"), [(name, i) for name, cases in CASES.items() for i in range(len(cases))]
)
def test_access(world: World, name: str, index: int, persona: str) -> None:
    check_access(world, CASES[name][index], persona)
