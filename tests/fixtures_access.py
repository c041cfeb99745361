"""The vocabulary of the access tables (test_access.py, test_access_work.py): the
personas, the `world` fixture (one of everything in team A; loaded from
tests/conftest.py), `Case` and `expect`, the rows a case may need, and
`check_access`, which runs one case as one persona."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image

from playground.billing.models import ApiKey
from playground.generations import references
from playground.generations.jobs import save_result
from playground.generations.models import Generation, State
from playground.teams.models import Invitation, Membership, Team
from tests.conftest import logged_in, member
from tests.factories import make_generation, stored_key

PERSONAS = ("creator", "teammate", "viewer", "admin", "stranger", "anonymous")
LOGIN = "login"  # a redirect to the login page
ALL_IN_A = ("creator", "teammate", "viewer", "admin")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class World:
    users: dict[str, User]
    team: Team
    job: Generation  # alice's, shared with the team
    private_job: Generation  # alice's "Only me"
    stopped_job: Generation  # alice's, timed out (for "Check again")
    bob_membership: Membership
    invitation: Invitation
    invitation_token: str
    key: ApiKey

    def reference_token(self, persona: str) -> str:
        """A reference chip as the persona's own studio of team A would carry it."""
        reference = references.store_bytes(png(), "ref.png")
        user = self.users.get(persona) or self.users["creator"]
        return references.form_token(reference, user, self.team)


@pytest.fixture
def world(team_a: Team, team_b: Team) -> World:
    users = {
        "creator": member("alice", team_a),
        "teammate": member("bob", team_a),
        "viewer": member("vera", team_a, "viewer"),
        "admin": member("ada", team_a, "admin"),
        "stranger": member("charlie", team_b),
    }
    job = make_generation(users["creator"], prompt="shared", state=State.COMPLETED)
    private_job = make_generation(
        users["creator"], prompt="mine only", state=State.COMPLETED, private=True
    )
    stopped_job = make_generation(users["creator"], prompt="stopped", state=State.TIMED_OUT)
    for generation in (job, private_job):
        save_result(generation, 0, png())
    invitation, token = Invitation.issue(team_a, "member", users["admin"])
    key = stored_key("Team A key", "sk-evo-team-a-secret-1234", team_a)
    return World(
        users=users,
        team=team_a,
        job=job,
        private_job=private_job,
        stopped_job=stopped_job,
        bob_membership=Membership.objects.get(user=users["teammate"]),
        invitation=invitation,
        invitation_token=token,
        key=key,
    )


def expect(
    allowed: int,
    personas: tuple[str, ...] = ALL_IN_A,
    **others: int | str,
) -> dict[str, int | str]:
    """`allowed` for `personas`; 404 for the stranger, a login redirect for anonymous,
    and 403 for the rest of team A unless `others` says otherwise."""
    result: dict[str, int | str] = {p: 403 for p in ALL_IN_A}
    result.update({p: allowed for p in personas})
    result.update(stranger=404, anonymous=LOGIN)
    result.update(others)
    return result


GENERATORS = ("creator", "teammate", "admin")
NOT_HERS = {"teammate": 404, "viewer": 404, "admin": 404}


def alice_export(w: World, built: bool = False) -> str:
    """An export alice asked for (of her shared job's image), built when `built`."""
    from playground.exports import tasks as export_tasks
    from playground.exports.models import Export

    export = Export.objects.create(
        team=w.team,
        requested_by=w.users["creator"],
        source="selection",
        description="Selection of 1 image",
        image_ids=[w.job.images.get().pk],
        total=1,
    )
    if built:
        assert export_tasks.build(export.pk) == "ready"
    return str(export.public_id)


def shared_collection(w: World) -> int:
    """A collection of team A holding alice's shared image (made by alice)."""
    from playground.gallery.models import Collection

    collection, _ = Collection.objects.get_or_create(
        team=w.team, name="Shortlist", defaults={"created_by": w.users["creator"]}
    )
    collection.items.get_or_create(image=w.job.images.get())
    return collection.pk


def image_of(w: World, job: str = "job") -> dict[str, Any]:
    return {"image": getattr(w, job).images.get().pk}


def matrix_run(w: World) -> str:
    """A matrix run of team A by alice, its one cell her shared job."""
    import uuid

    from playground.matrix.models import MatrixCell, MatrixRun

    run, created = MatrixRun.objects.get_or_create(
        team=w.team,
        created_by=w.users["creator"],
        client_token=uuid.UUID(int=1),
        defaults={"text": "shared"},
    )
    if created:
        MatrixCell.objects.create(
            run=run, generation=w.job, row=0, column=0, row_label="a", column_label="b"
        )
    return f"/t/a/runs/{run.public_id}/"


def addressed(w: World) -> int:
    """An invitation to team A addressed to charlie (the stranger) by username."""
    return Invitation.address(w.team, "member", w.users["admin"], "charlie").pk


def private_run(w: World) -> str:
    """Alice's "Only me" run, its one cell her private job: hers alone."""
    import uuid

    from playground.matrix.models import MatrixCell, MatrixRun

    run, created = MatrixRun.objects.get_or_create(
        team=w.team,
        created_by=w.users["creator"],
        client_token=uuid.UUID(int=2),
        defaults={"text": "mine only", "private": True, "choices": {"private": True}},
    )
    if created:
        MatrixCell.objects.create(
            run=run, generation=w.private_job, row=0, column=0, row_label="a", column_label="b"
        )
    return f"/t/a/runs/{run.public_id}/"


def contract_check(w: World) -> int:
    """A finished contract check of team A's key."""
    from playground.billing.models import ContractCheck

    check, _ = ContractCheck.objects.get_or_create(
        team=w.team, key=w.key, defaults={"key_label": str(w.key), "state": "done"}
    )
    return check.pk


def alice_token(w: World) -> int:
    """An API token of alice's in team A."""
    from playground.apitokens.models import ApiToken

    membership = Membership.objects.get(user=w.users["creator"], team=w.team)
    found = ApiToken.objects.filter(user=w.users["creator"], team=w.team).first()
    return (found or ApiToken.issue(membership, name="script")[0]).pk


def team_template(w: World) -> int:
    from playground.matrix.models import PromptTemplate

    saved, _ = PromptTemplate.objects.get_or_create(
        team=w.team, name="Raincoats", defaults={"text": "a {x}", "values": {"x": ["fox"]}}
    )
    return saved.pk


EVERYONE = {p: 200 for p in PERSONAS}


@dataclass
class Case:
    method: str
    url: Callable[[World, str], str]
    expected: dict[str, int | str]
    data: Callable[[World, str], dict[str, Any]] | None = None


def path_of(url: str) -> str:
    return urlsplit(url).path


def job_url(suffix: str = "", job: str = "job") -> Callable[[World, str], str]:
    return lambda w, p: f"/generations/{getattr(w, job).public_id}/{suffix}"


def url_names(patterns: list[Any] | None = None, prefix: str = "") -> set[str]:
    names: set[str] = set()
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's own admin: staff only, tested in test_teams.py
            names |= url_names(entry.url_patterns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(entry.name)
    return names


def check_access(world: World, case: Case, persona: str) -> None:
    client = logged_in(world.users[persona]) if persona in world.users else Client()
    url = case.url(world, persona)
    data = case.data(world, persona) if case.data else {}
    response = getattr(client, case.method)(url, data)
    expected = case.expected[persona]
    if expected == LOGIN:
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/login/"), response["Location"]
    else:
        assert response.status_code == expected, (url, persona, response.status_code)
